// Kafka's records inside a magic-2 batch, and the conversion between them and
// Fluvio's records on one stored log.
//
// Both protocols share the batch header (src/protocol/record-batch.ts); the
// records inside differ:
//
//   Kafka record                               Fluvio record
//     length           varint                    same
//     attributes       i8                        same
//     timestamp_delta  varlong                   same
//     offset_delta     varint                    same
//     key              varint length (-1 null)   u8 presence tag, then varint length
//     value            varint length (-1 null)   varint length (never null)
//     headers          varint count, then        varint count only; no content
//                      [key_len varint, key, value_len varint (-1 null), value]
//
//   and, compressed, Kafka keeps the i32 record count outside the compressed
//   bytes (Fluvio compresses it with the records); Kafka's snappy is raw snappy
//   blocks (optionally in xerial framing), Fluvio's is the framed format.
//
// A stored batch says which records it holds by its partition_leader_epoch
// (outside the CRC, like base_offset): the Kafka listener stamps the batches it
// stores with epoch 0 (this single leader's epoch), Fluvio producers write -1.
// Each protocol serves its own batches as stored and converts the other's,
// per batch, on the read path. Kafka headers do not survive to Fluvio readers
// (Fluvio records cannot carry them); keys, values and timestamps do.

import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { DecodeError, Reader } from '../codec.js';
import { decodeBatch, decompressSection } from '../compression.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_PREAMBLE_SIZE,
  BATCH_MAGIC,
  BatchError,
  BatchOffset,
  Compression,
  MAX_DECOMPRESSED_BATCH_BYTES,
  computeBatchCrc,
  encodeBatch,
  parseBatchHeader,
  setBaseOffset,
  splitRecordSetLenient,
  varintSize,
  writeVarint,
  type BatchHeader,
} from '../record-batch.js';

/** The partition_leader_epoch of batches stored by the Kafka listener. */
export const KAFKA_LEADER_EPOCH = 0;

/** Kafka attribute bits this listener refuses to store: transactional (0x10) and control (0x20) batches. */
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

export function holdsKafkaRecords(batch: Buffer): boolean {
  return batch.readInt32BE(BatchOffset.partitionLeaderEpoch) >= 0;
}

/** Marks a batch received from a Kafka producer; the CRC does not cover the field. */
export function markKafkaRecords(batch: Buffer): void {
  batch.writeInt32BE(KAFKA_LEADER_EPOCH, BatchOffset.partitionLeaderEpoch);
}

export interface KafkaHeader {
  key: string;
  value: Buffer | null;
}

export interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaHeader[];
}

export interface KafkaRecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: readonly KafkaHeader[];
  timestampDelta?: number;
}

// --- decoding -----------------------------------------------------------------

// Loaded on first use, as src/protocol/compression.ts loads its codecs: a
// node that never sees a snappy batch does not hold the library.
const require = createRequire(import.meta.url);
let snappyCodec: typeof import('snappy') | undefined;
const snappyRawUncompress = (data: Buffer): Buffer => (snappyCodec ??= require('snappy') as typeof import('snappy')).uncompressSync(data) as Buffer;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

/** Kafka's snappy: raw snappy, or raw snappy blocks in xerial framing (Java clients, kafkajs). */
function kafkaSnappyUncompress(data: Buffer, maxOutputLength: number): Buffer {
  if (data.length < XERIAL_HEADER_SIZE || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    const out = snappyRawUncompress(data) as Buffer;
    if (out.length > maxOutputLength) throw new BatchError(`snappy data inflates beyond ${maxOutputLength} bytes`);
    return out;
  }
  const blocks: Buffer[] = [];
  let total = 0;
  const r = new Reader(data, XERIAL_HEADER_SIZE);
  while (r.remaining() > 0) {
    const block = snappyRawUncompress(r.raw(r.i32('xerial block length'), 'xerial block')) as Buffer;
    total += block.length;
    if (total > maxOutputLength) throw new BatchError(`snappy data inflates beyond ${maxOutputLength} bytes`);
    blocks.push(block);
  }
  return Buffer.concat(blocks, total);
}

async function kafkaRecordBytes(batch: Buffer, header: BatchHeader, maxOutputLength: number): Promise<Buffer> {
  const compressed = batch.subarray(BATCH_HEADER_SIZE + 4, header.totalLength);
  try {
    switch (header.compression) {
      case Compression.None:
        return compressed;
      case Compression.Gzip:
        return gunzipSync(compressed, { maxOutputLength });
      case Compression.Snappy:
        return kafkaSnappyUncompress(compressed, maxOutputLength);
      default:
        return await decompressSection(header.compression, compressed, maxOutputLength);
    }
  } catch (err) {
    if (err instanceof BatchError) throw err;
    throw new BatchError(`cannot decompress Kafka records (compression ${header.compression}): ${(err as Error).message}`);
  }
}

