// Fluvio record batch (Kafka "magic 2" layout with Fluvio's differences):
//
//   off  field                   type
//   0    base_offset             i64   the server assigns it; outside the CRC
//   8    batch_len               i32   bytes after this field = 45 + records (+4 with schema id)
//   12   partition_leader_epoch  i32   -1
//   16   magic                   i8    2
//   17   crc                     u32   CRC-32C over bytes 21 .. end of batch
//   21   attributes              i16   bits 0-2 compression, bit 4 (0x10) schema id present
//   23   last_offset_delta       i32   record count - 1
//   27   first_timestamp         i64   ms
//   35   max_time_stamp          i64   ms
//   43   producer_id             i64   -1
//   51   producer_epoch          i16   -1
//   53   first_sequence          i32   -1
//   57   schema_id               u32   only with attribute 0x10
//   57|61 records                      i32 count + records; when compressed, the
//                                      count AND the records are compressed together
//
//   Record:
//     length           varint  bytes of the rest of the record
//     attributes       i8      0
//     timestamp_delta  varint
//     offset_delta     varint
//     key              Option: u8 tag, then varint length + bytes (not Kafka's -1 length)
//     value            varint length + bytes
//     headers          varint  a count only; Fluvio carries no header content
//
// A RecordSet on the wire is `i32 length` + concatenated batches. Batches are
// stored verbatim: the server only rewrites base_offset, which the CRC does
// not cover, so producers' CRCs stay valid.

import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { DecodeError, Reader } from './codec.js';

/** A malformed or corrupt record batch. */
export class BatchError extends DecodeError {
  override name = 'BatchError';
}

export const BatchOffset = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  firstTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  firstSequence: 53,
  /** schema_id when present, else the records. */
  afterHeader: 57,
} as const;

/** base_offset + batch_len: the bytes that batch_len does not count. */
export const BATCH_PREAMBLE_SIZE = 12;
/** Bytes from the start of a batch to its records, without a schema id (Fluvio's BATCH_FILE_HEADER_SIZE). */
export const BATCH_HEADER_SIZE = 57;
/** The smallest valid batch_len: the header after batch_len, without records (Fluvio's BATCH_HEADER_SIZE). */
export const BATCH_LEN_MIN = BATCH_HEADER_SIZE - BATCH_PREAMBLE_SIZE;
/** First byte covered by the CRC. */
export const CRC_START = BatchOffset.attributes;
export const BATCH_MAGIC = 2;
export const SCHEMA_ID_SIZE = 4;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_SCHEMA_ID_PRESENT = 0x10;

export const Compression = {
  None: 0,
  Gzip: 1,
  Snappy: 2,
  Lz4: 3,
  Zstd: 4,
} as const;

const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Timestamps at or below 0 mean "no timestamp" to Fluvio consumers. */
export const NO_TIMESTAMP = -1;

/** Upper bound for one batch's records once decompressed; keeps a zip bomb from exhausting memory. */
export const MAX_DECOMPRESSED_BATCH_BYTES = 64 * 1024 * 1024;

// Lengths, one name each everywhere: `batchLength` is the on-wire batch_len
// field (the bytes after it); `totalLength` is the whole batch as stored and
// sent, BATCH_PREAMBLE_SIZE + batchLength.

export interface BatchHeader {
  baseOffset: number;
  /** The whole batch: BATCH_PREAMBLE_SIZE + batch_len. */
  totalLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  attributes: number;
  compression: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  firstSequence: number;
  crc: number;
  hasSchemaId: boolean;
}

/**
 * Reads the fixed header of the batch that starts at `pos`; does not look at
 * the records. Throws BatchError when fewer than BATCH_HEADER_SIZE bytes are
 * there or an i64 field does not fit a safe integer.
 */
