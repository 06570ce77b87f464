// Two Freshet nodes on one 3-server NATS JetStream cluster: partitions spread
// over both by lease; node A is SIGKILLed in the middle of a keyed produce,
// node B takes its partitions over, and then one NATS server is SIGKILLed.
// Every acknowledged record must be readable through node B at the offset
// its acknowledgement gave, in send order per partition.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsCluster, type TestNatsCluster } from '../helpers/nats-cluster.js';
import { startChildNode, type ChildNode } from '../helpers/child-node.js';
import { removeDir, tempDir } from '../helpers/test-node.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';
import { Freshet } from '../../src/client/index.js';

const PARTITIONS = 6;
const RECORDS = 24_000;
const CHUNK = 2000;

const children: ChildNode[] = [];
const dirs: string[] = [];
let nats: TestNatsCluster | undefined;
after(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  await nats?.stop();
  for (const dir of dirs) await removeDir(dir);
});

async function startFreshetNode(spuId: number, urls: string): Promise<ChildNode> {
  const dir = await tempDir();
  dirs.push(dir);
  const node = await startChildNode(dir, ['--nats', urls, '--spu-id', String(spuId), '--console-port', '0']);
  children.push(node);
  return node;
}

interface Ack {
  value: string;
  partition: number;
  offset: number;
}

/** Sends records [from, to) in chunks; returns how far it got. Records whose send failed are not acknowledged. */
async function produce(client: Freshet, from: number, to: number, acked: Ack[], afterChunk?: (sent: number) => Promise<void>): Promise<number> {
  const producer = await client.producer('events', { deliveryTimeoutMs: 30_000 });
  let next = from;
  while (next < to) {
    const end = Math.min(to, next + CHUNK);
    const sends = [];
    for (let i = next; i < end; i++) {
      const partition = i % PARTITIONS;
      const value = `r${i}`;
      sends.push(producer.send(`key-${i % 97}`, value, { partition }).then((offset) => acked.push({ value, partition, offset })));
    }
    await afterChunk?.(end);
    const settled = await Promise.allSettled(sends);
    next = end;
    if (settled.some((s) => s.status === 'rejected')) return next;
  }
  await producer.close();
  return next;
}

/** Each partition's leader SPU and end offset, as the SC at `endpoint` lists them to the real Fluvio client. */
async function partitionLeaders(endpoint: string): Promise<{ spu: number; leo: number }[]> {
  const fluvio = await connectFluvio(endpoint);
  const partitions = JSON.parse(await (await fluvio.admin()).listPartitions()) as { name: string; status: { leader: { spu: number; leo: number } } }[];
  return Array.from({ length: PARTITIONS }, (_, p) => partitions.find((x) => x.name === `events-${p}`)!.status.leader);
}

test('node A SIGKILLed mid-produce, then one NATS server SIGKILLed: every acknowledged record is read back through node B', { timeout: 240_000 }, async (t) => {
  nats = await startNatsCluster(3);
  const a = await startFreshetNode(1, nats.urls);
  const b = await startFreshetNode(2, nats.urls);
  const viaA = await Freshet.connect({ endpoint: a.endpoint });
  await viaA.admin.createTopic('events', { partitions: PARTITIONS, replicationFactor: 3 });

  const acked: Ack[] = [];
  let killed = false;
  // A consumer through node B on every partition from the start: the streams
  // from A's partitions break when A dies and must resume on B at their offset.
  const viaBConsumer = await Freshet.connect({ endpoint: b.endpoint });
  const consumed = new Map<number, string[]>(Array.from({ length: PARTITIONS }, (_, p) => [p, []]));
  const consumer = await untilB(() => viaBConsumer.consumer('events', { offset: 'beginning' }));
  const consuming = (async () => {
    for await (const record of consumer) consumed.get(record.partition)!.push(record.valueString());
  })();
  const reached = await produce(viaA, 0, RECORDS, acked, async (sent) => {
    if (!killed && sent >= RECORDS / 3) {
      killed = true;
      const leaders = new Set((await partitionLeaders(a.endpoint)).map((l) => l.spu));
      assert.deepEqual([...leaders].sort(), [1, 2], 'the partitions are spread over both nodes');
      a.process.kill('SIGKILL');
    }
  });
  assert.equal(await a.exited, 'SIGKILL');
  await viaA.close().catch(() => {});

  const viaB = await Freshet.connect({ endpoint: b.endpoint });
  const resumed = await produce(viaB, reached, (RECORDS * 2) / 3, acked);
  await nats.kill(1);
  await produce(viaB, resumed, RECORDS, acked);
  await nats.restart(1);
  await viaB.close();
  assert.ok(acked.length >= RECORDS * 0.6, `${acked.length} acknowledged`);
  t.diagnostic(`${acked.length} of ${RECORDS} records acknowledged; node A killed after ${reached} sent`);

  const leaders = await partitionLeaders(b.endpoint);
  assert.deepEqual(leaders.map((l) => l.spu), Array(PARTITIONS).fill(2), 'node B leads every partition');
  const ends = leaders.map((l) => l.leo);
  const fluvio = await connectFluvio(b.endpoint);
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const stream = await (await fluvio.partitionConsumer('events', partition)).createStream(new Offset({ index: 0, from: 'beginning' }));
    const stored = (await take(stream, ends[partition]!, 60_000)).map((r) => r.valueString());
    const mine = acked.filter((ack) => ack.partition === partition);
    for (const ack of mine) assert.equal(stored[ack.offset], ack.value, `partition ${partition} offset ${ack.offset}`);
    // In send order: acknowledged offsets grow with the record number.
    const bySend = [...mine].sort((x, y) => Number(x.value.slice(1)) - Number(y.value.slice(1)));
    for (let i = 1; i < bySend.length; i++) assert.ok(bySend[i]!.offset > bySend[i - 1]!.offset, `partition ${partition}: ${bySend[i]!.value} after ${bySend[i - 1]!.value}`);
    assert.deepEqual(await consumedUpTo(consumed, partition, stored.length), stored, `partition ${partition} as the tailing consumer saw it`);
    // Exactly once per acknowledgement: an acknowledged value is stored once.
    const counts = new Map<string, number>();
    for (const value of stored) counts.set(value, (counts.get(value) ?? 0) + 1);
    for (const ack of mine) assert.equal(counts.get(ack.value), 1, `${ack.value} stored ${counts.get(ack.value)} times`);
  }
  await consumer.close();
  await consuming.catch(() => {});
  await viaBConsumer.close();
});

/** Node B learns of a topic created on A through the topic bucket's watch, a moment later. */
async function untilB<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 100 || !/not found/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Waits (bounded) until the tailing consumer got `count` records of a partition. */
async function consumedUpTo(consumed: Map<number, string[]>, partition: number, count: number): Promise<string[]> {
  for (let waited = 0; consumed.get(partition)!.length < count && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  return consumed.get(partition)!.slice(0, count);
}
