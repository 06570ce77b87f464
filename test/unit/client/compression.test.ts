import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Compressor } from 'snappy';
import {
  buildBatch,
  decodeBatch,
  decompressSection,
  compressSection,
  lz4FrameCompress,
  lz4FrameDecompress,
  registerSyncCodecs,
  snappyFrameCompress,
  snappyFrameDecompress,
  snappyMaskedCrc,
} from '../../../src/protocol/compression.js';
import { Compression, decodeRecords, encodeBatch, validateBatch, BATCH_HEADER_SIZE } from '../../../src/protocol/record-batch.js';

registerSyncCodecs();

/** The same input through snap's own FrameEncoder (napi-rs snappy's streaming Compressor). */
async function snapFrameEncoder(data: Buffer): Promise<Buffer> {
  const compressor = new Compressor();
  const head = compressor.update(data);
  return Buffer.concat([head, await compressor.finish()]);
}

const FLUVIO_TEXT = Buffer.from('FLUVIO_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');

test('snappy framed output is byte for byte what snap FrameEncoder writes', async () => {
  // Fluvio's own test input: stream identifier, then one compressed chunk.
  const expected = Buffer.from('ff060000734e6150705900110000123755533c1c464c5556494f5f41ce0100', 'hex');
  assert.deepEqual(snappyFrameCompress(FLUVIO_TEXT), expected);
  const repetitive = Buffer.from('abcdefgh'.repeat(40_000)); // 320 000 bytes: 5 chunks, the last one short
  const random = randomBytes(70_000); // incompressible: uncompressed chunks
  const mixed = Buffer.concat([randomBytes(1000), repetitive.subarray(0, 100_000)]);
  for (const input of [repetitive, random, mixed, Buffer.from('x')]) {
    assert.deepEqual(snappyFrameCompress(input), await snapFrameEncoder(input), `${input.length} bytes`);
    assert.deepEqual(snappyFrameDecompress(snappyFrameCompress(input)), input);
  }
  assert.equal(snappyFrameCompress(random)[10], 0x01, 'incompressible data goes in an uncompressed chunk');
});

test('snappy framed decoding checks checksums, skips padding, refuses reserved chunks and bombs', () => {
  const framed = snappyFrameCompress(FLUVIO_TEXT);
  const padded = Buffer.concat([framed.subarray(0, 10), Buffer.from([0xfe, 2, 0, 0, 0, 0]), framed.subarray(10)]);
  assert.deepEqual(snappyFrameDecompress(padded), FLUVIO_TEXT);
  const corrupt = Buffer.from(framed);
  corrupt[framed.length - 1] ^= 0xff;
  assert.throws(() => snappyFrameDecompress(corrupt), /checksum|snappy/);
  assert.throws(() => snappyFrameDecompress(Buffer.concat([framed.subarray(0, 10), Buffer.from([0x02, 0, 0, 0])])), /reserved/);
  assert.throws(() => snappyFrameDecompress(framed.subarray(10)), /before the stream identifier/);
  // An uncompressed chunk built by hand decodes (known layout: type 1, length+4, masked CRC, data).
  const data = Buffer.from('hand made');
  const chunk = Buffer.alloc(8);
  chunk[0] = 1;
  chunk.writeUIntLE(data.length + 4, 1, 3);
  chunk.writeUInt32LE(snappyMaskedCrc(data), 4);
  assert.deepEqual(snappyFrameDecompress(Buffer.concat([framed.subarray(0, 10), chunk, data])), data);
  assert.throws(() => snappyFrameDecompress(snappyFrameCompress(Buffer.alloc(200_000)), 100_000), /inflates/);
});

test('lz4 frame: lz4_flex default frame header, round trip, and a hand-made frame decodes', () => {
  const frame = lz4FrameCompress(FLUVIO_TEXT);
  // magic 04 22 4d 18, FLG 0x60 (v1, independent blocks, no checksums, no size), BD 0x40 (64 KiB), HC 0x82
  assert.equal(frame.subarray(0, 7).toString('hex'), '04224d18604082');
  assert.deepEqual(lz4FrameDecompress(frame), FLUVIO_TEXT);
  const data = Buffer.from('stored, not compressed');
  const block = Buffer.alloc(4);
  block.writeUInt32LE((0x80000000 | data.length) >>> 0, 0); // high bit: uncompressed block
  const handMade = Buffer.concat([Buffer.from('04224d18604082', 'hex'), block, data, Buffer.alloc(4)]);
  assert.deepEqual(lz4FrameDecompress(handMade), data);
  const big = Buffer.from('0123456789'.repeat(30_000));
  assert.deepEqual(lz4FrameDecompress(lz4FrameCompress(big)), big);
});

test('zstd: level-1 frames round trip, and a frame without content size (as a stream encoder writes) decodes', async () => {
  const compressed = await compressSection(Compression.Zstd, FLUVIO_TEXT);
  assert.equal(compressed.readUInt32LE(0), 0xfd2fb528);
  assert.deepEqual(await decompressSection(Compression.Zstd, compressed), FLUVIO_TEXT);
  const raw = Buffer.from('raw block');
  const header = (raw.length << 3) | 1; // last block, type raw
  const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, header & 0xff, (header >> 8) & 0xff, header >> 16]), raw]);
  assert.deepEqual(await decompressSection(Compression.Zstd, frame), raw);
});

test('compressed batches: valid CRC and layout, records identical to the uncompressed batch', async () => {
  const records = Array.from({ length: 50 }, (_, i) => ({
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: Buffer.from(`value ${i} `.repeat(i + 1)),
    timestampDelta: i,
  }));
  const plain = encodeBatch(records, { firstTimestamp: 1_700_000_000_000 });
  const expected = decodeRecords(plain);
  for (const id of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
    const batch = await buildBatch(records, id, 1_700_000_000_000);
    const header = validateBatch(batch);
    assert.equal(header.compression, id);
    assert.equal(header.lastOffsetDelta, 49);
    if (id === Compression.None) assert.deepEqual(batch, plain);
    else assert.ok(batch.length < plain.length, `compression ${id} made it smaller`);
    // The compressed section is the i32 count plus the records, as Fluvio compresses it.
    if (id !== Compression.None) {
      assert.deepEqual(await decompressSection(id, batch.subarray(BATCH_HEADER_SIZE)), plain.subarray(BATCH_HEADER_SIZE));
    }
    assert.deepEqual(await decodeBatch(batch), expected);
  }
});