function readNullable(r: Reader, field: string): Buffer | null {
  const length = r.varint(`${field} length`);
  if (length < -1) throw new DecodeError(`${field} has an invalid length ${length}`);
  return length === -1 ? null : r.raw(length, field);
}

/** Decodes the Kafka records of a batch (any compression Kafka clients use). Does not check the CRC. */
export async function decodeKafkaBatch(batch: Buffer, maxOutputLength = MAX_DECOMPRESSED_BATCH_BYTES): Promise<KafkaRecord[]> {
  const header = parseBatchHeader(batch, 0);
  if (header.magic !== BATCH_MAGIC) throw new BatchError(`batch magic is ${header.magic}, expected ${BATCH_MAGIC}`);
  if (header.totalLength > batch.length || header.totalLength < BATCH_HEADER_SIZE + 4) {
    throw new BatchError(`batch of ${batch.length} bytes does not hold its ${header.totalLength}-byte length and record count`);
  }
  const count = batch.readInt32BE(BATCH_HEADER_SIZE);
  const bytes = await kafkaRecordBytes(batch, header, maxOutputLength);
  const r = new Reader(bytes);
  const records: KafkaRecord[] = [];
  try {
    if (count < 0 || count * 7 > bytes.length) throw new DecodeError(`record count ${count} cannot fit in ${bytes.length} byte(s)`);
    for (let i = 0; i < count; i++) {
      const length = r.varint(`record ${i} length`);
      if (length < 0) throw new DecodeError(`record ${i} has a negative length ${length}`);
      const body = r.sub(length, `record ${i}`);
      body.i8(`record ${i} attributes`);
      const timestampDelta = body.varint(`record ${i} timestamp_delta`);
      const offsetDelta = body.varint(`record ${i} offset_delta`);
      const key = readNullable(body, `record ${i} key`);
      const value = readNullable(body, `record ${i} value`);
      const headerCount = body.varint(`record ${i} header count`);
      if (headerCount < 0 || headerCount * 2 > body.remaining()) throw new DecodeError(`record ${i} header count ${headerCount} is impossible`);
      const headers: KafkaHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const headerKey = readNullable(body, `record ${i} header ${h} key`);
        if (headerKey === null) throw new DecodeError(`record ${i} header ${h} has a null key`);
        headers.push({ key: headerKey.toString('utf8'), value: readNullable(body, `record ${i} header ${h} value`) });
      }
      body.expectEnd(`record ${i}`);
      records.push({ offset: header.baseOffset + offsetDelta, timestamp: header.firstTimestamp + timestampDelta, key, value, headers });
    }
  } catch (err) {
    if (err instanceof DecodeError && !(err instanceof BatchError)) throw new BatchError(`malformed Kafka records: ${err.message}`, { cause: err });
    throw err;
  }
  return records;
}

// --- encoding -----------------------------------------------------------------

export interface KafkaBatchOptions {
  baseOffset?: number;
  firstTimestamp: number;
  /** Defaults to first_timestamp + the largest delta. */
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Offset deltas; defaults to 0, 1, 2… */
  offsetDeltas?: readonly number[];
  lastOffsetDelta?: number;
}

const nullableSize = (data: Buffer | null | undefined): number => (data === null || data === undefined ? 1 : varintSize(data.length) + data.length);

function writeNullable(buf: Buffer, pos: number, data: Buffer | null | undefined): number {
  if (data === null || data === undefined) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, data.length);
  data.copy(buf, pos);
  return pos + data.length;
}

/**
 * An uncompressed batch of Kafka records, stamped as the Kafka listener
 * stores them. Two passes over the records (sizes, then bytes) into one
 * buffer: this is the conversion path for every Fluvio batch a Kafka client reads.
 */
