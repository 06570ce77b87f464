import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../../src/protocol/index.js';
import { loadFrames, type PairedFrame } from './helpers.js';

const frames = loadFrames();

function producedBatch(flow: string): Buffer {
  const frame = frames.find((f: PairedFrame) => f.flow === flow && f.dir === 'req' && f.apiKey === 0);
  assert.ok(frame);
  const r = new p.Reader(frame.bytes, 4);
  const header = p.decodeRequestHeader(r);
  const req = p.decodeProduceRequest(r, header.apiVersion);
  const batches = p.splitRecordSet(req.topics[0].partitions[0].records);
  assert.equal(batches.length, 1);
  return batches[0];
}

function injectedBatches(): Buffer[] {
  const frame = frames.find((f) => f.flow === 'createStream_inj' && f.dir === 'resp' && f.apiKey === 1003);
  assert.ok(frame);
  const r = new p.Reader(frame.bytes, 8);
  const res = p.decodeStreamFetchResponse(r, frame.version);
  return p.splitRecordSetLenient(res.partition.records as Buffer);
}

test('record-batch: header constants match the layout', () => {
  assert.equal(p.BATCH_HEADER_SIZE, 57);
  assert.equal(p.BATCH_LEN_MIN, 45);
  const batch = producedBatch('flush');
  const header = p.parseBatchHeader(batch, 0);
  assert.equal(header.totalLength, batch.length);
  assert.equal(header.totalLength, 92);
  assert.equal(header.magic, 2);
  assert.equal(header.partitionLeaderEpoch, -1);
  assert.equal(header.lastOffsetDelta, 1);
  assert.equal(header.compression, p.Compression.None);
  assert.equal(header.hasSchemaId, false);
  assert.equal(header.producerId, -1);
  assert.equal(header.producerEpoch, -1);
  assert.equal(header.firstSequence, -1);
  assert.equal(header.crc, 0xc0efc2ca);
});

test('record-batch: a good CRC validates, any flipped bit in the covered range does not', () => {
  const batch = producedBatch('flush');
  p.validateBatch(batch);
  for (let offset = p.CRC_START; offset < batch.length; offset++) {
    const corrupt = Buffer.from(batch);
    corrupt[offset] ^= 1 << offset % 8;
    assert.throws(() => p.validateBatch(corrupt), p.BatchError, `bit flip at ${offset}`);
  }
  const crcFlipped = Buffer.from(batch);
  crcFlipped[p.BatchOffset.crc] ^= 0x80;
  assert.throws(() => p.validateBatch(crcFlipped), /CRC mismatch/);
});

test('record-batch: base_offset is outside the CRC; setBaseOffset keeps the batch valid', () => {
  const batch = Buffer.from(producedBatch('flush'));
  p.setBaseOffset(batch, 123_456_789_012);
  assert.equal(p.validateBatch(batch).baseOffset, 123_456_789_012);
  assert.deepEqual(
    p.decodeRecords(batch).map((record) => record.offset),
    [123_456_789_012, 123_456_789_013],
  );
});

test('record-batch: validateBatch refuses bad magic, inconsistent lengths, count mismatch', () => {
  const batch = producedBatch('flush');
  const magic = Buffer.from(batch);
  magic[p.BatchOffset.magic] = 1;
  assert.throws(() => p.validateBatch(magic), /magic/);
  assert.throws(() => p.validateBatch(batch.subarray(0, batch.length - 1)), /batch_len/);
  assert.throws(() => p.validateBatch(batch.subarray(0, 20)), /truncated batch header/);
  const delta = Buffer.from(batch);
  delta.writeInt32BE(5, p.BatchOffset.lastOffsetDelta);
  assert.throws(() => p.validateBatch(delta), /last_offset_delta/);
});

