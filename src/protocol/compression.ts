// Record batch compression, byte-compatible with Fluvio's codecs
// (crates/fluvio-compression):
//
//   gzip    flate2 GzEncoder                 (node:zlib, registered by src/protocol)
//   snappy  snap FrameEncoder: the FRAMED format (stream identifier, then chunks
//           of at most 64 KiB, each compressed unless that saves less than 1/8,
//           with the masked CRC-32C of the uncompressed chunk)
//   lz4     lz4_flex FrameEncoder: the lz4 FRAME format, default frame info
//           (the same library, through lz4-napi)
//   zstd    zstd stream Encoder at level 1 (libzstd, through @mongodb-js/zstd)
//
// In a batch, the compressed section is the i32 record count plus the
// records. snappy and lz4 have synchronous codecs and are registered into the
// record-batch registry (so decodeRecords handles them); zstd's binding is
// asynchronous only, so the client compresses and decompresses through the
// async functions here, which cover every codec.

import { crc32c } from '@node-rs/crc32';
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BATCH_HEADER_SIZE,
  BATCH_LEN_MIN,
  BatchError,
  BatchOffset,
  Compression,
  MAX_DECOMPRESSED_BATCH_BYTES,
  computeBatchCrc,
  decodeRecords,
  encodeBatch,
  parseBatchHeader,
  recordsStart,
  registerCompression,
  type Record as BatchRecord,
  type RecordInput,
} from './record-batch.js';

// The native codecs are loaded on first use: a node that never sees a
// snappy, lz4 or zstd batch does not hold their libraries (about 10 MiB).
const require = createRequire(import.meta.url);
let snappyCodec: typeof import('snappy') | undefined;
let lz4Codec: typeof import('lz4-napi') | undefined;
let zstdCodec: typeof import('@mongodb-js/zstd') | undefined;
const snappy = () => (snappyCodec ??= require('snappy') as typeof import('snappy'));
const lz4 = () => (lz4Codec ??= require('lz4-napi') as typeof import('lz4-napi'));
const zstd = () => (zstdCodec ??= require('@mongodb-js/zstd') as typeof import('@mongodb-js/zstd'));

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_IDS: Readonly<{ [K in CompressionName]: number }> = Object.freeze({
  none: Compression.None,
  gzip: Compression.Gzip,
  snappy: Compression.Snappy,
  lz4: Compression.Lz4,
  zstd: Compression.Zstd,
});

export function compressionId(name: CompressionName | string): number {
  const id = (COMPRESSION_IDS as { [key: string]: number })[name.toLowerCase()];
  if (id === undefined) throw new RangeError(`unknown compression "${name}" (use none, gzip, snappy, lz4 or zstd)`);
  return id;
}

// --- snappy framed format --------------------------------------------------

const SNAPPY_STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const SNAPPY_MAX_BLOCK = 65536;
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_PADDING = 0xfe;
const CHUNK_STREAM_IDENTIFIER = 0xff;

/** CRC-32C masked as the snappy framing format (and snap) requires. */
export function snappyMaskedCrc(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Snappy framed format, chunk for chunk as snap's FrameEncoder writes one write_all of `data`. */
export function snappyFrameCompress(data: Buffer): Buffer {
  if (data.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [SNAPPY_STREAM_IDENTIFIER];
  for (let pos = 0; pos < data.length; pos += SNAPPY_MAX_BLOCK) {
    const block = data.subarray(pos, Math.min(pos + SNAPPY_MAX_BLOCK, data.length));
    const compressed = snappy().compressSync(block);
    const useCompressed = compressed.length < block.length - Math.floor(block.length / 8);
    const payload = useCompressed ? compressed : block;
    const header = Buffer.allocUnsafe(8);
    header[0] = useCompressed ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED;
    header.writeUIntLE(payload.length + 4, 1, 3);
    header.writeUInt32LE(snappyMaskedCrc(block), 4);
    parts.push(header, payload);
  }
  return Buffer.concat(parts);
}

/** The uncompressed length a raw snappy block declares (its varint preamble). */
function snappyDeclaredLength(block: Buffer): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i];
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value;
    scale *= 128;
  }
  throw new BatchError('snappy chunk has a malformed length preamble');
}

