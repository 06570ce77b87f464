// The client across node restarts (same data dir, same ports): producers
// retry in-flight sends or fail them clearly, consumers reconnect and resume,
// named consumers' stored offsets survive, and a producer facing a dead node
// stops taking records instead of buffering without bound.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { DeliveryError, Freshet, Offset, type Consumer, type ConsumerRecord } from '../../src/client/index.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
const dirs: string[] = [];
const running = new Set<TestNode>();

after(async () => {
  for (const node of running) await node.stop();
  for (const dir of dirs) await removeDir(dir);
});

async function start(previous?: TestNode): Promise<TestNode> {
  const node = previous
    ? await startTestNode({ dataDir: previous.dataDir, scPort: previous.scPort, spuPort: previous.spuPort })
    : await startTestNode();
  if (!previous) dirs.push(node.dataDir);
  running.add(node);
  return node;
}

async function stop(node: TestNode): Promise<void> {
  await node.stop();
  running.delete(node);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes `count` records from a running consumer (without closing it), with a deadline. */
async function take(iterator: AsyncIterator<ConsumerRecord>, count: number, timeoutMs = 15_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const next = await Promise.race([iterator.next(), sleep(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const)]);
    if (next === 'timeout') throw new Error(`timed out after ${out.length} of ${count} records`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

test('in-flight sends are retried to success across a restart on the same ports; the consumer resumes without loss', async () => {
  let node = await start();
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  await freshet.admin.createTopic('survive', { partitions: 2 });
  const producer = await freshet.producer('survive', { deliveryTimeoutMs: 20_000, lingerMs: 1 });
  const consumer = await freshet.consumer('survive', { offset: 'beginning' });
  const iterator = consumer[Symbol.asyncIterator]();
  await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send(`k${i}`, `before-${i}`)));
  const firstRecords = await take(iterator, 20);

  await stop(node);
  const inFlight = Array.from({ length: 50 }, (_, i) => producer.sendRecord({ key: `k${i}`, value: `during-${i}` }));
  await sleep(300);
  node = await start(node);
  const delivered = await Promise.all(inFlight);
  assert.equal(delivered.length, 50);
  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.sendRecord({ key: `k${i}`, value: `after-${i}` })));

  const rest = await take(iterator, 60);
  const values = [...firstRecords, ...rest].map((record) => record.valueString());
  for (let i = 0; i < 50; i++) assert.ok(values.includes(`during-${i}`), `during-${i} missing`);
  for (let i = 0; i < 10; i++) assert.ok(values.includes(`after-${i}`), `after-${i} missing`);
  // Per partition, offsets are consecutive: nothing skipped, nothing repeated by the reconnect.
  for (const partition of [0, 1]) {
    const offsets = [...firstRecords, ...rest].filter((r) => r.partition === partition).map((r) => r.offset);
    assert.deepEqual(offsets, [...offsets.keys()]);
  }
  // Send promises name the offsets those records have.
  const byValue = new Map([...firstRecords, ...rest].map((record) => [record.valueString(), record]));
  for (const [i, meta] of delivered.entries()) {
    assert.equal(byValue.get(`during-${i}`)?.offset, meta.offset);
    assert.equal(byValue.get(`during-${i}`)?.partition, meta.partition);
  }
  assert.equal(after.length, 10);
  await consumer.close();
  await freshet.close();
  await stop(node);
});