export function parseBatchHeader(buf: Buffer, pos: number): BatchHeader {
  if (buf.length - pos < BATCH_HEADER_SIZE) {
    throw new BatchError(`truncated batch header: ${buf.length - pos} byte(s) at ${pos}, need ${BATCH_HEADER_SIZE}`);
  }
  // The length is checked once above, so the fields are read byte-wise
  // (every header of every read passes here; Buffer's readers check bounds each time).
  const attributes = i16At(buf, pos + BatchOffset.attributes);
  return {
    baseOffset: safeI64At(buf, pos, BatchOffset.baseOffset, 'base_offset'),
    totalLength: BATCH_PREAMBLE_SIZE + i32At(buf, pos + BatchOffset.batchLength),
    partitionLeaderEpoch: i32At(buf, pos + BatchOffset.partitionLeaderEpoch),
    magic: (buf[pos + BatchOffset.magic] << 24) >> 24,
    attributes,
    compression: attributes & ATTR_COMPRESSION_MASK,
    lastOffsetDelta: i32At(buf, pos + BatchOffset.lastOffsetDelta),
    firstTimestamp: safeI64At(buf, pos, BatchOffset.firstTimestamp, 'first_timestamp'),
    maxTimestamp: safeI64At(buf, pos, BatchOffset.maxTimestamp, 'max_time_stamp'),
    producerId: safeI64At(buf, pos, BatchOffset.producerId, 'producer_id'),
    producerEpoch: i16At(buf, pos + BatchOffset.producerEpoch),
    firstSequence: i32At(buf, pos + BatchOffset.firstSequence),
    crc: i32At(buf, pos + BatchOffset.crc) >>> 0,
    hasSchemaId: (attributes & ATTR_SCHEMA_ID_PRESENT) !== 0,
  };
}

/** A big-endian i32 at `at`; the caller has checked that the 4 bytes are there. */
function i32At(buf: Buffer, at: number): number {
  return (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
}

function i16At(buf: Buffer, at: number): number {
  return (((buf[at] << 8) | buf[at + 1]) << 16) >> 16;
}

function safeI64At(buf: Buffer, batchStart: number, fieldOffset: number, field: string): number {
  const at = batchStart + fieldOffset;
  const value = i32At(buf, at) * 0x1_0000_0000 + (i32At(buf, at + 4) >>> 0);
  if (!Number.isSafeInteger(value)) {
    throw new BatchError(`batch ${field} at offset ${at} does not fit a safe integer`);
  }
  return value;
}

/** A big-endian i64 as a number (inexact beyond 2^53; callers needing exactness check Number.isSafeInteger). */
export function readI64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

/** The batch_len field of the batch at `pos` (the caller ensures its 12-byte preamble is there). */
function readBatchLength(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BatchOffset.batchLength);
}

/** Offset of the records section (after the schema id when there is one). */
export function recordsStart(header: BatchHeader): number {
  return BATCH_HEADER_SIZE + (header.hasSchemaId ? SCHEMA_ID_SIZE : 0);
}

export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

/**
 * Checks one whole batch (as split by splitRecordSet): magic 2, batch_len
 * consistent with the buffer, a known compression, a sane record count, and
 * the CRC. Throws BatchError with the reason; returns the parsed header.
 */
export function validateBatch(batch: Buffer): BatchHeader {
  const header = parseBatchHeader(batch, 0);
  if (header.magic !== BATCH_MAGIC) throw new BatchError(`batch magic is ${header.magic}, expected ${BATCH_MAGIC}`);
  if (header.totalLength !== batch.length) {
    throw new BatchError(`batch_len says ${header.totalLength} bytes in total but the batch has ${batch.length}`);
  }
  const start = recordsStart(header);
  if (batch.length < start) throw new BatchError(`batch of ${batch.length} bytes is too short for its schema id`);
  if (header.compression >= COMPRESSION_NAMES.length) {
    throw new BatchError(`batch attributes name unknown compression ${header.compression}`);
  }
  if (header.lastOffsetDelta < 0) throw new BatchError(`batch last_offset_delta ${header.lastOffsetDelta} is negative`);
  if (header.compression === Compression.None) {
    if (batch.length - start < 4) throw new BatchError('batch has no record count');
    const count = batch.readInt32BE(start);
    if (count !== header.lastOffsetDelta + 1) {
      throw new BatchError(`batch holds ${count} record(s) but last_offset_delta says ${header.lastOffsetDelta + 1}`);
    }
  }
  const crc = computeBatchCrc(batch);
  if (crc !== header.crc) {
    throw new BatchError(
      `batch CRC mismatch: header says 0x${header.crc.toString(16)}, content has 0x${crc.toString(16)}`,
    );
  }
  return header;
}