test('record-batch: the gzip batch of capture 23 decodes to its records', () => {
  const [plain, gzipped, badCrc] = injectedBatches();
  const header = p.validateBatch(gzipped);
  assert.equal(header.compression, p.Compression.Gzip);
  assert.deepEqual(
    p.decodeRecords(gzipped).map((record) => ({ ...record, key: record.key?.toString(), value: record.value.toString() })),
    [
      { offset: 2, timestamp: 1795663359666, key: 'g1', value: 'gzipped1', headers: 0 },
      { offset: 3, timestamp: 1795663359666, key: 'g2', value: 'gzipped2', headers: 0 },
    ],
  );
  const [, nullKey] = p.decodeRecords(plain);
  assert.equal(nullKey.key, null);
  assert.equal(nullKey.value.toString(), 'plain2-nullkey');
  assert.throws(() => p.validateBatch(badCrc), /CRC mismatch/);
  assert.equal(p.decodeRecords(badCrc)[0].value.toString(), 'badcrc');
});

test('record-batch: encodeBatch reproduces the client-produced batches byte for byte', () => {
  const first = p.encodeBatch(
    [
      { key: Buffer.alloc(0), value: Buffer.from('hello'), timestampDelta: 0 },
      { key: Buffer.from('key1'), value: Buffer.from('value1'), timestampDelta: 1 },
    ],
    { firstTimestamp: 1795663359308 },
  );
  assert.deepEqual(first, producedBatch('flush'));

  const second = p.encodeBatch(
    [
      { key: Buffer.from('k2'), value: Buffer.from('v2') },
      { key: Buffer.from('k3'), value: Buffer.from('v3') },
    ],
    { firstTimestamp: 1795663359311 },
  );
  assert.deepEqual(second, producedBatch('flush2'));

  const live = p.encodeBatch([{ key: Buffer.from('live'), value: Buffer.from('pushed') }], { firstTimestamp: 1795663359314 });
  assert.deepEqual(live, producedBatch('send_live'));
});

test('record-batch: encodeBatch → decodeRecords round trip, plain and gzip', () => {
  const records = [
    { key: null, value: Buffer.from('no key') },
    { key: Buffer.from('k'), value: Buffer.alloc(0), timestampDelta: 5 },
    { value: Buffer.alloc(300, 7), timestampDelta: 70_000 },
    { key: Buffer.alloc(200, 1), value: Buffer.from('x'.repeat(20_000)), timestampDelta: 70_001 },
  ];
  for (const compression of [p.Compression.None, p.Compression.Gzip]) {
    const batch = p.encodeBatch(records, { baseOffset: 40, firstTimestamp: 1_000_000, compression });
    const header = p.validateBatch(batch);
    assert.equal(header.compression, compression);
    assert.equal(header.maxTimestamp, 1_070_001);
    const decoded = p.decodeRecords(batch);
    assert.deepEqual(
      decoded.map((record) => record.offset),
      [40, 41, 42, 43],
    );
    assert.deepEqual(
      decoded.map((record) => record.timestamp),
      [1_000_000, 1_000_005, 1_070_000, 1_070_001],
    );
    assert.deepEqual(
      decoded.map((record) => record.key),
      [null, Buffer.from('k'), null, Buffer.alloc(200, 1)],
    );
    assert.deepEqual(
      decoded.map((record) => record.value),
      records.map((record) => record.value),
    );
  }
  const empty = p.encodeBatch([], { firstTimestamp: 5 });
  assert.deepEqual(p.decodeRecords(empty), []);
});

