import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, stopTestNode } from '../helpers/test-node.js';
import { startNatsCluster, type TestNatsCluster } from '../helpers/nats-cluster.js';
import { freePort } from '../helpers/postgres.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';
import { Freshet } from '../../src/client/index.js';

const clusters: TestNatsCluster[] = [];
after(async () => {
  for (const cluster of clusters) await cluster.stop();
});

/** Nodes A (SPU 1) and B (SPU 2) sharing one NATS server. */
async function twoNodesOnOneNats() {
  const nats = await startNatsCluster(1);
  clusters.push(nats);
  const urls = [nats.servers[0]!.url];
  return { a: await startTestNode({ spuId: 1, nats: { urls } }), b: await startTestNode({ spuId: 2, nats: { urls } }) };
}

/** Waits (at most 20 s) for a condition another node brings about through NATS. */
async function waitUntil(condition: () => boolean, what: () => string): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    assert.ok(waited < 20_000, what());
    await new Promise((r) => setTimeout(r, 50));
  }
}

const beginning = () => new Offset({ index: 0, from: 'beginning' });
const topicOptions = (partitions: number, replicationFactor: number) => ({ partitions, replicationFactor, ignoreRackAssignment: false });

test('a NATS cluster that is down at start gives a clear error naming the URL', async () => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  await assert.rejects(startTestNode({ nats: { urls: [url], timeoutMs: 1000 } }), (err: Error) => err.message.includes(`cannot use NATS JetStream at ${url}`));
});

test('the real Fluvio client produces and consumes R3 topics through a node on a 3-server JetStream cluster; a new node with an empty data dir sees it all', async () => {
  const nats = await startNatsCluster(3);
  clusters.push(nats);
  const urls = nats.urls.split(',');
  const first = await startTestNode({ nats: { urls } });
  const values = Array.from({ length: 2000 }, (_, i) => `value-${i}`);
  try {
    const fluvio = await connectFluvio(first.endpoint);
    await (await fluvio.admin()).createTopic('orders', topicOptions(2, 3));
    const producer = await fluvio.topicProducer('orders');
    await producer.sendAll(values.map((value, i): [string, string] => [`key-${i % 17}`, value]));
    await producer.flush();
    const stored = [0, 1].map((p) => first.replicas.get('orders', p)!.highWatermark());
    assert.equal(stored[0]! + stored[1]!, values.length);
  } finally {
    await stopTestNode(first);
  }
  const second = await startTestNode({ nats: { urls: [urls[2]!] } });
  try {
    const fluvio = await connectFluvio(second.endpoint);
    const topics = JSON.parse(await (await fluvio.admin()).listTopic()) as { name: string }[];
    assert.deepEqual(topics.map((t) => t.name), ['orders']);
    const seen: string[] = [];
    for (const partition of [0, 1]) {
      const count = second.replicas.get('orders', partition)!.highWatermark();
      const records = await take(await (await fluvio.partitionConsumer('orders', partition)).createStream(beginning()), count);
      seen.push(...records.map((r) => r.valueString()));
    }
    assert.deepEqual(seen.sort(), [...values].sort());
    // Tail: a record produced now wakes a consumer waiting at the end (of
    // whichever partition the producer picks).
    const tails = await Promise.all(
      [0, 1].map(async (partition) => {
        const end = second.replicas.get('orders', partition)!.highWatermark();
        const stream = await (await fluvio.partitionConsumer('orders', partition)).createStream(new Offset({ index: end, from: 'beginning' }));
        return { first: take(stream, 1) };
      }),
    );
    const producer = await fluvio.topicProducer('orders');
    await producer.sendRecord('late', 0);
    await producer.flush();
    assert.equal((await Promise.any(tails.map((tail) => tail.first)))[0]!.valueString(), 'late');
  } finally {
    await stopTestNode(second);
  }
});