/**
 * Splits concatenated batches (a RecordSet without its length prefix) into
 * subarrays, without copying. A torn or impossible batch is an error: a
 * produce carrying one must be refused as a whole.
 */
export function splitRecordSet(buf: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < BATCH_PREAMBLE_SIZE) {
      throw new BatchError(`truncated batch at ${pos}: ${remaining} byte(s) left, need ${BATCH_PREAMBLE_SIZE}`);
    }
    const batchLength = readBatchLength(buf, pos);
    if (batchLength < BATCH_LEN_MIN) {
      throw new BatchError(`batch at ${pos} has batch_len ${batchLength}, below ${BATCH_LEN_MIN}`);
    }
    const totalLength = BATCH_PREAMBLE_SIZE + batchLength;
    if (totalLength > remaining) {
      throw new BatchError(`truncated batch at ${pos}: needs ${totalLength} bytes, ${remaining} left`);
    }
    batches.push(buf.subarray(pos, pos + totalLength));
    pos += totalLength;
  }
  return batches;
}

/**
 * The client's reading of a RecordSet: whole batches up to the first one that
 * is torn or malformed, where it stops quietly (as Fluvio's decoder does).
 */
export function splitRecordSetLenient(buf: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let pos = 0;
  while (buf.length - pos >= BATCH_HEADER_SIZE) {
    const batchLength = readBatchLength(buf, pos);
    const totalLength = BATCH_PREAMBLE_SIZE + batchLength;
    if (batchLength < BATCH_LEN_MIN || totalLength > buf.length - pos) break;
    batches.push(buf.subarray(pos, pos + totalLength));
    pos += totalLength;
  }
  return batches;
}

/** Rewrites base_offset in place; the CRC does not cover it. */
export function setBaseOffset(batch: Buffer, offset: number): void {
  if (!Number.isSafeInteger(offset)) throw new RangeError(`base offset ${offset} is not a safe integer`);
  const high = Math.floor(offset / 0x1_0000_0000);
  batch.writeInt32BE(high, 0);
  batch.writeUInt32BE(offset - high * 0x1_0000_0000, 4);
}

/** Number of records a batch claims (last_offset_delta + 1). */
export function batchRecordCount(header: BatchHeader): number {
  return header.lastOffsetDelta + 1;
}

// --- compression -----------------------------------------------------------

export interface CompressionCodec {
  compress(data: Buffer): Buffer;
  /** Must refuse (throw) output larger than `maxOutputLength`. */
  decompress(data: Buffer, maxOutputLength: number): Buffer;
}

const codecs = new Map<number, CompressionCodec>([
  [
    Compression.Gzip,
    {
      compress: (data) => gzipSync(data),
      decompress: (data, maxOutputLength) => gunzipSync(data, { maxOutputLength }),
    },
  ],
]);

/** Installs a codec for a compression id (snappy framed, lz4 frame, zstd have none built in). */
export function registerCompression(id: number, codec: CompressionCodec): void {
  if (!Number.isInteger(id) || id <= Compression.None || id > ATTR_COMPRESSION_MASK) {
    throw new RangeError(`compression id ${id} is not a valid batch compression`);
  }
  codecs.set(id, codec);
}

function codecFor(id: number): CompressionCodec {
  const codec = codecs.get(id);
  if (!codec) {
    const name = COMPRESSION_NAMES[id] ?? `#${id}`;
    throw new BatchError(`batch uses ${name} compression, for which no codec is registered`);
  }
  return codec;
}

// --- records ---------------------------------------------------------------

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
  /** The header count; Fluvio records carry no header content. */
  headers: number;
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer;
  /** ms after the batch's first timestamp. */
  timestampDelta?: number;
}

export interface EncodeBatchOptions {
  /** Defaults to what the Fluvio producer writes: record count - 1 (the server replaces it). */
  baseOffset?: number;
  /** Defaults to now. */
  firstTimestamp?: number;
  compression?: number;
}

/**
 * Decodes a batch's records (compression none or any registered codec).
 * Offsets are base_offset + the record's position and timestamps are
 * first_timestamp + delta, as the Fluvio consumer computes them. Does not
 * check the CRC (validateBatch does); every length is bounded by the bytes.
 */
