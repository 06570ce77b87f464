import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';

import { OffsetOutOfRangeError, StorageError, type ReadResult } from '../../../src/storage/index.js';
import { batchCrcMatches } from '../../../src/storage/batch-layout.js';
import {
  baseOffsetOf,
  lastOffsetOf,
  makeBatch,
  openStore,
  partitionDir,
  readAll,
  segmentFiles,
  storeFixture,
} from './helpers.js';

describe('FilePartitionStore basics', () => {
  const fx = storeFixture();

  it('starts empty with a first segment named by offset 0', async () => {
    fx.store = await openStore(fx.dataDir);
    assert.equal(fx.store.logStartOffset(), 0);
    assert.equal(fx.store.highWatermark(), 0);
    assert.equal(fx.store.sizeBytes(), 0);
    assert.deepEqual(await segmentFiles(fx.dataDir), ['00000000000000000000.index', '00000000000000000000.log']);
    const r = await fx.store.read(0, 1000);
    assert.deepEqual(r, { chunks: [], bytes: 0, logStartOffset: 0, highWatermark: 0 });
  });

  it('append/read round trip assigns offsets and rewrites them in the stored bytes', async () => {
    fx.store = await openStore(fx.dataDir);
    const a = makeBatch({ records: 3, fill: 1 });
    const b = makeBatch({ records: 2, fill: 2 });
    const c = makeBatch({ records: 1, fill: 3 });
    assert.deepEqual(await fx.store.append([a, b]), { baseOffset: 0, lastOffset: 4 });
    assert.deepEqual(await fx.store.append([c]), { baseOffset: 5, lastOffset: 5 });
    assert.equal(baseOffsetOf(a), 0, 'rewritten in place');
    assert.equal(baseOffsetOf(b), 3);
    assert.equal(baseOffsetOf(c), 5);
    assert.equal(fx.store.highWatermark(), 6);
    assert.equal(fx.store.sizeBytes(), a.length + b.length + c.length);

    const r = await fx.store.read(0, 1 << 20);
    assert.equal(r.chunks.length, 3);
    assert.equal(r.bytes, a.length + b.length + c.length);
    assert.equal(r.highWatermark, 6);
    assert.equal(r.logStartOffset, 0);
    assert.deepEqual(r.chunks[0], a);
    assert.deepEqual(r.chunks[1], b);
    assert.deepEqual(r.chunks[2], c);
    for (const chunk of r.chunks) assert.ok(batchCrcMatches(chunk));

    // The file holds the very bytes, with offsets.
    const file = await fs.readFile(path.join(partitionDir(fx.dataDir), '00000000000000000000.log'));
    assert.deepEqual(file, Buffer.concat([a, b, c]));
  });

  it('a read from the middle of a batch returns that batch first', async () => {
    fx.store = await openStore(fx.dataDir);
    await fx.store.append([makeBatch({ records: 10, fill: 1 }), makeBatch({ records: 10, fill: 2 })]);
    const r = await fx.store.read(13, 1 << 20);
    assert.equal(r.chunks.length, 1);
    assert.equal(baseOffsetOf(r.chunks[0]), 10);
    assert.equal(lastOffsetOf(r.chunks[0]), 19);
    const r2 = await fx.store.read(9, 1 << 20);
    assert.equal(baseOffsetOf(r2.chunks[0]), 0);
    assert.equal(r2.chunks.length, 2);
  });

  it('respects maxBytes but always returns at least one whole batch', async () => {
    fx.store = await openStore(fx.dataDir);
    const batches = Array.from({ length: 10 }, (_, i) => makeBatch({ payloadBytes: 100, fill: i }));
    await fx.store.append(batches);
    const size = batches[0].length;
    const r = await fx.store.read(0, size * 3 + 10);
    assert.equal(r.chunks.length, 3);
    assert.equal(r.bytes, size * 3);
    const one = await fx.store.read(4, 1);
    assert.equal(one.chunks.length, 1);
    assert.equal(baseOffsetOf(one.chunks[0]), 4);
    const zero = await fx.store.read(4, 0);
    assert.equal(zero.chunks.length, 1);

    const big = makeBatch({ payloadBytes: 300_000 });
    await fx.store.append([big]);
    const rb = await fx.store.read(10, 1000);
    assert.equal(rb.chunks.length, 1);
    assert.equal(rb.bytes, big.length);
    assert.deepEqual(rb.chunks[0], big);
  });

  it('throws OffsetOutOfRangeError above the high watermark and returns nothing at it', async () => {
    fx.store = await openStore(fx.dataDir);
    await fx.store.append([makeBatch({ records: 2 })]);
    assert.deepEqual((await fx.store.read(2, 100)).chunks, []);
    await assert.rejects(fx.store.read(3, 100), (err: unknown) => {
      assert.ok(err instanceof OffsetOutOfRangeError);
      assert.equal(err.logStartOffset, 0);
      assert.equal(err.highWatermark, 2);
      return true;
    });
    await assert.rejects(fx.store.read(-1, 100), OffsetOutOfRangeError);
  });

  it('rolls segments and reads across them', async () => {
    fx.store = await openStore(fx.dataDir, { segmentSize: 1024, maxPartitionSize: 1024 * 1024 });
    const batches: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const b = makeBatch({ records: 2, payloadBytes: 140, fill: i });
      batches.push(b);
      await fx.store.append([b]);
    }
    assert.ok(fx.store.segmentCount() > 5, `rolled into ${fx.store.segmentCount()} segments`);
    const files = await segmentFiles(fx.dataDir);
    for (const base of fx.store.segmentBaseOffsets()) {
      const stem = String(base).padStart(20, '0');
      assert.ok(files.includes(`${stem}.log`));
    }
    for (const f of files.filter((n) => n.endsWith('.log'))) {
      const st = await fs.stat(path.join(partitionDir(fx.dataDir), f));
      assert.ok(st.size <= 1024, `${f} is ${st.size} bytes`);
    }
    // One read spanning every segment.
    const all = await fx.store.read(0, 1 << 20);
    assert.equal(all.chunks.length, 40);
    all.chunks.forEach((c, i) => assert.deepEqual(c, batches[i]));
    // Reads starting in each segment.
    for (let off = 0; off < 80; off += 7) {
      const r: ReadResult = await fx.store.read(off, 500);
      assert.equal(baseOffsetOf(r.chunks[0]), off - (off % 2));
      assert.ok(r.bytes <= 500 || r.chunks.length === 1);
    }
  });

  it('one append larger than a segment is split across segments at batch boundaries', async () => {
    fx.store = await openStore(fx.dataDir, { segmentSize: 2048, maxPartitionSize: 1 << 20 });
    const batches = Array.from({ length: 30 }, (_, i) => makeBatch({ payloadBytes: 200, fill: i }));
    assert.deepEqual(await fx.store.append(batches), { baseOffset: 0, lastOffset: 29 });
    assert.ok(fx.store.segmentCount() >= 3);
    const back = await readAll(fx.store);
    assert.equal(back.length, 30);
    back.forEach((c, i) => assert.deepEqual(c, batches[i]));
  });

  it('sparse index: random offsets among many small batches read back the right batch', async () => {
    fx.store = await openStore(fx.dataDir, { segmentSize: 64 * 1024, indexIntervalBytes: 256, maxPartitionSize: 1 << 30 });
    const expected: Array<{ base: number; last: number; fill: number }> = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      const group: Buffer[] = [];
      for (let j = 0; j < 20; j++) {
        const records = 1 + ((round * 7 + j) % 5);
        const fill = (round * 20 + j) % 251;
        group.push(makeBatch({ records, payloadBytes: 20 + ((j * 13) % 50), fill }));
        expected.push({ base: next, last: next + records - 1, fill });
        next += records;
      }
      await fx.store.append(group);
    }
    assert.equal(fx.store.highWatermark(), next);
    assert.ok(fx.store.segmentCount() > 1);
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 300; k++) {
      const off = rand(next);
      const r: ReadResult = await fx.store.read(off, 1);
      assert.equal(r.chunks.length, 1);
      const e = expected.find((x) => x.base <= off && off <= x.last);
      assert.ok(e !== undefined);
      assert.equal(baseOffsetOf(r.chunks[0]), e.base, `offset ${off}`);
      assert.equal(lastOffsetOf(r.chunks[0]), e.last);
      assert.equal(r.chunks[0][70], e.fill);
    }
    // Index files of closed segments are non-empty and entry-aligned.
    const idxFiles = (await segmentFiles(fx.dataDir)).filter((f) => f.endsWith('.index'));
    const st = await fs.stat(path.join(partitionDir(fx.dataDir), idxFiles[0]));
    assert.ok(st.size > 0 && st.size % 8 === 0);
  });

  it('reopen after close keeps everything and offsets continue', async () => {
    fx.store = await openStore(fx.dataDir, { segmentSize: 1024, maxPartitionSize: 1 << 20 });
    const batches: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const b = makeBatch({ records: 3, payloadBytes: 100, fill: i });
      batches.push(b);
      await fx.store.append([b]);
    }
    const segs = fx.store.segmentBaseOffsets();
    const size = fx.store.sizeBytes();
    await fx.store.close();
    await assert.rejects(fx.store.append([makeBatch()]), (e: unknown) => e instanceof StorageError && e.code === 'CLOSED');

    fx.store = await openStore(fx.dataDir, { segmentSize: 1024, maxPartitionSize: 1 << 20 });
    assert.equal(fx.store.highWatermark(), 60);
    assert.equal(fx.store.logStartOffset(), 0);
    assert.deepEqual(fx.store.segmentBaseOffsets(), segs);
    assert.equal(fx.store.sizeBytes(), size);
    const back = await readAll(fx.store);
    back.forEach((c, i) => assert.deepEqual(c, batches[i]));
    assert.deepEqual(await fx.store.append([makeBatch({ records: 2 })]), { baseOffset: 60, lastOffset: 61 });
    assert.equal((await fx.store.read(60, 100)).chunks.length, 1);
  });

  it('onAppend fires synchronously with the new high watermark; unsubscribe stops it', async () => {
    fx.store = await openStore(fx.dataDir);
    const seen: number[] = [];
    let resolvedBeforeNotify = false;
    const off = fx.store.onAppend((hw) => {
      seen.push(hw);
      assert.equal(fx.store?.highWatermark(), hw);
    });
    const p = fx.store.append([makeBatch({ records: 4 })]).then(() => {
      resolvedBeforeNotify = seen.length === 0;
    });
    await p;
    assert.equal(resolvedBeforeNotify, false, 'listener ran before the append promise continuation');
    await fx.store.append([makeBatch({ records: 1 })]);
    assert.deepEqual(seen, [4, 5]);
    off();
    await fx.store.append([makeBatch()]);
    assert.deepEqual(seen, [4, 5]);
  });

  it('a throwing listener does not break appends', async () => {
    fx.store = await openStore(fx.dataDir);
    fx.store.onAppend(() => {
      throw new Error('boom');
    });
    assert.deepEqual(await fx.store.append([makeBatch()]), { baseOffset: 0, lastOffset: 0 });
  });

  it('concurrent appends keep call order', async () => {
    fx.store = await openStore(fx.dataDir, { segmentSize: 4096, maxPartitionSize: 1 << 30 });
    const promises: Array<Promise<{ baseOffset: number; lastOffset: number }>> = [];
    const fills: number[] = [];
    for (let i = 0; i < 200; i++) {
      const records = 1 + (i % 4);
      fills.push(i % 256);
      const batches = i % 3 === 0 ? [makeBatch({ records, fill: i % 256 }), makeBatch({ records: 1, fill: i % 256 })] : [makeBatch({ records, fill: i % 256 })];
      promises.push(fx.store.append(batches));
    }
    const results = await Promise.all(promises);
    let expectedBase = 0;
    for (const r of results) {
      assert.equal(r.baseOffset, expectedBase);
      expectedBase = r.lastOffset + 1;
    }
    assert.equal(fx.store.highWatermark(), expectedBase);
    const back = await readAll(fx.store);
    let k = 0;
    for (let i = 0; i < 200; i++) {
      const n = i % 3 === 0 ? 2 : 1;
      for (let j = 0; j < n; j++) assert.equal(back[k++][70], fills[i]);
    }
  });

  it('rejects malformed and oversized batches without touching the log', async () => {
    fx.store = await openStore(fx.dataDir, { maxBatchSize: 1000 });
    const good = makeBatch();
    const badLen = makeBatch();
    badLen.writeInt32BE(5, 8);
    const badMagic = makeBatch();
    badMagic.writeInt8(1, 16);
    for (const bad of [badLen, badMagic, Buffer.alloc(20)]) {
      await assert.rejects(fx.store.append([good, bad]), (e: unknown) => e instanceof StorageError && e.code === 'INVALID_BATCH');
    }
    await assert.rejects(
      fx.store.append([makeBatch({ payloadBytes: 2000 })]),
      (e: unknown) => e instanceof StorageError && e.code === 'BATCH_TOO_LARGE',
    );
    assert.equal(fx.store.highWatermark(), 0);
    assert.deepEqual(await fx.store.append([good]), { baseOffset: 0, lastOffset: 0 });
    assert.deepEqual(await fx.store.append([]), { baseOffset: 1, lastOffset: 0 });
  });

  it('refuses to open the same partition twice; delete() removes the directory', async () => {
    fx.store = await openStore(fx.dataDir);
    await assert.rejects(openStore(fx.dataDir), (e: unknown) => e instanceof StorageError && e.code === 'ALREADY_OPEN');
    await fx.store.append([makeBatch()]);
    await fx.store.delete();
    fx.store = undefined;
    await assert.rejects(fs.stat(partitionDir(fx.dataDir)), { code: 'ENOENT' });
    fx.store = await openStore(fx.dataDir);
    assert.equal(fx.store.highWatermark(), 0);
  });

  it('keeps open closed-segment handles bounded', async () => {
    fx.store = await openStore(fx.dataDir, { segmentSize: 1024, maxOpenSegments: 2, maxPartitionSize: 1 << 20 });
    for (let i = 0; i < 30; i++) await fx.store.append([makeBatch({ payloadBytes: 300, fill: i })]);
    assert.ok(fx.store.segmentCount() >= 8);
    await fx.store.close();
    fx.store = await openStore(fx.dataDir, { segmentSize: 1024, maxOpenSegments: 2, maxPartitionSize: 1 << 20 });
    const back = await readAll(fx.store);
    assert.equal(back.length, 30);
    back.forEach((c, i) => assert.equal(c[70], i));
    // Read backwards to churn the LRU.
    for (let off = 29; off >= 0; off--) assert.equal((await fx.store.read(off, 1)).chunks[0][70], off);
  });
});