test('record-batch: BatchBuilder writes strings and bytes in place, growing as needed, as encodeBatch does', () => {
  const deltas = [0, 1, -1, 63, 64, -65, 8191, 8192, 2 ** 30 - 1, 2 ** 30, -(2 ** 30) - 1, 1e12, -1e12];
  const records = deltas.map((timestampDelta, i) => ({
    key: i % 3 === 0 ? null : `clé-${i}-€`,
    value: i === 5 ? 'v'.repeat(70_000) : `valeur ${i} ✓`,
    timestampDelta,
  }));
  const builder = new p.BatchBuilder(1_700_000_000_000, 16);
  for (const record of records) {
    builder.add(
      record.key,
      record.key === null ? 0 : Buffer.byteLength(record.key),
      record.value,
      Buffer.byteLength(record.value),
      record.timestampDelta,
    );
  }
  assert.equal(builder.count, records.length);
  const expected = p.encodeBatch(
    records.map((record) => ({ key: record.key === null ? null : Buffer.from(record.key), value: Buffer.from(record.value), timestampDelta: record.timestampDelta })),
    { firstTimestamp: 1_700_000_000_000 },
  );
  const built = builder.finish();
  assert.equal(builder.length, built.length);
  assert.deepEqual(built, expected);
  p.validateBatch(built);
  const decoded = p.decodeRecords(built);
  assert.deepEqual(decoded.map((record) => record.value.toString()), records.map((record) => record.value));
  assert.deepEqual(decoded.map((record) => record.key?.toString() ?? null), records.map((record) => record.key));
  // An empty batch, as encodeBatch makes it.
  assert.deepEqual(new p.BatchBuilder(5).finish(), p.encodeBatch([], { firstTimestamp: 5 }));
});