export interface DecodeRecordsOptions {
  /** Refuse compressed records that inflate beyond this (default MAX_DECOMPRESSED_BATCH_BYTES). */
  maxDecompressedBytes?: number;
}

export function decodeRecords(batch: Buffer, opts: DecodeRecordsOptions = {}): Record[] {
  const { header, section } = batchRecordsSection(batch, opts);
  const r = new Reader(section);
  try {
    return readRecords(r, header);
  } catch (err) {
    if (err instanceof BatchError || !(err instanceof DecodeError)) throw err;
    throw new BatchError(`malformed records in batch at base offset ${header.baseOffset}: ${err.message}`, { cause: err });
  }
}

/**
 * A batch's header and its records section (i32 count + records),
 * decompressed when the batch is compressed (a subarray otherwise): what a
 * SmartModule gets as its raw records.
 */
export function batchRecordsSection(
  batch: Buffer,
  opts: DecodeRecordsOptions = {},
): { header: BatchHeader; section: Buffer } {
  const header = parseBatchHeader(batch, 0);
  if (header.magic !== BATCH_MAGIC) throw new BatchError(`batch magic is ${header.magic}, expected ${BATCH_MAGIC}`);
  if (header.totalLength > batch.length) {
    throw new BatchError(`truncated batch: batch_len says ${header.totalLength} bytes, ${batch.length} present`);
  }
  const start = recordsStart(header);
  if (header.totalLength < start) throw new BatchError(`batch of ${header.totalLength} bytes is too short for its schema id`);
  let section = batch.subarray(start, header.totalLength);
  if (header.compression !== Compression.None) {
    const codec = codecFor(header.compression);
    try {
      section = codec.decompress(section, opts.maxDecompressedBytes ?? MAX_DECOMPRESSED_BATCH_BYTES);
    } catch (err) {
      if (err instanceof BatchError) throw err;
      throw new BatchError(
        `cannot decompress ${COMPRESSION_NAMES[header.compression]} records: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return { header, section };
}

// The smallest record: length, attributes, timestamp delta, offset delta, key tag, value length, headers.
const MIN_RECORD_SIZE = 7;

function readRecords(r: Reader, header: BatchHeader): Record[] {
  const count = r.i32('record count');
  if (count < 1) return [];
  if (count * MIN_RECORD_SIZE > r.remaining()) {
    throw new DecodeError(`record count ${count} cannot fit in ${r.remaining()} byte(s)`);
  }
  const records: Record[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.varint(`record ${i} length`);
    if (length < 0) throw new DecodeError(`record ${i} has a negative length ${length}`);
    const body = r.sub(length, `record ${i}`);
    body.i8(`record ${i} attributes`);
    const timestampDelta = body.varint(`record ${i} timestamp_delta`);
    body.varint(`record ${i} offset_delta`);
    const key = body.bool(`record ${i} key tag`) ? readData(body, `record ${i} key`) : null;
    const value = readData(body, `record ${i} value`);
    const headers = body.varint(`record ${i} headers`);
    body.expectEnd(`record ${i}`);
    records.push({
      offset: header.baseOffset + i,
      timestamp: header.firstTimestamp <= 0 ? NO_TIMESTAMP : header.firstTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  return records;
}

function readData(r: Reader, field: string): Buffer {
  const length = r.varint(`${field} length`);
  if (length < 0) throw new DecodeError(`${field} has a negative length ${length}`);
  return r.raw(length, field);
}

/**
 * Builds a batch byte for byte as the Fluvio producer does: offset deltas
 * 0, 1, 2…, max_time_stamp = first_timestamp + the last record's delta,
 * producer id/epoch/sequence -1, headers count 0, keys as an Option tag.
 */
export function encodeBatch(records: readonly RecordInput[], opts: EncodeBatchOptions = {}): Buffer {
  const builder = new BatchBuilder(opts.firstTimestamp ?? Date.now(), 256);
  for (const record of records) {
    const key = record.key ?? null;
    builder.add(key, key === null ? 0 : key.length, record.value, record.value.length, record.timestampDelta ?? 0);
  }
  const compression = opts.compression ?? Compression.None;
  if (compression === Compression.None) return builder.finish(opts.baseOffset);
  const count = builder.count;
  return assembleBatch(builder.finish().subarray(BATCH_HEADER_SIZE), {
    baseOffset: opts.baseOffset ?? (count > 0 ? count - 1 : 0),
    lastOffsetDelta: count > 0 ? count - 1 : 0,
    firstTimestamp: builder.firstTimestamp,
    maxTimestamp: count > 0 ? builder.firstTimestamp + builder.lastTimestampDelta : 0,
    compression,
  });
}

/** Where a batch's records section starts: the i32 record count, then the records. */
const RECORDS_AT = BATCH_HEADER_SIZE + 4;

/**
 * Encodes a batch record by record into one growing buffer, as encodeBatch
 * does (byte for byte), without an object or a buffer per record: lengths
 * and varints are written in place, string keys and values are written as
 * UTF-8 straight into the batch. finish() fills in the header and the CRC.
 */
export class BatchBuilder {
  private buf: Buffer;
  private pos = RECORDS_AT;
  /** Records added so far. */
  count = 0;
  /** The timestamp delta of the last record added. */
  lastTimestampDelta = 0;

  /**
   * `capacity`: bytes to start with (the buffer doubles when a record does
   * not fit), or a buffer to write into (reused from an earlier batch: its
   * old contents are overwritten).
   */
  constructor(
    readonly firstTimestamp: number,
    capacity: number | Buffer = 1024,
  ) {
    if (typeof capacity !== 'number' && capacity.length >= RECORDS_AT + 16) this.buf = capacity;
    else this.buf = Buffer.allocUnsafe(Math.max(typeof capacity === 'number' ? capacity : capacity.length, RECORDS_AT + 16));
  }

  /** The buffer written into (a new one after growing): whoever reuses it must be done with finish()'s result. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Bytes of the batch so far, header included (what finish() returns without compression). */
  get length(): number {
    return this.pos;
  }

  /**
   * Appends a record. `keyLength` / `valueLength` are the byte lengths (the
   * UTF-8 length for a string, as Buffer.byteLength gives it).
   */
  add(key: Uint8Array | string | null, keyLength: number, value: Uint8Array | string, valueLength: number, timestampDelta = 0): void {
    if (!Number.isSafeInteger(timestampDelta)) throw new RangeError(`timestamp delta ${timestampDelta} is not a safe integer`);
    const index = this.count;
    const body =
      2 + // attributes, headers count
      varintSize(timestampDelta) +
      varintSize(index) +
      (key === null ? 1 : 1 + varintSize(keyLength) + keyLength) +
      varintSize(valueLength) +
      valueLength;
    const total = varintSize(body) + body;
    if (this.pos + total > this.buf.length) this.grow(total);
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, body);
    buf[pos++] = 0;
    pos = writeVarint(buf, pos, timestampDelta);
    pos = writeVarint(buf, pos, index);
    if (key === null) {
      buf[pos++] = 0;
    } else {
      buf[pos++] = 1;
      pos = writeVarint(buf, pos, keyLength);
      pos = writeData(buf, pos, key, keyLength);
    }
    pos = writeVarint(buf, pos, valueLength);
    pos = writeData(buf, pos, value, valueLength);
    buf[pos++] = 0;
    this.pos = pos;
    this.count = index + 1;
    this.lastTimestampDelta = timestampDelta;
  }

  /**
   * The whole batch, uncompressed: base_offset defaults to what the Fluvio
   * producer writes (record count - 1; the server replaces it). The builder
   * must not be used after.
   */
  finish(baseOffset?: number): Buffer {
    const buf = this.buf;
    const count = this.count;
    const lastOffsetDelta = count > 0 ? count - 1 : 0;
    setBaseOffset(buf, baseOffset ?? lastOffsetDelta);
    buf.writeInt32BE(this.pos - BATCH_PREAMBLE_SIZE, BatchOffset.batchLength);
    buf.writeInt32BE(-1, BatchOffset.partitionLeaderEpoch);
    buf[BatchOffset.magic] = BATCH_MAGIC;
    buf.writeInt16BE(Compression.None, BatchOffset.attributes);
    buf.writeInt32BE(lastOffsetDelta, BatchOffset.lastOffsetDelta);
    writeI64(buf, this.firstTimestamp, BatchOffset.firstTimestamp);
    writeI64(buf, count > 0 ? this.firstTimestamp + this.lastTimestampDelta : 0, BatchOffset.maxTimestamp);
    writeI64(buf, -1, BatchOffset.producerId);
    buf.writeInt16BE(-1, BatchOffset.producerEpoch);
    buf.writeInt32BE(-1, BatchOffset.firstSequence);
    buf.writeInt32BE(count, BATCH_HEADER_SIZE);
    const batch = buf.subarray(0, this.pos);
    batch.writeUInt32BE(computeBatchCrc(batch), BatchOffset.crc);
    return batch;
  }

  private grow(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + needed));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

function writeData(buf: Buffer, pos: number, data: Uint8Array | string, length: number): number {
  if (typeof data === 'string') {
    if (length > 0) buf.write(data, pos, length, 'utf8');
  } else if (length > 0) {
    buf.set(data, pos);
  }
  return pos + length;
}

/** Bytes of `value` as a zigzag varint (what Writer.varint writes). */
export function varintSize(value: number): number {
  if (value >= -0x4000_0000 && value < 0x4000_0000) {
    const zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
    return zigzag < 0x80 ? 1 : zigzag < 0x4000 ? 2 : zigzag < 0x20_0000 ? 3 : zigzag < 0x1000_0000 ? 4 : 5;
  }
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
  let rest = Math.floor((value < 0 ? -value - 1 : value) / 64);
  let size = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
    size++;
  }
  return size;
}

/** Writes `value` as a zigzag varint at `pos` (as Writer.varint); returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  if (value >= -0x4000_0000 && value < 0x4000_0000) {
    let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
    while (zigzag >= 0x80) {
      buf[pos++] = (zigzag & 0x7f) | 0x80;
      zigzag >>>= 7;
    }
    buf[pos++] = zigzag;
    return pos;
  }
  if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
  const sign = value < 0 ? 1 : 0;
  const magnitude = value < 0 ? -value - 1 : value;
  let rest = Math.floor(magnitude / 64);
  buf[pos++] = ((magnitude % 64) << 1) | sign | (rest > 0 ? 0x80 : 0);
  while (rest > 0) {
    const group = rest % 128;
    rest = Math.floor(rest / 128);
    buf[pos++] = group | (rest > 0 ? 0x80 : 0);
  }
  return pos;
}

export interface BatchFrame {
  baseOffset: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  compression: number;
}

/**
 * Wraps an already encoded records section (i32 count + records, before
 * compression) in a batch header with its CRC. Used where records come
 * from elsewhere than RecordInput, e.g. a SmartModule's output, whose offset
 * deltas need not be 0..n-1.
 */
export function assembleBatch(recordsSection: Buffer, frame: BatchFrame): Buffer {
  let recordBytes = recordsSection;
  if (frame.compression !== Compression.None) {
    if (frame.compression > ATTR_COMPRESSION_MASK) throw new RangeError(`compression id ${frame.compression} does not fit the attributes`);
    recordBytes = codecFor(frame.compression).compress(recordBytes);
  }
  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + recordBytes.length);
  setBaseOffset(batch, frame.baseOffset);
  batch.writeInt32BE(BATCH_LEN_MIN + recordBytes.length, BatchOffset.batchLength);
  batch.writeInt32BE(-1, BatchOffset.partitionLeaderEpoch);
  batch.writeInt8(BATCH_MAGIC, BatchOffset.magic);
  batch.writeInt16BE(frame.compression & ATTR_COMPRESSION_MASK, BatchOffset.attributes);
  batch.writeInt32BE(frame.lastOffsetDelta, BatchOffset.lastOffsetDelta);
  writeI64(batch, frame.firstTimestamp, BatchOffset.firstTimestamp);
  writeI64(batch, frame.maxTimestamp, BatchOffset.maxTimestamp);
  writeI64(batch, -1, BatchOffset.producerId);
  batch.writeInt16BE(-1, BatchOffset.producerEpoch);
  batch.writeInt32BE(-1, BatchOffset.firstSequence);
  recordBytes.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchOffset.crc);
  return batch;
}

function writeI64(buf: Buffer, value: number, offset: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`i64 value ${value} is not a safe integer`);
  const high = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(high, offset);
  buf.writeUInt32BE(value - high * 0x1_0000_0000, offset + 4);
}
