import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readI64, setBaseOffset } from '../../../src/protocol/record-batch.js';
import { batchCrcMatches, readStoredHeader } from '../../../src/storage/batch-layout.js';
import { resolveStorageConfig, DEFAULT_STORAGE_CONFIG, StorageError } from '../../../src/storage/index.js';
import { IndexBuilder, SparseIndex } from '../../../src/storage/sparse-index.js';
import { parseSegmentFileName, segmentFileStem } from '../../../src/storage/io.js';
import { makeBatch } from './helpers.js';

describe('batch layout', () => {
  it('reads the header fields', () => {
    const b = makeBatch({ records: 5, payloadBytes: 40, timestamp: 1_700_000_000_123 });
    const h = readStoredHeader(b, 0);
    assert.ok(typeof h !== 'string', h as string);
    assert.equal(h.baseOffset, 0);
    assert.equal(h.totalLength, b.length);
    assert.equal(h.lastOffsetDelta, 4);
    assert.equal(h.magic, 2);
    assert.equal(h.firstTimestamp, 1_700_000_000_123);
    assert.equal(h.maxTimestamp, 1_700_000_000_123);
    assert.ok(batchCrcMatches(b));
  });

  it('rewriting base_offset keeps the CRC valid', () => {
    const b = makeBatch();
    setBaseOffset(b, 2 ** 40 + 7);
    assert.equal(readI64(b, 0), 2 ** 40 + 7);
    assert.ok(batchCrcMatches(b));
    b[60] ^= 1;
    assert.ok(!batchCrcMatches(b));
  });

  it('i64 helpers handle negatives and reject unsafe values', () => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(-1n);
    assert.equal(readI64(b, 0), -1);
    assert.throws(() => setBaseOffset(b, Number.MAX_SAFE_INTEGER + 1), RangeError);
  });

  it('names what is wrong with a stored header', () => {
    const wrongMagic = makeBatch();
    wrongMagic.writeInt8(1, 16);
    assert.equal(readStoredHeader(wrongMagic, 0), 'magic 1 != 2');
    const short = makeBatch();
    short.writeInt32BE(10, 8);
    assert.match(readStoredHeader(short, 0) as string, /batch_len 10 shorter than the header/);
    const negative = makeBatch();
    negative.writeInt32BE(-2, 23);
    assert.match(readStoredHeader(negative, 0) as string, /negative last_offset_delta/);
    const unsafe = makeBatch();
    unsafe.writeInt32BE(0x7fffffff, 0);
    assert.match(readStoredHeader(unsafe, 0) as string, /base_offset .* safe integer/);
  });

  it('segment file names are 20-digit base offsets', () => {
    assert.equal(segmentFileStem(42), '00000000000000000042');
    assert.deepEqual(parseSegmentFileName('00000000000000000042.log'), { baseOffset: 42, ext: 'log' });
    assert.equal(parseSegmentFileName('42.log'), undefined);
  });
});

describe('sparse index', () => {
  it('lookup finds the last entry at or below the offset', () => {
    const idx = new SparseIndex(1);
    idx.push(3, 10);
    idx.push(7, 350);
    idx.push(9, 400);
    idx.push(21, 12000);
    assert.deepEqual(idx.lookup(1), { relOffset: 0, position: 0 });
    assert.deepEqual(idx.lookup(3), { relOffset: 3, position: 10 });
    assert.deepEqual(idx.lookup(8), { relOffset: 7, position: 350 });
    assert.deepEqual(idx.lookup(20), { relOffset: 9, position: 400 });
    assert.deepEqual(idx.lookup(1000), { relOffset: 21, position: 12000 });
  });

  it('round-trips through its file format and rejects broken files', () => {
    const idx = new SparseIndex();
    for (let i = 1; i <= 100; i++) idx.push(i * 3, i * 100);
    const buf = idx.toBuffer();
    assert.equal(buf.length, 800);
    assert.equal(buf.readUInt32BE(0), 3);
    assert.equal(buf.readUInt32BE(4), 100);
    const back = SparseIndex.fromBuffer(buf, 20_000, 1000);
    assert.ok(back !== undefined && back.equalsBuffer(buf));
    assert.equal(SparseIndex.fromBuffer(buf.subarray(0, 7), 20_000, 1000), undefined, 'not a multiple of 8');
    assert.equal(SparseIndex.fromBuffer(buf, 5_000, 1000), undefined, 'positions past the end');
    const swapped = Buffer.from(buf);
    swapped.writeUInt32BE(1, 8);
    assert.equal(SparseIndex.fromBuffer(swapped, 20_000, 1000), undefined, 'not increasing');
  });

  it('builder adds an entry every interval bytes', () => {
    const idx = new SparseIndex();
    const b = new IndexBuilder(idx, 100);
    for (let i = 0; i < 10; i++) b.observe(i, i * 40);
    // positions 0,40,80,120*,160,200,240*,280,320,360*
    assert.deepEqual(
      Array.from({ length: idx.length }, (_, i) => idx.positionAt(i)),
      [120, 240, 360],
    );
    idx.truncate(1);
    assert.equal(idx.length, 1);
  });
});

describe('storage config', () => {
  it('fills defaults like Fluvio', () => {
    const c = resolveStorageConfig({});
    assert.deepEqual(c, { ...DEFAULT_STORAGE_CONFIG });
    assert.equal(c.segmentSize, 1024 ** 3);
    assert.equal(c.maxPartitionSize, 100 * 1024 ** 3);
    assert.equal(c.retentionMs, 7 * 24 * 3600 * 1000);
    assert.equal(c.indexIntervalBytes, 4096);
    assert.equal(c.flush.kind, 'always');
  });

  it('rejects invalid values', () => {
    assert.throws(() => resolveStorageConfig({ segmentSize: 10 }), StorageError);
    assert.throws(() => resolveStorageConfig({ segmentSize: 2 ** 33 }), StorageError);
    assert.throws(() => resolveStorageConfig({ segmentSize: 4096, maxPartitionSize: 1000 }), StorageError);
    assert.throws(() => resolveStorageConfig({ flush: { kind: 'interval', intervalMs: 0 } }), StorageError);
    assert.throws(() => resolveStorageConfig({ retentionMs: -5 }), StorageError);
    assert.doesNotThrow(() => resolveStorageConfig({ maxPartitionSize: Infinity, retentionMs: Infinity }));
  });
});
