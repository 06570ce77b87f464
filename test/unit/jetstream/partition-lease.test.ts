import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { connectJetStream, JetStreamPartitionStore, type JetStreamBackend } from '../../../src/storage/jetstream/index.js';
import { StorageError } from '../../../src/storage/index.js';
import { openBucket } from '../../../src/node/backends/kv-buckets.js';
import { leaseKey, PartitionLease, type LeaseTiming } from '../../../src/node/backends/partition-lease.js';
import { startNatsCluster, type TestNatsCluster } from '../../helpers/nats-cluster.js';
import { makeBatch } from '../storage/helpers.js';
import type { KV } from '@nats-io/kv';

// Heartbeats are driven by hand (heartbeatMs 0) and the challenger's clock
// is a counter, so that no assertion depends on timing.
const timing: LeaseTiming = { heartbeatMs: 0, leaseMs: 5000 };
const A = { spuId: 1, spu: '127.0.0.1:1' };
const B = { spuId: 2, spu: '127.0.0.1:2' };

describe('partition lease in a KV bucket', () => {
  let nats: TestNatsCluster;
  let backend: JetStreamBackend;
  let kv: KV;

  before(async () => {
    nats = await startNatsCluster(1);
    backend = await connectJetStream([nats.servers[0]!.url]);
    kv = await openBucket(backend, 'TEST_leases', pino({ level: 'silent' }));
  });

  after(async () => {
    await backend?.close();
    await nats?.stop();
  });

  it('one holder at a time; renewals keep it; a silent holder is taken over after a lease period and its store is fenced', async () => {
    const key = leaseKey('orders', 0);
    let clock = 0;
    let lostByA = 0;
    const a = new PartitionLease(kv, key, A, timing, () => lostByA++);
    const b = new PartitionLease(kv, key, B, timing, undefined, () => clock);
    assert.equal((await a.tryAcquire()).held, true);
    const storeA = await JetStreamPartitionStore.open(backend, { topic: 'orders', partition: 0, replicas: 1, create: true });
    await storeA.append([makeBatch()]);

    assert.deepEqual(await b.tryAcquire(), { held: false, holder: A });
    clock += 10_000;
    assert.equal(await a.renew(), true);
    assert.deepEqual(await b.tryAcquire(), { held: false, holder: A }, 'a renewal restarts the challenger\'s count');

    a.abandon(); // A pauses: no more renewals
    clock += 4000;
    assert.equal((await b.tryAcquire()).held, false, 'not yet a whole lease period');
    clock += 1000;
    assert.equal((await b.tryAcquire()).held, true);
    const storeB = await JetStreamPartitionStore.open(backend, { topic: 'orders', partition: 0, replicas: 1 });
    assert.deepEqual(await storeB.append([makeBatch()]), { baseOffset: 1, lastOffset: 1 });

    // A wakes up: its store refuses to write, and its lease is gone.
    await assert.rejects(storeA.append([makeBatch()]), (err: unknown) => err instanceof StorageError && err.code === 'FENCED');
    const stale = new PartitionLease(kv, key, A, timing, () => lostByA++);
    assert.equal((await stale.tryAcquire()).held, false);
    assert.equal(storeB.highWatermark(), 2);
    await Promise.all([storeA.close(), storeB.close()]);
    await b.release();
  });

  it('a renewal after a takeover fails its compare-and-set and reports the loss', async () => {
    const key = leaseKey('orders', 1);
    let lost = 0;
    let clock = 0;
    const a = new PartitionLease(kv, key, A, timing, () => lost++);
    const b = new PartitionLease(kv, key, B, timing, undefined, () => clock);
    await a.tryAcquire();
    await b.tryAcquire();
    clock += timing.leaseMs;
    assert.equal((await b.tryAcquire()).held, true);
    assert.equal(await a.renew(), false);
    assert.equal(lost, 1);
    assert.equal(a.held, false);
    await b.release();
    assert.equal((await a.tryAcquire()).held, true, 'a released lease is free at once');
    await a.release();
  });
});
