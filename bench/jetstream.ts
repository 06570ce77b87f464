/**
 * The JetStream backend (docs/scale-out.md) beside raw JetStream on the same
 * servers: produce and consume of 1 KiB and 100 B records through
 * JetStreamPartitionStore (R1 on one server, R3 on a 3-server cluster), raw
 * publishing of one JetStream message per record, and the time from the last
 * acknowledged append before a stream leader is SIGKILLed to the first one
 * after.
 *   npx tsx bench/jetstream.ts [scale=1]
 */
import { connectJetStream, JetStreamPartitionStore, type JetStreamBackend } from '../src/storage/jetstream/index.js';
import { StorageError } from '../src/storage/index.js';
import { startNatsCluster, type TestNatsCluster } from '../test/helpers/nats-cluster.js';
import { makeBatch } from '../test/unit/storage/helpers.js';
import { startChildNode, type ChildNode } from '../test/helpers/child-node.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';
import { Freshet } from '../src/client/index.js';

/** Records per batch as Fluvio's producer makes them (16 KiB batches). */
const BATCH_BYTES = 16 * 1024;
const CONCURRENT_APPENDS = 16;
const RAW_WINDOW = 256;

interface Row {
  name: string;
  records: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
}

function row(name: string, records: number, recordBytes: number, ms: number): Row {
  return { name, records, recordsPerSecond: (records / ms) * 1000, megabytesPerSecond: (records * recordBytes) / ms / 1000 };
}

async function benchStore(backend: JetStreamBackend, label: string, replicas: 1 | 3, records: number, recordBytes: number): Promise<Row[]> {
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / recordBytes));
  const batches = Math.ceil(records / perBatch);
  const topic = `bench-${replicas}-${recordBytes}-${Date.now()}`;
  const store = await JetStreamPartitionStore.open(backend, { topic, partition: 0, replicas, create: true, config: { retentionCheckIntervalMs: 0 } });
  const template = makeBatch({ records: perBatch, payloadBytes: perBatch * recordBytes });
  let next = 0;
  let t = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT_APPENDS }, async () => {
      while (next < batches) {
        next++;
        await store.append([Buffer.from(template)]);
      }
    }),
  );
  const produceMs = performance.now() - t;
  await store.close();
  const reader = await JetStreamPartitionStore.open(backend, { topic, partition: 0, replicas, cacheBytes: 0 });
  t = performance.now();
  for (let offset = 0; offset < reader.highWatermark(); ) {
    const { chunks } = await reader.read(offset, 1024 * 1024);
    offset += chunks.length * perBatch;
  }
  const consumeMs = performance.now() - t;
  await reader.delete();
  const total = batches * perBatch;
  return [
    row(`JetStream backend ${label} produce, ${recordBytes} B records`, total, recordBytes, produceMs),
    row(`JetStream backend ${label} consume (index open + read), ${recordBytes} B records`, total, recordBytes, consumeMs),
  ];
}