export function encodeKafkaBatch(records: readonly KafkaRecordInput[], opts: KafkaBatchOptions): Buffer {
  const headerKeys = records.map((record) => (record.headers ?? []).map((header) => Buffer.from(header.key, 'utf8')));
  const bodySizes = new Array<number>(records.length);
  let total = BATCH_HEADER_SIZE + 4;
  let maxDelta = 0;
  records.forEach((record, index) => {
    const delta = record.timestampDelta ?? 0;
    if (delta > maxDelta) maxDelta = delta;
    const headers = record.headers ?? [];
    let size = 1 + varintSize(delta) + varintSize(opts.offsetDeltas?.[index] ?? index) + nullableSize(record.key) + nullableSize(record.value) + varintSize(headers.length);
    headers.forEach((header, h) => (size += nullableSize(headerKeys[index][h]) + nullableSize(header.value)));
    bodySizes[index] = size;
    total += varintSize(size) + size;
  });
  const batch = Buffer.allocUnsafe(total);
  let pos = BATCH_HEADER_SIZE;
  batch.writeInt32BE(records.length, pos);
  pos += 4;
  records.forEach((record, index) => {
    pos = writeVarint(batch, pos, bodySizes[index]);
    batch[pos++] = 0;
    pos = writeVarint(batch, pos, record.timestampDelta ?? 0);
    pos = writeVarint(batch, pos, opts.offsetDeltas?.[index] ?? index);
    pos = writeNullable(batch, pos, record.key);
    pos = writeNullable(batch, pos, record.value);
    const headers = record.headers ?? [];
    pos = writeVarint(batch, pos, headers.length);
    headers.forEach((header, h) => {
      pos = writeNullable(batch, pos, headerKeys[index][h]);
      pos = writeNullable(batch, pos, header.value);
    });
  });
  setBaseOffset(batch, opts.baseOffset ?? 0);
  batch.writeInt32BE(total - BATCH_PREAMBLE_SIZE, BatchOffset.batchLength);
  batch.writeInt32BE(KAFKA_LEADER_EPOCH, BatchOffset.partitionLeaderEpoch);
  batch.writeInt8(BATCH_MAGIC, BatchOffset.magic);
  batch.writeInt16BE(0, BatchOffset.attributes);
  batch.writeInt32BE(opts.lastOffsetDelta ?? Math.max(records.length - 1, 0), BatchOffset.lastOffsetDelta);
  writeI64(batch, opts.firstTimestamp, BatchOffset.firstTimestamp);
  writeI64(batch, opts.maxTimestamp ?? opts.firstTimestamp + maxDelta, BatchOffset.maxTimestamp);
  writeI64(batch, opts.producerId ?? -1, BatchOffset.producerId);
  batch.writeInt16BE(opts.producerEpoch ?? -1, BatchOffset.producerEpoch);
  batch.writeInt32BE(opts.baseSequence ?? -1, BatchOffset.firstSequence);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchOffset.crc);
  return batch;
}

function writeI64(buf: Buffer, value: number, offset: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(high, offset);
  buf.writeUInt32BE(value - high * 0x1_0000_0000, offset + 4);
}

// --- conversion ---------------------------------------------------------------

/**
 * A stored batch as a Fluvio reader expects it: the batch itself when it holds
 * Fluvio records, else the same records (offsets, keys, values, timestamps)
 * re-encoded uncompressed in Fluvio's record format.
 */
export async function asFluvioBatch(batch: Buffer): Promise<Buffer> {
  if (!holdsKafkaRecords(batch)) return batch;
  const header = parseBatchHeader(batch, 0);
  const records = await decodeKafkaBatch(batch);
  const converted = encodeBatch(
    records.map((record) => ({
      key: record.key,
      value: record.value ?? Buffer.alloc(0),
      timestampDelta: record.timestamp - header.firstTimestamp,
    })),
    { baseOffset: header.baseOffset, firstTimestamp: header.firstTimestamp },
  );
  // Offsets are base + position in Fluvio's reading; a Kafka batch with gaps
  // (compacted) keeps its span through last_offset_delta.
  converted.writeInt32BE(header.lastOffsetDelta, BatchOffset.lastOffsetDelta);
  converted.writeUInt32BE(computeBatchCrc(converted), BatchOffset.crc);
  return converted;
}

/** A stored batch as a Kafka reader expects it (the inverse of asFluvioBatch). */
export async function asKafkaBatch(batch: Buffer): Promise<Buffer> {
  if (holdsKafkaRecords(batch)) return batch;
  const header = parseBatchHeader(batch, 0);
  const records = await decodeBatch(batch);
  const first = header.firstTimestamp;
  return encodeKafkaBatch(
    records.map((record) => ({
      key: record.key,
      value: record.value,
      timestampDelta: record.timestamp >= 0 && first > 0 ? record.timestamp - first : 0,
    })),
    {
      baseOffset: header.baseOffset,
      firstTimestamp: first > 0 ? first : -1,
      maxTimestamp: header.maxTimestamp > 0 ? header.maxTimestamp : -1,
      offsetDeltas: records.map((record) => record.offset - header.baseOffset),
      lastOffsetDelta: header.lastOffsetDelta,
    },
  );
}

/**
 * A read result (stored batches, one or more per chunk) as one protocol's
 * readers expect it: chunks whose batches need nothing are passed through,
 * as they were stored.
 */
async function convertChunks(chunks: Buffer[], foreign: (batch: Buffer) => boolean, convert: (batch: Buffer) => Promise<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    const batches = splitRecordSetLenient(chunk);
    if (!batches.some(foreign)) {
      out.push(chunk);
      continue;
    }
    for (const batch of batches) out.push(foreign(batch) ? await convert(batch) : batch);
  }
  return out;
}

export function asFluvioBatches(chunks: Buffer[]): Promise<Buffer[]> {
  return convertChunks(chunks, holdsKafkaRecords, asFluvioBatch);
}

export function asKafkaBatches(chunks: Buffer[]): Promise<Buffer[]> {
  return convertChunks(chunks, (batch) => !holdsKafkaRecords(batch), asKafkaBatch);
}
