import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { FilePartitionStore, OffsetOutOfRangeError } from '../../../src/storage/index.js';
import {
  baseOffsetOf,
  makeBatch,
  openStore,
  partitionDir,
  readAll,
  segmentFiles,
  storeFixture,
} from './helpers.js';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2025, 0, 15);

describe('retention', () => {
  const fx = storeFixture();

  const small = { segmentSize: 1024, maxPartitionSize: 1 << 30, retentionMs: 7 * DAY };

  async function fill(s: FilePartitionStore, count: number, timestamp: number): Promise<void> {
    for (let i = 0; i < count; i++) await s.append([makeBatch({ records: 2, payloadBytes: 200, timestamp })]);
  }

  it('by time: deletes closed segments whose newest timestamp is too old, then reads clamp', async () => {
    fx.store = await openStore(fx.dataDir, small);
    await fill(fx.store, 12, NOW - 10 * DAY); // old: ~4 segments
    const oldHw = fx.store.highWatermark();
    await fill(fx.store, 12, NOW - DAY); // recent
    const before = fx.store.segmentCount();
    const sizeBefore = fx.store.sizeBytes();

    const removed = await fx.store.enforceRetention(NOW);
    assert.ok(removed >= 3, `removed ${removed}`);
    assert.equal(fx.store.segmentCount(), before - removed);
    assert.ok(fx.store.sizeBytes() < sizeBefore);
    const lso = fx.store.logStartOffset();
    assert.equal(lso, fx.store.segmentBaseOffsets()[0]);
    assert.ok(lso > 0 && lso <= oldHw, `lso ${lso} oldHw ${oldHw}`);
    const files = await segmentFiles(fx.dataDir);
    assert.ok(!files.includes('00000000000000000000.log'));
    assert.ok(!files.includes('00000000000000000000.index'));

    // Right after retention: below the start → OffsetOutOfRangeError carrying the new start.
    await assert.rejects(fx.store.read(0, 1000), (err: unknown) => {
      assert.ok(err instanceof OffsetOutOfRangeError);
      assert.equal(err.logStartOffset, lso);
      return true;
    });
    const r = await fx.store.read(lso, 1000);
    assert.equal(baseOffsetOf(r.chunks[0]), lso);
    assert.equal(r.logStartOffset, lso);
    const rest = await readAll(fx.store);
    assert.equal(rest.length, (fx.store.highWatermark() - lso) / 2);

    // Idempotent, and nothing recent goes.
    assert.equal(await fx.store.enforceRetention(NOW), 0);
  });

  it('never deletes the active segment', async () => {
    fx.store = await openStore(fx.dataDir, small);
    await fill(fx.store, 20, NOW - 30 * DAY);
    const removed = await fx.store.enforceRetention(NOW);
    assert.equal(fx.store.segmentCount(), 1);
    assert.ok(removed > 0);
    assert.equal(fx.store.logStartOffset(), fx.store.segmentBaseOffsets()[0]);
    assert.ok((await fx.store.read(fx.store.logStartOffset(), 100)).chunks.length === 1);
    // Appends continue.
    const hw = fx.store.highWatermark();
    assert.deepEqual(await fx.store.append([makeBatch()]), { baseOffset: hw, lastOffset: hw });
  });

  it('by size: deletes oldest closed segments while over maxPartitionSize', async () => {
    fx.store = await openStore(fx.dataDir, { ...small, maxPartitionSize: 3000, retentionMs: Infinity });
    await fill(fx.store, 30, NOW);
    assert.ok(fx.store.sizeBytes() > 3000);
    const removed = await fx.store.enforceRetention(NOW);
    assert.ok(removed > 0);
    assert.ok(fx.store.sizeBytes() <= 3000, `size ${fx.store.sizeBytes()}`);
    const lso = fx.store.logStartOffset();
    await assert.rejects(fx.store.read(lso - 1, 100), (e: unknown) => e instanceof OffsetOutOfRangeError && e.logStartOffset === lso);
    assert.equal(baseOffsetOf((await fx.store.read(lso, 100)).chunks[0]), lso);
  });

  it('the new start offset survives a reopen; time retention works from .timeindex or a rescan', async () => {
    fx.store = await openStore(fx.dataDir, small);
    await fill(fx.store, 12, NOW - 10 * DAY);
    await fill(fx.store, 12, NOW - 8 * DAY);
    await fill(fx.store, 12, NOW);
    await fx.store.enforceRetention(NOW - 2 * DAY); // cutoff NOW-9d: drops the first third
    const lso = fx.store.logStartOffset();
    assert.ok(lso > 0);
    await fx.store.close();

    // Lose one .timeindex: it is recomputed by scanning.
    const dir = partitionDir(fx.dataDir);
    const ti = (await segmentFiles(fx.dataDir)).filter((f) => f.endsWith('.timeindex'));
    assert.ok(ti.length > 0);
    await fs.unlink(path.join(dir, ti[0]));

    fx.store = await openStore(fx.dataDir, small);
    assert.equal(fx.store.logStartOffset(), lso);
    const removed = await fx.store.enforceRetention(NOW);
    assert.ok(removed > 0);
    const r = await fx.store.read(fx.store.logStartOffset(), 100);
    assert.ok(Number(r.chunks[0].readBigInt64BE(35)) >= NOW - 8 * DAY - 1);
    assert.ok((await segmentFiles(fx.dataDir)).includes(ti[0]) === false || removed > 0);
  });

  it('batches without timestamps fall back to the segment file mtime', async () => {
    fx.store = await openStore(fx.dataDir, small);
    await fill(fx.store, 12, -1);
    assert.equal(await fx.store.enforceRetention(Date.now()), 0, 'files were just written');
    const dir = partitionDir(fx.dataDir);
    for (const f of await segmentFiles(fx.dataDir)) {
      if (f.endsWith('.log')) await fs.utimes(path.join(dir, f), new Date(NOW - 30 * DAY), new Date(NOW - 30 * DAY));
    }
    assert.ok((await fx.store.enforceRetention(Date.now())) > 0);
  });

  it('a read in flight on a segment that retention deletes does not crash', async () => {
    let pause: Promise<void> | undefined;
    let release: () => void = () => undefined;
    let paused: () => void = () => undefined;
    const reachedPause = new Promise<void>((r) => (paused = r));
    fx.store = await openStore(fx.dataDir, small, {
      hooks: {
        beforeRead: async (p) => {
          if (pause !== undefined && p.endsWith('00000000000000000000.log')) {
            paused();
            await pause;
          }
        },
      },
    });
    await fill(fx.store, 12, NOW - 10 * DAY);
    await fill(fx.store, 6, NOW);
    pause = new Promise<void>((r) => (release = r));
    const inflight = fx.store.read(0, 100_000);
    await reachedPause;
    assert.ok((await fx.store.enforceRetention(NOW)) > 0);
    assert.ok(!(await segmentFiles(fx.dataDir)).includes('00000000000000000000.log'));
    release();
    pause = undefined;
    // The handle stayed open (refcounted): the unlinked file is still readable.
    const r = await inflight;
    assert.equal(baseOffsetOf(r.chunks[0]), 0);
    assert.ok(r.logStartOffset > 0);
  });

  it('concurrent reads while retention runs either succeed or report the new start', async () => {
    fx.store = await openStore(fx.dataDir, { ...small, maxOpenSegments: 1 });
    await fill(fx.store, 40, NOW - 10 * DAY);
    await fill(fx.store, 4, NOW);
    const s = fx.store;
    const reads: Array<Promise<unknown>> = [];
    for (let off = 0; off < 80; off += 3) reads.push(s.read(off, 2000));
    const retention = s.enforceRetention(NOW);
    for (let off = 1; off < 80; off += 5) reads.push(s.read(off, 2000));
    const results = await Promise.allSettled(reads);
    await retention;
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof OffsetOutOfRangeError, String(r.reason));
    }
  });

  it('runs by itself on a timer', async () => {
    fx.store = await openStore(fx.dataDir, { ...small, retentionMs: 1000, retentionCheckIntervalMs: 20 });
    await fill(fx.store, 12, Date.now() - 10_000);
    await fill(fx.store, 6, Date.now());
    const before = fx.store.segmentCount();
    for (let i = 0; i < 100 && fx.store.segmentCount() === before; i++) await sleep(10);
    assert.ok(fx.store.segmentCount() < before);
    assert.ok(fx.store.stats().segmentsDeleted > 0);
  });
});