export function snappyFrameDecompress(data: Buffer, maxOutputLength = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let pos = 0;
  let sawIdentifier = false;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new BatchError(`truncated snappy chunk header at ${pos}`);
    const type = data[pos];
    const length = data.readUIntLE(pos + 1, 3);
    pos += 4;
    if (data.length - pos < length) throw new BatchError(`truncated snappy chunk at ${pos}: needs ${length} bytes`);
    const body = data.subarray(pos, pos + length);
    pos += length;
    if (type === CHUNK_STREAM_IDENTIFIER) {
      if (!body.equals(SNAPPY_STREAM_IDENTIFIER.subarray(4))) throw new BatchError('bad snappy stream identifier');
      sawIdentifier = true;
      continue;
    }
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (!sawIdentifier) throw new BatchError('snappy data chunk before the stream identifier');
      if (body.length < 4) throw new BatchError('snappy chunk too short for its checksum');
      const checksum = body.readUInt32LE(0);
      let block = body.subarray(4);
      if (type === CHUNK_COMPRESSED) {
        const declared = snappyDeclaredLength(block);
        if (declared > SNAPPY_MAX_BLOCK) throw new BatchError(`snappy chunk declares ${declared} bytes, above the 64 KiB block limit`);
        if (total + declared > maxOutputLength) throw new BatchError(`snappy data inflates beyond ${maxOutputLength} bytes`);
        block = snappy().uncompressSync(block, { asBuffer: true }) as Buffer;
      } else if (block.length > SNAPPY_MAX_BLOCK) {
        throw new BatchError(`uncompressed snappy chunk of ${block.length} bytes is above the 64 KiB block limit`);
      }
      if (snappyMaskedCrc(block) !== checksum) throw new BatchError('snappy chunk checksum mismatch');
      total += block.length;
      if (total > maxOutputLength) throw new BatchError(`snappy data inflates beyond ${maxOutputLength} bytes`);
      out.push(block);
      continue;
    }
    if (type === CHUNK_PADDING || (type >= 0x80 && type <= 0xfd)) continue; // skippable
    throw new BatchError(`reserved unskippable snappy chunk type 0x${type.toString(16)}`);
  }
  return Buffer.concat(out, total);
}

// --- lz4 frame format ------------------------------------------------------

export function lz4FrameCompress(data: Buffer): Buffer {
  return lz4().compressFrameSync(data);
}

export function lz4FrameDecompress(data: Buffer, maxOutputLength = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  const out = lz4().decompressFrameSync(data);
  if (out.length > maxOutputLength) throw new BatchError(`lz4 data inflates beyond ${maxOutputLength} bytes`);
  return out;
}

// --- registry --------------------------------------------------------------

let registered = false;

/** Installs the synchronous snappy (framed) and lz4 (frame) codecs into src/protocol. Idempotent. */
export function registerSyncCodecs(): void {
  if (registered) return;
  registered = true;
  registerCompression(Compression.Snappy, { compress: snappyFrameCompress, decompress: snappyFrameDecompress });
  registerCompression(Compression.Lz4, { compress: lz4FrameCompress, decompress: lz4FrameDecompress });
}

/** Compresses a batch's records section with any codec (zstd at level 1, as Fluvio). */
export async function compressSection(id: number, data: Buffer): Promise<Buffer> {
  switch (id) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gzipSync(data);
    case Compression.Snappy:
      return snappyFrameCompress(data);
    case Compression.Lz4:
      return lz4FrameCompress(data);
    case Compression.Zstd:
      return zstd().compress(data, 1);
    default:
      throw new RangeError(`unknown compression id ${id}`);
  }
}