async function benchRaw(backend: JetStreamBackend, label: string, replicas: 1 | 3, records: number, recordBytes: number): Promise<Row> {
  const name = `RAW_${replicas}_${recordBytes}_${Date.now()}`;
  await backend.jsm.streams.add({ name, subjects: [name.toLowerCase()], num_replicas: replicas });
  const payload = new Uint8Array(recordBytes);
  const inflight = new Set<Promise<unknown>>();
  const t = performance.now();
  for (let i = 0; i < records; i++) {
    const ack = backend.js.publish(name.toLowerCase(), payload);
    inflight.add(ack);
    void ack.finally(() => inflight.delete(ack));
    if (inflight.size >= RAW_WINDOW) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const ms = performance.now() - t;
  await backend.jsm.streams.delete(name);
  return row(`raw JetStream ${label} publish, one message per ${recordBytes} B record`, records, recordBytes, ms);
}

/** Last ack before the stream leader's server is SIGKILLed → first ack after (appends retried every 10 ms). */
async function benchFailover(nats: TestNatsCluster, backend: JetStreamBackend): Promise<number> {
  const store = await JetStreamPartitionStore.open(backend, { topic: `failover-${Date.now()}`, partition: 0, replicas: 3, create: true });
  for (let i = 0; i < 100; i++) await store.append([makeBatch()]);
  const leader = (await backend.jsm.streams.info(store.streamName)).cluster?.leader;
  const index = nats.servers.findIndex((s) => s.name === leader);
  await store.append([makeBatch()]);
  const lastAck = performance.now();
  await nats.kill(index);
  for (;;) {
    try {
      await store.append([makeBatch()]);
      break;
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'UNAVAILABLE')) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const ms = performance.now() - lastAck;
  await store.close();
  await nats.restart(index);
  return ms;
}

/**
 * Two Freshet nodes on one NATS server; a producer through the node that does
 * not lead the partition sends one record after another while the leading
 * node is SIGKILLed: last ack from the dead leader → first ack from the new.
 */
export async function benchNodeFailover(nats: TestNatsCluster): Promise<number> {
  const dirs = [await tempDir(), await tempDir()];
  const nodes: ChildNode[] = [];
  try {
    for (const [i, dir] of dirs.entries()) nodes.push(await startChildNode(dir!, ['--nats', nats.urls, '--spu-id', String(i + 1), '--console-port', '0']));
    const admin = await Freshet.connect({ endpoint: nodes[0]!.endpoint });
    await admin.admin.createTopic('failover', { partitions: 1 });
    let leader: number | undefined;
    for (let waited = 0; leader === undefined && waited < 20_000; waited += 50) {
      leader = (await admin.admin.listPartitions('failover'))[0]?.leader;
      if (leader !== 1 && leader !== 2) {
        leader = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await admin.close();
    if (leader === undefined) throw new Error('no node took the partition');
    const victim = nodes[leader - 1]!;
    const client = await Freshet.connect({ endpoint: nodes[2 - leader]!.endpoint });
    const producer = await client.producer('failover', { deliveryTimeoutMs: 60_000, lingerMs: 0 });
    for (let i = 0; i < 20; i++) await producer.send(null, `warm-${i}`, { partition: 0 });
    const lastAck = performance.now();
    victim.process.kill('SIGKILL');
    await producer.send(null, 'after', { partition: 0 });
    const ms = performance.now() - lastAck;
    await client.close();
    return ms;
  } finally {
    for (const node of nodes) node.process.kill('SIGKILL');
    for (const dir of dirs) await removeDir(dir!);
  }
}

export async function benchJetStream(scale = 1): Promise<string> {
  const rows: Row[] = [];
  let failoverMs: number;
  let nodeFailoverMs: number;
  const sizes: [number, number][] = [
    [20_000 * scale, 1024],
    [100_000 * scale, 100],
  ];
  const single = await startNatsCluster(1);
  try {
    const backend = await connectJetStream([single.servers[0]!.url]);
    for (const [records, bytes] of sizes) {
      rows.push(...(await benchStore(backend, 'R1', 1, records, bytes)));
      rows.push(await benchRaw(backend, 'R1', 1, Math.min(records, 20_000 * scale), bytes));
    }
    await backend.close();
    nodeFailoverMs = await benchNodeFailover(single);
  } finally {
    await single.stop();
  }
  const cluster = await startNatsCluster(3);
  try {
    const backend = await connectJetStream(cluster.urls.split(','), { timeoutMs: 2000 });
    for (const [records, bytes] of sizes) {
      rows.push(...(await benchStore(backend, 'R3', 3, records, bytes)));
      rows.push(await benchRaw(backend, 'R3', 3, Math.min(records, 20_000 * scale), bytes));
    }
    failoverMs = await benchFailover(cluster, backend);
    await backend.close();
  } finally {
    await cluster.stop();
  }
  const lines = rows.map((r) => `| ${r.name} | ${r.records.toLocaleString('en-US')} | ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} | ${r.megabytesPerSecond.toFixed(1)} |`);
  return [
    `JetStream backend: 16 KiB batches, ${CONCURRENT_APPENDS} appends in flight; raw: ${RAW_WINDOW} publishes in flight. All servers on this machine.`,
    '',
    '| benchmark | records | records/s | MB/s |',
    '|---|---:|---:|---:|',
    ...lines,
    '',
    `Stream leader SIGKILLed (R3): ${Math.round(failoverMs)} ms from the last acknowledged append to the first one after.`,
    `Leading Freshet node SIGKILLed (default lease: 1 s heartbeat, 5 s lease): ${Math.round(nodeFailoverMs)} ms from the last acknowledged produce to the first one through the new leader.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchJetStream(Number(process.argv[2] ?? 1)));
}
