import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { Compression, parseBatchHeader, splitRecordSet } from '../../src/protocol/record-batch.js';
import { connectFluvio, Offset, take, type FluvioClient } from '../helpers/fluvio.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let fluvio: FluvioClient;

before(async () => {
  node = await startTestNode();
  fluvio = await connectFluvio(node.endpoint);
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

const beginning = (index = 0) => new Offset({ index, from: 'beginning' });
const end = (index = 0) => new Offset({ index, from: 'end' });

/** The client's metadata follows the node's watch pushes: try again (bounded) until it knows what was just created. */
async function untilResolves<T>(attempt: () => Promise<T>, tries = 100): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function createTopic(name: string, partitions = 1): Promise<void> {
  const admin = await fluvio.admin();
  await admin.createTopic(name, { partitions, replicationFactor: 1, ignoreRackAssignment: false });
}

test('100,000 keyed records over 3 partitions are all stored, in order per partition', async () => {
  await createTopic('load', 3);
  const producer = await fluvio.topicProducer('load');
  const keys = 50;
  const total = 100_000;
  const chunk = 5_000;
  for (let start = 0; start < total; start += chunk) {
    const items: [string, string][] = [];
    for (let i = start; i < start + chunk; i++) items.push([`key-${i % keys}`, `${i}`]);
    await producer.sendAll(items);
  }
  await producer.flush();

  const seenByKey = new Map<string, number>();
  const partitionOfKey = new Map<string, number>();
  let received = 0;
  for (let partition = 0; partition < 3; partition++) {
    const status = await (await fluvio.admin()).findPartition('load');
    assert.ok(status);
    const consumer = await fluvio.partitionConsumer('load', partition);
    const stream = await consumer.createStream(beginning());
    const highWatermark = node.replicas.get('load', partition)!.highWatermark();
    const records = await take(stream, highWatermark, 60_000);
    assert.equal(records.length, highWatermark);
    for (const record of records) {
      const key = record.keyString()!;
      const value = Number(record.valueString());
      const previous = seenByKey.get(key) ?? -1;
      assert.ok(value > previous, `key ${key}: ${value} after ${previous} in partition ${partition}`);
      seenByKey.set(key, value);
      const home = partitionOfKey.get(key) ?? partition;
      assert.equal(home, partition, `key ${key} seen in two partitions`);
      partitionOfKey.set(key, partition);
    }
    received += records.length;
  }
  assert.equal(received, total);
  assert.equal(new Set(partitionOfKey.values()).size, 3, 'keys spread over all partitions');
});

test('sendRecord, send and flush, then stream from the beginning', async () => {
  await createTopic('basic');
  const producer = await fluvio.topicProducer('basic');
  await producer.sendRecord('hello', 0);
  await producer.send('key1', 'value1');
  await producer.sendAll([
    ['k2', 'v2'],
    ['k3', 'v3'],
  ]);
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('basic', 0);
  const records = await take(await consumer.createStream(beginning()), 4);
  assert.deepEqual(
    records.map((record) => [record.keyString(), record.valueString()]),
    [
      ['', 'hello'],
      ['key1', 'value1'],
      ['k2', 'v2'],
      ['k3', 'v3'],
    ],
  );
});

test('a tailing stream receives a record produced while it is open', async () => {
  await createTopic('tail');
  const producer = await fluvio.topicProducer('tail');
  await producer.send('old', 'before');
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('tail', 0);
  const stream = await consumer.createStream(end());
  const arriving = take(stream, 1, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await producer.send('new', 'after');
  await producer.flush();
  const [record] = await arriving;
  assert.equal(record.valueString(), 'after');
});

test('streams from absolute and relative offsets', async () => {
  await createTopic('offsets');
  const producer = await fluvio.topicProducer('offsets');
  for (let i = 0; i < 10; i++) {
    await producer.send(`k${i}`, `v${i}`);
    if (i % 3 === 2) await producer.flush();
  }
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('offsets', 0);
  const fromSeven = await take(await consumer.createStream(beginning(7)), 3);
  assert.deepEqual(fromSeven.map((record) => record.valueString()), ['v7', 'v8', 'v9']);
  const lastTwo = await take(await consumer.createStream(end(2)), 2);
  assert.deepEqual(lastTwo.map((record) => record.valueString()), ['v8', 'v9']);
  const fromFour = await take(await consumer.createStream(beginning(4)), 2);
  assert.deepEqual(fromFour.map((record) => record.valueString()), ['v4', 'v5']);
});

test('many consumers read one partition at once', async () => {
  await createTopic('fanout');
  const producer = await fluvio.topicProducer('fanout');
  const items: [string, string][] = Array.from({ length: 500 }, (_, i) => [`k${i}`, `v${i}`]);
  await producer.sendAll(items);
  await producer.flush();
  const consumers = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const consumer = await fluvio.partitionConsumer('fanout', 0);
      return take(await consumer.createStream(beginning()), 500);
    }),
  );
  for (const records of consumers) {
    assert.equal(records.length, 500);
    assert.equal(records[499].valueString(), 'v499');
  }
});

test('stream(offset, callback) delivers every record', async () => {
  await createTopic('callback');
  const producer = await fluvio.topicProducer('callback');
  await producer.sendAll(Array.from({ length: 20 }, (_, i): [string, string] => [`k${i}`, `v${i}`]));
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('callback', 0);
  const values: string[] = [];
  const done = new Promise<void>((resolve) => {
    void consumer.stream(beginning(), (record) => {
      values.push(record.valueString());
      if (values.length === 20) resolve();
    });
  });
  await done;
  assert.deepEqual(values, Array.from({ length: 20 }, (_, i) => `v${i}`));
});

test('consumers on separate connections read one partition at once', async () => {
  await createTopic('fanout-connections');
  const producer = await fluvio.topicProducer('fanout-connections');
  await producer.sendAll(Array.from({ length: 300 }, (_, i): [string, string] => [`k${i}`, `v${i}`]));
  await producer.flush();
  const clients = await Promise.all(Array.from({ length: 4 }, () => connectFluvio(node.endpoint)));
  const results = await Promise.all(
    clients.map(async (client) => take(await (await client.partitionConsumer('fanout-connections', 0)).createStream(beginning()), 300)),
  );
  for (const records of results) assert.equal(records.at(-1)!.valueString(), 'v299');
});

test("a topic's compression setting, now enforced: the real client compresses its batches as the topic says, and they are stored", async () => {
  for (const [compression, codec] of [['gzip', Compression.Gzip], ['none', Compression.None]] as const) {
    const name = `compressed-${compression}`;
    await node.topics.create({ name, partitions: 1, replicationFactor: 1, ignoreRackAssignment: false, compression, createdAt: new Date().toISOString() });
    // Created behind the client's back: its metadata learns of the topic through the watch stream.
    const producer = await untilResolves(() => fluvio.topicProducer(name));
    await producer.send('k', `${compression} 1`);
    await producer.send('k', `${compression} 2`);
    await producer.flush();
    const consumer = await fluvio.partitionConsumer(name, 0);
    const records = await take(await consumer.createStream(beginning()), 2);
    assert.deepEqual(records.map((record) => record.valueString()), [`${compression} 1`, `${compression} 2`]);
    const { chunks } = await node.replicas.get(name, 0)!.read(0, 1 << 20);
    assert.deepEqual(chunks.flatMap(splitRecordSet).map((batch) => parseBatchHeader(batch, 0).compression), chunks.flatMap(splitRecordSet).map(() => codec));
  }
});
