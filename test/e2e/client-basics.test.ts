import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { freePort } from '../helpers/child-node.js';
import { Compression, parseBatchHeader, splitRecordSet } from '../../src/protocol/record-batch.js';
import { ErrorCode } from '../../src/protocol/error-code.js';
import { RawClient, produceValues } from '../helpers/raw-client.js';
import {
  Freshet,
  FreshetError,
  NoNodeError,
  Offset,
  ServerError,
  TopicNotFoundError,
  PartitionNotFoundError,
  type ConsumerRecord,
  type Consumer,
} from '../../src/client/index.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let freshet: Freshet;

before(async () => {
  node = await startTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
});

after(async () => {
  await freshet.close();
  await node.stop();
  await removeDir(node.dataDir);
});

/** Reads `count` records with a deadline, then closes the consumer. */
async function read(consumer: Consumer, count: number, timeoutMs = 10_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  const timer = setTimeout(() => void consumer.close(), timeoutMs);
  try {
    for await (const record of consumer) {
      out.push(record);
      if (out.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** Batches stored in a partition, straight from the node's log. */
async function storedBatches(topic: string, partition: number): Promise<Buffer[]> {
  const store = node.replicas.get(topic, partition)!;
  const { chunks } = await store.read(0, 64 * 1024 * 1024);
  return chunks.flatMap((chunk) => splitRecordSet(chunk));
}

test('no node at the endpoint: a clear error that says how to start one', async () => {
  const port = await freePort();
  await assert.rejects(Freshet.connect({ endpoint: `127.0.0.1:${port}` }), (err: Error) => {
    assert.ok(err instanceof NoNodeError);
    assert.match(err.message, /no Freshet node at 127\.0\.0\.1:\d+.*npx freshet cluster start/);
    return true;
  });
});

test('admin: create, describe, list topics and partitions, errors, delete', async () => {
  await freshet.admin.createTopic('admin-a', {
    partitions: 2,
    retentionSeconds: 3600,
    segmentSize: 4096,
    maxPartitionSize: 1024 * 1024,
    compression: 'gzip',
  });
  await freshet.admin.createTopic('admin-b');
  const described = await freshet.admin.describeTopic('admin-a');
  assert.equal(described.partitions, 2);
  assert.equal(described.replicationFactor, 1);
  assert.equal(described.retentionSeconds, 3600);
  assert.equal(described.segmentSize, 4096);
  assert.equal(described.maxPartitionSize, 1024 * 1024);
  assert.equal(described.compression, 'gzip');
  assert.equal(described.status, 'provisioned');
  assert.equal((await freshet.admin.describeTopic('admin-b')).compression, 'any');
  const names = (await freshet.admin.listTopics()).map((topic) => topic.name);
  assert.ok(names.includes('admin-a') && names.includes('admin-b'));

  await assert.rejects(freshet.admin.createTopic('admin-a'), (err: Error) => err instanceof ServerError && /already exists/i.test(err.message));
  await assert.rejects(freshet.admin.createTopic('Bad_Name'), (err: Error) => err instanceof ServerError && err.errorName === 'TopicInvalidName');
  await assert.rejects(freshet.admin.describeTopic('nope'), (err: Error) => {
    assert.ok(err instanceof TopicNotFoundError);
    assert.match(err.message, /topic "nope" not found; topics that exist: .*admin-a, admin-b/);
    return true;
  });
  await assert.rejects(freshet.producer('nope'), TopicNotFoundError);

  const producer = await freshet.producer('admin-a');
  await producer.send(null, 'x', { partition: 1 });
  await producer.send(null, 'yy', { partition: 1 });
  const partitions = await freshet.admin.listPartitions('admin-a');
  assert.deepEqual(
    partitions.map((p) => [p.partition, p.highWatermark, p.baseOffset, p.status]),
    [
      [0, 0, 0, 'online'],
      [1, 2, 0, 'online'],
    ],
  );
  assert.ok(partitions[1].sizeBytes > 0);
  assert.equal(partitions[0].leader, (await freshet.admin.listSpus())[0].id);

  await freshet.admin.deleteTopic('admin-b');
  await assert.rejects(freshet.admin.deleteTopic('admin-b'), TopicNotFoundError);
  assert.ok(!(await freshet.admin.listTopics()).some((topic) => topic.name === 'admin-b'));
});

test('send resolves with consecutive offsets; keyed records keep their partition; explicit partitions and round-robin', async () => {
  await freshet.admin.createTopic('offsets', { partitions: 3 });
  const producer = await freshet.producer('offsets');
  const sent = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.sendRecord({ key: `k${i % 5}`, value: `v${i}` })));
  const byPartition = new Map<number, number[]>();
  const partitionOfKey = new Map<string, number>();
  sent.forEach((meta, i) => {
    byPartition.set(meta.partition, [...(byPartition.get(meta.partition) ?? []), meta.offset]);
    const key = `k${i % 5}`;
    assert.equal(partitionOfKey.get(key) ?? meta.partition, meta.partition, `${key} moved`);
    partitionOfKey.set(key, meta.partition);
  });
  for (const [partition, offsets] of byPartition) {
    assert.deepEqual(offsets, [...offsets.keys()], `partition ${partition} offsets`);
  }
  // Explicit partition.
  assert.equal(await producer.send('any', 'explicit', { partition: 2 }), byPartition.get(2)?.length ?? 0);
  await assert.rejects(producer.send(null, 'x', { partition: 3 }), PartitionNotFoundError);
  // Keyless: round-robin over the partitions.
  const keyless = await Promise.all(Array.from({ length: 6 }, () => producer.sendRecord({ value: 'rr' })));
  assert.deepEqual(keyless.map((meta) => meta.partition), [0, 1, 2, 0, 1, 2]);
  // Read back: the offsets the sends resolved with hold those records.
  const records = await read(await freshet.consumer('offsets', { partition: 2, offset: 'beginning', continuous: false }), 100);
  const explicit = records.find((record) => record.valueString() === 'explicit');
  assert.equal(explicit?.keyString(), 'any');
  for (const record of records.filter((r) => r.valueString().startsWith('v'))) {
    const index = Number(record.valueString().slice(1));
    assert.equal(record.offset, sent[index].offset);
    assert.equal(record.partition, sent[index].partition);
    assert.ok(record.timestamp > Date.now() - 60_000 && record.timestamp <= Date.now());
  }
  const rr = records.filter((r) => r.valueString() === 'rr');
  assert.equal(rr.length, 2);
  assert.equal(rr[0].key, null);
});

test('batching: lingerMs gathers sends into one request; batchSize splits batches', async () => {
  await freshet.admin.createTopic('batching');
  const lingering = await freshet.producer('batching', { lingerMs: 200, batchSize: 1_000_000 });
  const started = Date.now();
  await Promise.all(Array.from({ length: 100 }, (_, i) => lingering.send(null, `r${i}`)));
  assert.ok(Date.now() - started >= 150, 'waited for the linger time');
  assert.equal(lingering.requestCount, 1);
  assert.equal((await storedBatches('batching', 0)).length, 1);

  // 100 records of ~1 KiB with a 4 KiB batch size: batches of at most 4 records.
  const small = await freshet.producer('batching', { lingerMs: 50, batchSize: 4096 });
  const value = 'x'.repeat(1000);
  await Promise.all(Array.from({ length: 100 }, () => small.send(null, value)));
  const batches = (await storedBatches('batching', 0)).slice(1);
  assert.ok(batches.length >= 25, `${batches.length} batches`);
  for (const batch of batches) assert.ok(batch.length <= 4096 + 100, `batch of ${batch.length} bytes`);
  // Many batches ride in few requests (the batches ready together share one).
  assert.ok(small.requestCount < batches.length, `${small.requestCount} requests for ${batches.length} batches`);

  // flush() sends what lingers now.
  const slow = await freshet.producer('batching', { lingerMs: 60_000 });
  const pending = slow.send(null, 'late');
  await slow.flush();
  assert.equal(typeof (await pending), 'number');
});

test('consumer: beginning, end, absolute, relative, end offset, all partitions, and live tailing', async () => {
  await freshet.admin.createTopic('reading', { partitions: 2 });
  const producer = await freshet.producer('reading');
  for (let i = 0; i < 10; i++) await producer.send(null, `p0-${i}`, { partition: 0 });
  for (let i = 0; i < 5; i++) await producer.send(null, `p1-${i}`, { partition: 1 });
  const values = async (options: Parameters<Freshet['consumer']>[1], count = 100) =>
    (await read(await freshet.consumer('reading', { continuous: false, ...options }), count)).map((r) => r.valueString());

  assert.deepEqual(await values({ partition: 0, offset: 'beginning' }), Array.from({ length: 10 }, (_, i) => `p0-${i}`));
  assert.deepEqual(await values({ partition: 0, offset: Offset.beginning(7) }), ['p0-7', 'p0-8', 'p0-9']);
  assert.deepEqual(await values({ partition: 0, offset: Offset.end(2) }), ['p0-8', 'p0-9']);
  assert.deepEqual(await values({ partition: 0, offset: Offset.absolute(4), end: 6 }), ['p0-4', 'p0-5', 'p0-6']);
  assert.deepEqual(await values({ partition: 0, offset: 5, end: 5 }), ['p0-5']);
  assert.deepEqual(await values({ partition: 0, offset: 'end' }), []);
  const all = await values({ offset: 'beginning' });
  assert.equal(all.length, 15);
  assert.deepEqual(all.filter((v) => v.startsWith('p1')), ['p1-0', 'p1-1', 'p1-2', 'p1-3', 'p1-4']);
  assert.deepEqual(all.filter((v) => v.startsWith('p0')), Array.from({ length: 10 }, (_, i) => `p0-${i}`));

  // Continuous from the end: sees only what is produced after it started, from both partitions.
  const tail = await freshet.consumer('reading', { offset: 'end' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const live = read(tail, 4);
  for (let i = 0; i < 4; i++) await producer.send(null, `live-${i}`, { partition: i % 2 });
  assert.deepEqual((await live).map((r) => r.valueString()).sort(), ['live-0', 'live-1', 'live-2', 'live-3']);

  // An end offset beyond the log: waits for it, then stops by itself.
  const until = freshet.consumer('reading', { partition: 1, offset: Offset.absolute(6), end: 7 });
  const untilRecords = read(await until, 100);
  await producer.send(null, 'p1-7', { partition: 1 });
  await producer.send(null, 'p1-8', { partition: 1 });
  assert.deepEqual((await untilRecords).map((r) => [r.offset, r.valueString()]), [
    [6, 'live-3'],
    [7, 'p1-7'],
  ]);
});

test('a slow consumer holds a bounded number of frames; max bytes is honoured', async () => {
  await freshet.admin.createTopic('paced');
  const producer = await freshet.producer('paced', { batchSize: 64 * 1024 });
  const value = Buffer.alloc(1024, 7);
  await Promise.all(Array.from({ length: 2000 }, () => producer.send(null, value)));
  const consumer = await freshet.consumer('paced', { offset: 'beginning', maxBytes: 64 * 1024, continuous: false });
  const first = await consumer.next();
  assert.equal(first.done, false);
  await new Promise((resolve) => setTimeout(resolve, 200));
  // The server stops after a couple of unacknowledged frames: far less than the 2 MB log is buffered.
  const buffered = (consumer as unknown as { partitions: { frames: { records: unknown[] }[] }[] }).partitions[0].frames.reduce(
    (sum, frame) => sum + frame.records.length,
    0,
  );
  assert.ok(buffered <= 4 * 64, `${buffered} records buffered`);
  let count = 1;
  for await (const record of consumer) {
    assert.equal(record.value.length, 1024);
    count++;
  }
  assert.equal(count, 2000);
});

test("a topic's compression setting: batches of another codec are refused with CompressionError; 'any' takes every codec", async () => {
  await freshet.admin.createTopic('gzip-only', { compression: 'gzip' });
  await freshet.admin.createTopic('any-codec');
  const gzip = await freshet.producer('gzip-only', { compression: 'gzip' });
  // As Fluvio's client: without the option, a producer compresses as its topic says; another codec is refused at once.
  const unset = await freshet.producer('gzip-only');
  await assert.rejects(freshet.producer('gzip-only', { compression: 'zstd' }), (err: unknown) => err instanceof FreshetError && err.code === 'CONFIG');
  assert.equal(await gzip.send(null, 'packed'), 0);
  assert.equal(await unset.send(null, 'packed by default'), 1);
  // A batch of another codec (a raw request: our producer does not send one) is refused by the node.
  const raw = await RawClient.connect(node.spuPort);
  try {
    const refused = await produceValues(raw, 'gzip-only', 0, ['loose']);
    assert.equal(refused.errorCode.code, ErrorCode.CompressionError);
  } finally {
    await raw.close();
  }
  assert.equal(await gzip.send(null, 'packed again'), 2);
  const stored = await read(await freshet.consumer('gzip-only', { partition: 0, offset: 'beginning', continuous: false }), 10);
  assert.deepEqual(stored.map((record) => record.valueString()), ['packed', 'packed by default', 'packed again']);
  const { chunks } = await node.replicas.get('gzip-only', 0)!.read(0, 1 << 20);
  assert.deepEqual(chunks.flatMap(splitRecordSet).map((batch) => parseBatchHeader(batch, 0).compression), [Compression.Gzip, Compression.Gzip, Compression.Gzip]);

  const anyGzip = await freshet.producer('any-codec', { compression: 'gzip' });
  const anyPlain = await freshet.producer('any-codec');
  assert.equal(await anyGzip.send(null, 'a'), 0);
  assert.equal(await anyPlain.send(null, 'b'), 1);
  for (const producer of [gzip, unset, anyGzip, anyPlain]) await producer.close();
});