test('record-batch: varintSize and writeVarint agree with Writer.varint', () => {
  const values = [0, 1, -1, 63, -64, 64, -65, 8191, 8192, 2 ** 20, -(2 ** 20), 2 ** 30 - 1, -(2 ** 30), 2 ** 30, -(2 ** 30) - 1, 2 ** 40, -(2 ** 45), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
  for (const value of values) {
    const expected = new p.Writer().varint(value).finish();
    const buf = Buffer.alloc(16);
    const end = p.writeVarint(buf, 1, value);
    assert.equal(end - 1, expected.length, `length of ${value}`);
    assert.equal(p.varintSize(value), expected.length, `size of ${value}`);
    assert.deepEqual(buf.subarray(1, end), expected, `bytes of ${value}`);
  }
  assert.throws(() => p.varintSize(2 ** 60), RangeError);
});

test('record-batch: splitRecordSet splits without copying and refuses torn batches', () => {
  const a = producedBatch('flush');
  const b = producedBatch('flush2');
  const set = Buffer.concat([a, b]);
  const parts = p.splitRecordSet(set);
  assert.deepEqual(parts, [a, b]);
  assert.equal(parts[1].buffer, set.buffer, 'subarrays share memory');
  assert.deepEqual(p.splitRecordSet(Buffer.alloc(0)), []);
  assert.throws(() => p.splitRecordSet(set.subarray(0, set.length - 1)), /truncated batch/);
  assert.throws(() => p.splitRecordSet(set.subarray(0, a.length + 5)), /truncated batch/);
  const tiny = Buffer.from(set);
  tiny.writeInt32BE(3, p.BatchOffset.batchLength);
  assert.throws(() => p.splitRecordSet(tiny), /below 45/);
  assert.deepEqual(p.splitRecordSetLenient(set.subarray(0, set.length - 1)), [a]);
  assert.deepEqual(p.splitRecordSetLenient(set.subarray(0, 30)), []);
});

test('record-batch: unregistered codecs fail clearly; registered ones are used', () => {
  const batch = Buffer.from(producedBatch('flush'));
  batch.writeInt16BE(p.Compression.Snappy, p.BatchOffset.attributes);
  assert.throws(() => p.decodeRecords(batch), /snappy compression, for which no codec is registered/);
  assert.throws(() => p.encodeBatch([{ value: Buffer.from('x') }], { compression: p.Compression.Zstd }), /zstd/);

  // A stand-in "codec" that reverses bytes, registered under id 7 (unused by Fluvio).
  const reverse = (data: Buffer) => Buffer.from(data).reverse();
  p.registerCompression(7, { compress: reverse, decompress: (data) => reverse(data) });
  const encoded = p.encodeBatch([{ key: Buffer.from('a'), value: Buffer.from('b') }], { compression: 7, firstTimestamp: 1 });
  assert.deepEqual(
    p.decodeRecords(encoded).map((record) => record.value.toString()),
    ['b'],
  );
  assert.throws(() => p.registerCompression(0, { compress: reverse, decompress: reverse }), RangeError);
});

test('record-batch: gzip decompression is bounded', () => {
  const limit = 1024 * 1024;
  const bomb = p.encodeBatch([{ value: Buffer.alloc(limit + 1024) }], { compression: p.Compression.Gzip, firstTimestamp: 1 });
  assert.ok(bomb.length < 16 * 1024, 'the bomb is small on the wire');
  assert.throws(() => p.decodeRecords(bomb, { maxDecompressedBytes: limit }), /cannot decompress gzip/);
  assert.equal(p.decodeRecords(bomb, { maxDecompressedBytes: 2 * limit })[0].value.length, limit + 1024);
});

test('record-batch: record decoding refuses absurd counts and lengths', () => {
  const batch = Buffer.from(producedBatch('flush'));
  const countAt = p.BATCH_HEADER_SIZE;
  const absurdCount = Buffer.from(batch);
  absurdCount.writeInt32BE(0x7fffffff, countAt);
  assert.throws(() => p.decodeRecords(absurdCount), /record count/);
  const absurdLength = Buffer.from(batch);
  absurdLength[countAt + 4] = 0xfe; // record length varint → 0x7f... continues
  absurdLength[countAt + 5] = 0xff;
  assert.throws(() => p.decodeRecords(absurdLength), p.BatchError);
  const schema = Buffer.from(batch);
  schema.writeInt16BE(p.ATTR_SCHEMA_ID_PRESENT, p.BatchOffset.attributes);
  assert.throws(() => p.decodeRecords(schema), p.BatchError);
});

test('record-batch: a schema id shifts the records by four bytes', () => {
  const plain = p.encodeBatch([{ key: Buffer.from('s'), value: Buffer.from('chema') }], { firstTimestamp: 9 });
  const withSchema = Buffer.concat([plain.subarray(0, p.BATCH_HEADER_SIZE), Buffer.from([0, 0, 0, 42]), plain.subarray(p.BATCH_HEADER_SIZE)]);
  withSchema.writeInt32BE(plain.length - p.BATCH_PREAMBLE_SIZE + 4, p.BatchOffset.batchLength);
  withSchema.writeInt16BE(p.ATTR_SCHEMA_ID_PRESENT, p.BatchOffset.attributes);
  withSchema.writeUInt32BE(p.computeBatchCrc(withSchema), p.BatchOffset.crc);
  const header = p.validateBatch(withSchema);
  assert.equal(header.hasSchemaId, true);
  assert.equal(p.recordsStart(header), 61);
  assert.equal(p.decodeRecords(withSchema)[0].value.toString(), 'chema');
});

test('record-batch: parseBatchHeader reads signed fields and refuses an i64 beyond the safe range', () => {
  const batch = p.encodeBatch([{ value: Buffer.from('x') }], { firstTimestamp: 1_700_000_000_000 });
  batch.writeInt16BE(-2, p.BatchOffset.producerEpoch);
  batch.writeInt32BE(-3, p.BatchOffset.partitionLeaderEpoch);
  const header = p.parseBatchHeader(batch, 0);
  assert.equal(header.producerEpoch, -2);
  assert.equal(header.partitionLeaderEpoch, -3);
  assert.equal(header.firstTimestamp, 1_700_000_000_000);
  assert.equal(header.totalLength, batch.length);
  const unsafe = Buffer.from(batch);
  unsafe.writeInt32BE(0x7fff_ffff, p.BatchOffset.maxTimestamp);
  assert.throws(() => p.parseBatchHeader(unsafe, 0), /batch max_time_stamp at offset 35 does not fit a safe integer/);
});