export async function decompressSection(id: number, data: Buffer, maxOutputLength = MAX_DECOMPRESSED_BATCH_BYTES): Promise<Buffer> {
  switch (id) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gunzipSync(data, { maxOutputLength });
    case Compression.Snappy:
      return snappyFrameDecompress(data, maxOutputLength);
    case Compression.Lz4:
      return lz4FrameDecompress(data, maxOutputLength);
    case Compression.Zstd: {
      const out = await zstd().decompress(data);
      if (out.length > maxOutputLength) throw new BatchError(`zstd data inflates beyond ${maxOutputLength} bytes`);
      return out;
    }
    default:
      throw new BatchError(`batch uses unknown compression ${id}`);
  }
}

/** Builds a batch as Fluvio's producer does, compressing its records section with `compression`. */
export async function buildBatch(records: readonly RecordInput[], compression: number, firstTimestamp: number): Promise<Buffer> {
  return compressBatch(encodeBatch(records, { firstTimestamp, compression: Compression.None }), compression);
}

/**
 * Compresses an uncompressed batch (as encodeBatch or BatchBuilder.finish
 * make it): its records section with `compression`, the header copied with
 * the compression attribute, batch_len and CRC updated. Synchronous for every
 * codec but zstd, whose binding is asynchronous only (then a promise).
 */
export function compressBatch(plain: Buffer, compression: number): Buffer | Promise<Buffer> {
  switch (compression) {
    case Compression.None:
      return plain;
    case Compression.Gzip:
      return wrapCompressed(plain, compression, gzipSync(plain.subarray(BATCH_HEADER_SIZE)));
    case Compression.Snappy:
      return wrapCompressed(plain, compression, snappyFrameCompress(plain.subarray(BATCH_HEADER_SIZE)));
    case Compression.Lz4:
      return wrapCompressed(plain, compression, lz4FrameCompress(plain.subarray(BATCH_HEADER_SIZE)));
    case Compression.Zstd:
      return zstd().compress(plain.subarray(BATCH_HEADER_SIZE), 1).then((section) => wrapCompressed(plain, compression, section));
    default:
      throw new RangeError(`unknown compression id ${compression}`);
  }
}

function wrapCompressed(plain: Buffer, compression: number, section: Buffer): Buffer {
  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + section.length);
  plain.copy(batch, 0, 0, BATCH_HEADER_SIZE);
  section.copy(batch, BATCH_HEADER_SIZE);
  batch.writeInt32BE(BATCH_LEN_MIN + section.length, BatchOffset.batchLength);
  batch.writeInt16BE(compression, BatchOffset.attributes);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchOffset.crc);
  return batch;
}

/** Decodes a batch's records whatever its compression (offsets and timestamps as Fluvio computes them). */
export async function decodeBatch(batch: Buffer, maxDecompressedBytes = MAX_DECOMPRESSED_BATCH_BYTES): Promise<BatchRecord[]> {
  const header = parseBatchHeader(batch, 0);
  if (header.compression !== Compression.Zstd) return decodeRecords(batch, { maxDecompressedBytes });
  if (header.totalLength > batch.length) throw new BatchError(`truncated batch: batch_len says ${header.totalLength} bytes`);
  const start = recordsStart(header);
  let section: Buffer;
  try {
    section = await decompressSection(header.compression, batch.subarray(start, header.totalLength), maxDecompressedBytes);
  } catch (err) {
    if (err instanceof BatchError) throw err;
    throw new BatchError(`cannot decompress zstd records: ${(err as Error).message}`);
  }
  const plain = Buffer.allocUnsafe(start + section.length);
  batch.copy(plain, 0, 0, start);
  section.copy(plain, start);
  plain.writeInt32BE(start - 12 + section.length, BatchOffset.batchLength);
  plain.writeInt16BE(header.attributes & ~0x07, BatchOffset.attributes);
  return decodeRecords(plain, { maxDecompressedBytes });
}