test('sends to a node that stays down are rejected with a clear error; flush reports them', async () => {
  const node = await start();
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  await freshet.admin.createTopic('down');
  const producer = await freshet.producer('down', { deliveryTimeoutMs: 600 });
  await producer.send(null, 'ok');
  await stop(node);
  const started = Date.now();
  await assert.rejects(producer.send(null, 'lost'), (err: Error) => {
    assert.ok(err instanceof DeliveryError);
    assert.match(err.message, /could not deliver 1 record\(s\) to topic "down" at 127\.0\.0\.1:\d+ after \d+ attempt\(s\)/);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
  void producer.send(null, 'also lost').catch(() => {});
  await assert.rejects(producer.flush(), /record\(s\) sent to topic "down" failed since the last flush/);
  await freshet.close();
});

test('backpressure: against a stopped node, send() waits once maxBufferedBytes is reached, then all complete', async () => {
  let node = await start();
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  await freshet.admin.createTopic('pressure');
  const limit = 16 * 1024;
  const producer = await freshet.producer('pressure', { maxBufferedBytes: limit, deliveryTimeoutMs: 20_000 });
  await stop(node);
  const value = Buffer.alloc(1000, 1);
  let settled = 0;
  const sends = Array.from({ length: 300 }, () => producer.send(null, value).then((offset) => (settled++, offset)));
  await sleep(300);
  assert.equal(settled, 0);
  assert.ok(producer.bufferedBytes <= limit, `${producer.bufferedBytes} bytes buffered, limit ${limit}`);
  node = await start(node);
  const offsets = await Promise.all(sends);
  assert.deepEqual([...offsets].sort((a, b) => a - b), [...offsets.keys()]);
  assert.equal(producer.bufferedBytes, 0);
  await freshet.close();
  await stop(node);
});

test('named consumers: auto and manual commit, resume after a restart of either side, list and delete', async () => {
  let node = await start();
  let freshet = await Freshet.connect({ endpoint: node.endpoint });
  await freshet.admin.createTopic('positions', { partitions: 2 });
  const producer = await freshet.producer('positions');
  for (let i = 0; i < 10; i++) await producer.send(null, `a${i}`, { partition: 0 });
  for (let i = 0; i < 4; i++) await producer.send(null, `b${i}`, { partition: 1 });

  // Auto commit: the last record handed out is stored when the consumer closes.
  const reader = await freshet.consumer('positions', { partition: 0, offset: 'beginning', consumerId: 'reader' });
  const firstFive = await take(reader[Symbol.asyncIterator](), 5);
  assert.deepEqual(firstFive.map((r) => r.offset), [0, 1, 2, 3, 4]);
  await reader.close();
  assert.deepEqual(
    (await freshet.listConsumerOffsets()).map(({ consumerId, topic, partition, offset }) => [consumerId, topic, partition, offset]),
    [['reader', 'positions', 0, 4]],
  );
  const stored = (await freshet.listConsumerOffsets({ consumerId: 'reader' }))[0];
  assert.ok(Math.abs(stored.modifiedTime - Date.now()) < 5000);

  // Client restart: a new consumer with the same id resumes at 5 ('beginning' gives way to the stored offset).
  await freshet.close();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
  const again = await freshet.consumer('positions', { partition: 0, offset: 'beginning', consumerId: 'reader' });
  assert.deepEqual((await take(again[Symbol.asyncIterator](), 2)).map((r) => r.offset), [5, 6]);
  await again.close();

  // Manual commit over both partitions: only commit() stores.
  const manual = await freshet.consumer('positions', { offset: 'beginning', consumerId: 'manual', commit: 'manual', continuous: false });
  const iterator = manual[Symbol.asyncIterator]();
  // All 14 records: which partition's stream delivers first is a race, and 6 may all come from one.
  await take(iterator, 14);
  assert.deepEqual(await freshet.listConsumerOffsets({ consumerId: 'manual' }), []);
  await manual.commit();
  const committed = await freshet.listConsumerOffsets({ consumerId: 'manual' });
  assert.equal(committed.length, 2);
  await manual.close();

  // Server restart: the offsets are still there, and consumers resume from them.
  await freshet.close();
  await stop(node);
  node = await start(node);
  freshet = await Freshet.connect({ endpoint: node.endpoint });
  assert.deepEqual(
    (await freshet.listConsumerOffsets()).map(({ consumerId, partition, offset }) => [consumerId, partition, offset]),
    [['manual', 0, committed.find((c) => c.partition === 0)!.offset], ['manual', 1, committed.find((c) => c.partition === 1)!.offset], ['reader', 0, 6]],
  );
  const resumed = await freshet.consumer('positions', { partition: 0, consumerId: 'reader', continuous: false });
  assert.deepEqual((await drain(resumed)).map((r) => r.valueString()), ['a7', 'a8', 'a9']);

  // Delete: the consumer starts over where its options say.
  await freshet.deleteConsumerOffset('reader', 'positions', 0);
  assert.deepEqual((await freshet.listConsumerOffsets({ consumerId: 'reader' })).length, 0);
  const fresh = await freshet.consumer('positions', { partition: 0, consumerId: 'reader', offset: Offset.beginning(8), continuous: false });
  assert.deepEqual((await drain(fresh)).map((r) => r.offset), [8, 9]);

  // Offsets of a deleted topic go with it.
  await freshet.admin.deleteTopic('positions');
  assert.deepEqual(await freshet.listConsumerOffsets(), []);
  await freshet.close();
  await stop(node);
});

async function drain(consumer: Consumer): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for await (const record of consumer) out.push(record);
  return out;
}