test('on a single NATS server: -r 3 is refused clearly; NATS going away makes produces fail without a crash, and they work again once it is back', async () => {
  const nats = await startNatsCluster(1);
  clusters.push(nats);
  const node = await startTestNode({ nats: { urls: [nats.servers[0]!.url], timeoutMs: 1000 } });
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  try {
    await assert.rejects(freshet.admin.createTopic('triple', { partitions: 1, replicationFactor: 3 }), /replication factor 3 needs a NATS JetStream cluster of at least 3 servers/);
    await freshet.admin.createTopic('single', { partitions: 1 });
    const once = await freshet.producer('single', { deliveryTimeoutMs: 0 });
    assert.equal(await once.send(null, 'before', { partition: 0 }), 0);
    await nats.kill(0);
    await assert.rejects(once.send(null, 'while down', { partition: 0 }), /not.*leader/i);
    await nats.restart(0);
    const retrying = await freshet.producer('single', { deliveryTimeoutMs: 30_000 });
    const offset = await retrying.send(null, 'after', { partition: 0 });
    const store = node.replicas.get('single', 0)!;
    assert.equal(store.highWatermark(), offset + 1);
    const fluvio = await connectFluvio(node.endpoint);
    const records = await take(await (await fluvio.partitionConsumer('single', 0)).createStream(beginning()), store.highWatermark());
    const got = records.map((r) => r.valueString());
    assert.equal(got[0], 'before');
    assert.equal(got.at(-1), 'after');
  } finally {
    await freshet.close();
    await stopTestNode(node);
  }
});

test('two nodes on one NATS: a consumer offset committed through node A is resumed through node B once B leads the partition', async () => {
  const { a, b } = await twoNodesOnOneNats();
  try {
    const viaA = await Freshet.connect({ endpoint: a.endpoint });
    await viaA.admin.createTopic('positions', { partitions: 1 });
    const producer = await viaA.producer('positions');
    for (let i = 0; i < 10; i++) await producer.send(null, `p${i}`, { partition: 0 });
    const reader = await viaA.consumer('positions', { partition: 0, offset: 'beginning', consumerId: 'reader' });
    assert.deepEqual((await take(reader, 5)).map((r) => r.offset), [0, 1, 2, 3, 4]);
    await reader.close();
    await viaA.close();
    await stopTestNode(a); // a clean stop gives its leases up
    await waitUntil(() => b.replicas.get('positions', 0) !== undefined, () => 'node B did not take the partition over');

    const viaB = await Freshet.connect({ endpoint: b.endpoint });
    try {
      assert.deepEqual(
        (await viaB.listConsumerOffsets({ consumerId: 'reader' })).map(({ topic, partition, offset }) => [topic, partition, offset]),
        [['positions', 0, 4]],
      );
      const again = await viaB.consumer('positions', { partition: 0, offset: 'beginning', consumerId: 'reader' });
      assert.deepEqual((await take(again, 2)).map((r) => r.offset), [5, 6]);
      await again.close();
    } finally {
      await viaB.close();
    }
  } finally {
    await stopTestNode(b);
  }
});

test('the real Fluvio client connected to node A is sent to the leader of each partition, on A or on B', async () => {
  const { a, b } = await twoNodesOnOneNats();
  try {
    const fluvio = await connectFluvio(a.endpoint);
    await (await fluvio.admin()).createTopic('spread', topicOptions(4, 1));
    const ledBy = (node: typeof a) => [0, 1, 2, 3].filter((p) => node.replicas.get('spread', p) !== undefined);
    await waitUntil(() => ledBy(a).length + ledBy(b).length === 4, () => `leaders: A ${ledBy(a)}, B ${ledBy(b)}`);
    assert.ok(ledBy(a).length > 0 && ledBy(b).length > 0, `partitions spread: A ${ledBy(a)}, B ${ledBy(b)}`);
    const producer = await fluvio.topicProducer('spread');
    await producer.sendAll(Array.from({ length: 400 }, (_, i): [string, string] => [`key-${i}`, `v${i}`]));
    await producer.flush();
    const stored = [0, 1, 2, 3].map((p) => (a.replicas.get('spread', p) ?? b.replicas.get('spread', p))!.highWatermark());
    assert.equal(stored.reduce((x, y) => x + y, 0), 400);
    const onB = ledBy(b)[0]!;
    const records = await take(await (await fluvio.partitionConsumer('spread', onB)).createStream(beginning()), stored[onB]!);
    assert.equal(records.length, stored[onB]);
  } finally {
    await stopTestNode(a);
    await stopTestNode(b);
  }
});
