import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectJetStream, JetStreamPartitionStore, type JetStreamBackend } from '../../../src/storage/jetstream/index.js';
import { StorageError } from '../../../src/storage/index.js';
import { startNatsCluster, type TestNatsCluster } from '../../helpers/nats-cluster.js';
import { baseOffsetOf, makeBatch } from '../storage/helpers.js';

/** Retries while JetStream is unavailable (a leader election), as a producer or a node's lease loop would. */
async function retrying<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'UNAVAILABLE') || attempt > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Appends, retrying while JetStream is unavailable, as a producer would. */
function appendRetrying(store: JetStreamPartitionStore, batch: Buffer): Promise<number> {
  return retrying(async () => (await store.append([Buffer.from(batch)])).baseOffset);
}

describe('JetStream partition store, replicated', () => {
  let nats: TestNatsCluster;
  let backend: JetStreamBackend;

  before(async () => {
    nats = await startNatsCluster(3);
    backend = await connectJetStream(nats.urls.split(','), { timeoutMs: 2000 });
  });

  after(async () => {
    await backend?.close();
    await nats?.stop();
  });

  it('an R3 partition keeps every acknowledged batch and accepts appends while its stream leader is SIGKILLed', async () => {
    const store = await JetStreamPartitionStore.open(backend, { topic: 'r3', partition: 0, replicas: 3, create: true });
    try {
      const acked = new Map<number, Buffer>();
      const send = async (i: number) => {
        const batch = makeBatch({ records: 2, fill: i % 256, payloadBytes: 64 });
        const offset = await appendRetrying(store, batch);
        batch.writeBigInt64BE(BigInt(offset), 0);
        acked.set(offset, batch);
      };
      for (let i = 0; i < 100; i++) await send(i);
      const info = await backend.jsm.streams.info(store.streamName);
      const leader = nats.servers.findIndex((s) => s.name === info.cluster?.leader);
      assert.ok(leader >= 0, `stream leader ${info.cluster?.leader}`);
      await nats.kill(leader);
      for (let i = 100; i < 200; i++) await send(i);
      assert.equal(acked.size, 200);
      const reader = await retrying(() => JetStreamPartitionStore.open(backend, { topic: 'r3', partition: 0, replicas: 3, cacheBytes: 0 }));
      try {
        assert.equal(reader.highWatermark(), store.highWatermark());
        const seen: Buffer[] = [];
        for (let offset = 0; offset < reader.highWatermark(); ) {
          const { chunks } = await reader.read(offset, 64 * 1024);
          seen.push(...chunks);
          offset = baseOffsetOf(chunks.at(-1)!) + 2;
        }
        // Every acknowledged batch is there byte for byte at its offset, and
        // offsets only increase (a retried append whose first answer was lost
        // may add a batch nobody was told about, never drop one).
        const ackedOffsets = [...acked.keys()].sort((a, b) => a - b);
        for (const offset of ackedOffsets) assert.deepEqual(seen.find((b) => baseOffsetOf(b) === offset), acked.get(offset));
        assert.deepEqual(seen.map(baseOffsetOf), [...seen.map(baseOffsetOf)].sort((a, b) => a - b));
      } finally {
        await reader.close();
      }
      await nats.restart(leader);
    } finally {
      await store.close();
    }
  });
});

describe('JetStream partition store, NATS going away', () => {
  it('turns appends into UNAVAILABLE while the server is down and appends again once it is back', async () => {
    const nats = await startNatsCluster(1);
    const backend = await connectJetStream([nats.servers[0]!.url], { timeoutMs: 1000 });
    const store = await JetStreamPartitionStore.open(backend, { topic: 'away', partition: 0, replicas: 1, create: true });
    try {
      await store.append([makeBatch()]);
      await nats.kill(0);
      await assert.rejects(store.append([makeBatch()]), (err: unknown) => err instanceof StorageError && err.code === 'UNAVAILABLE');
      await nats.restart(0);
      const offset = await appendRetrying(store, makeBatch({ fill: 7 }));
      assert.ok(offset >= 1);
      const { chunks } = await store.read(offset, 1000);
      assert.equal(chunks[0]![61], 7);
      assert.equal(store.isFenced(), false);
    } finally {
      await store.close();
      await backend.close();
      await nats.stop();
    }
  });
});
