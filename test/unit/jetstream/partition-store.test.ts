import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectJetStream, JetStreamPartitionStore, type JetStreamBackend } from '../../../src/storage/jetstream/index.js';
import { OffsetOutOfRangeError, StorageError } from '../../../src/storage/index.js';
import { startNatsCluster, type TestNatsCluster } from '../../helpers/nats-cluster.js';
import { baseOffsetOf, makeBatch } from '../storage/helpers.js';

let nats: TestNatsCluster;
let backend: JetStreamBackend;
let topicCounter = 0;

function freshTopic(): string {
  return `t${++topicCounter}`;
}

function open(topic: string, extra: Partial<Parameters<typeof JetStreamPartitionStore.open>[1]> = {}, on = backend) {
  return JetStreamPartitionStore.open(on, { topic, partition: 0, replicas: 1, create: true, ...extra });
}

before(async () => {
  nats = await startNatsCluster(1);
  backend = await connectJetStream([nats.servers[0]!.url]);
});

after(async () => {
  await backend?.close();
  await nats?.stop();
});

describe('JetStream partition store', () => {
  it('assigns offsets, stores batches byte for byte and reads from any offset', async () => {
    const store = await open(freshTopic());
    try {
      const batches = [makeBatch({ records: 3, fill: 1 }), makeBatch({ records: 1, fill: 2 }), makeBatch({ records: 5, payloadBytes: 300, fill: 3 })];
      const first = await store.append([batches[0]!, batches[1]!]);
      assert.deepEqual(first, { baseOffset: 0, lastOffset: 3 });
      const second = await store.append([batches[2]!]);
      assert.deepEqual(second, { baseOffset: 4, lastOffset: 8 });
      assert.equal(store.highWatermark(), 9);
      assert.equal(store.logStartOffset(), 0);
      assert.equal(store.sizeBytes(), batches.reduce((n, b) => n + b.length, 0));
      for (const [offset, firstBatch] of [[0, 0], [2, 0], [3, 1], [4, 2], [8, 2]] as const) {
        const result = await store.read(offset, 1 << 20);
        assert.equal(result.chunks.length, 3 - firstBatch, `read at ${offset}`);
        assert.deepEqual(result.chunks[0], batches[firstBatch], `bytes at ${offset}`);
        assert.equal(result.highWatermark, 9);
      }
      assert.deepEqual((await store.read(9, 1000)).chunks, []);
      await assert.rejects(store.read(10, 1000), OffsetOutOfRangeError);
    } finally {
      await store.close();
    }
  });

  it('reopens with the index rebuilt from the stream, bytes read back from JetStream', async () => {
    const topic = freshTopic();
    const writer = await open(topic);
    const appended: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const batch = makeBatch({ records: 1 + (i % 4), payloadBytes: 40 + i, fill: i });
      appended.push(batch);
      await writer.append([batch]);
    }
    const highWatermark = writer.highWatermark();
    await writer.close();
    const reader = await open(topic, { create: false, cacheBytes: 0 });
    try {
      assert.equal(reader.highWatermark(), highWatermark);
      const middle = appended[25]!;
      const result = await reader.read(baseOffsetOf(middle) + 1, middle.length + appended[26]!.length);
      assert.deepEqual(result.chunks, [middle, appended[26]]);
      const all = await reader.read(0, 1);
      assert.deepEqual(all.chunks, [appended[0]], 'at least one whole batch beyond maxBytes');
    } finally {
      await reader.close();
    }
  });

  it('wakes a listener when another store instance appends (pushed by the stream, no polling)', async () => {
    const topic = freshTopic();
    const writer = await open(topic);
    const follower = await open(topic, { create: false });
    try {
      const woken = new Promise<number>((resolve) => follower.onAppend(resolve));
      await writer.append([makeBatch({ records: 7 })]);
      assert.equal(await woken, 7);
      assert.equal(follower.highWatermark(), 7);
      const result = await follower.read(3, 1000);
      assert.equal(result.chunks.length, 1);
      assert.equal(baseOffsetOf(result.chunks[0]!), 0);
    } finally {
      await Promise.all([writer.close(), follower.close()]);
    }
  });

  it('fences a writer once another writer appended: the deposed one gets FENCED, the log does not fork', async () => {
    const topic = freshTopic();
    const old = await open(topic);
    await old.append([makeBatch()]);
    const usurper = await open(topic, { create: false });
    try {
      await usurper.append([makeBatch({ records: 2 })]);
      await assert.rejects(old.append([makeBatch({ fill: 9 })]), (err: unknown) => err instanceof StorageError && err.code === 'FENCED');
      await assert.rejects(old.append([makeBatch({ fill: 9 })]), (err: unknown) => err instanceof StorageError && err.code === 'FENCED');
      assert.equal(old.isFenced(), true);
      assert.deepEqual(await usurper.append([makeBatch()]), { baseOffset: 3, lastOffset: 3 });
      assert.equal(usurper.highWatermark(), 4);
    } finally {
      await Promise.all([old.close(), usurper.close()]);
    }
  });

  it('keeps concurrent appends in call order', async () => {
    const store = await open(freshTopic());
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.append([makeBatch({ records: 2, fill: i })])));
      results.forEach((result, i) => assert.deepEqual(result, { baseOffset: 2 * i, lastOffset: 2 * i + 1 }));
      const read = await store.read(0, 1 << 20);
      assert.deepEqual(read.chunks.map((c) => c[61]), Array.from({ length: 40 }, (_, i) => i));
    } finally {
      await store.close();
    }
  });

  it('maps retention to stream limits: the oldest batches go and the log start moves', async () => {
    const store = await open(freshTopic(), { config: { segmentSize: 1024, maxPartitionSize: 2048, retentionCheckIntervalMs: 0 } });
    try {
      for (let i = 0; i < 10; i++) await store.append([makeBatch({ payloadBytes: 400, fill: i })]);
      await store.refreshRetention();
      assert.ok(store.logStartOffset() > 0, `log start ${store.logStartOffset()}`);
      assert.ok(store.sizeBytes() <= 2048, `size ${store.sizeBytes()}`);
      assert.equal(store.highWatermark(), 10);
      await assert.rejects(store.read(0, 1000), OffsetOutOfRangeError);
      const tail = await store.read(store.logStartOffset(), 1 << 20);
      assert.equal(baseOffsetOf(tail.chunks[0]!), store.logStartOffset());
    } finally {
      await store.close();
    }
  });

  it('refuses malformed and oversized batches before publishing', async () => {
    const store = await open(freshTopic(), { config: { maxBatchSize: 1000 } });
    try {
      await assert.rejects(store.append([Buffer.alloc(20)]), (err: unknown) => err instanceof StorageError && err.code === 'INVALID_BATCH');
      await assert.rejects(store.append([makeBatch({ payloadBytes: 2000 })]), (err: unknown) => err instanceof StorageError && err.code === 'BATCH_TOO_LARGE');
      assert.equal(store.highWatermark(), 0);
    } finally {
      await store.close();
    }
  });

  it('refuses three replicas on a single server with a clear error', async () => {
    await assert.rejects(open(freshTopic(), { replicas: 3 }), /replication factor 3 needs a NATS JetStream cluster of at least 3 servers/);
  });
});
