/**
 * Record batches as stored bytes.
 *
 * Storage never decodes records. It only needs the fixed batch header, which
 * is Fluvio's layout (Kafka magic-2 style, all integers big-endian):
 *
 *   offset  size  field
 *   0       i64   base_offset            (rewritten by the store on append)
 *   8       i32   batch_len              (bytes after this field: batch = 12 + batch_len bytes)
 *   12      i32   partition_leader_epoch
 *   16      i8    magic                  (= 2)
 *   17      u32   crc                    (CRC-32C over bytes 21..end of batch)
 *   21      i16   attributes
 *   23      i32   last_offset_delta      (record count - 1)
 *   27      i64   first_timestamp        (ms)
 *   35      i64   max_time_stamp         (ms)
 *   43      i64   producer_id
 *   51      i16   producer_epoch
 *   53      i32   first_sequence
 *   57      ...   records
 *
 * base_offset lies outside the CRC range, so assigning offsets does not
 * invalidate the CRC. This file is storage-local on purpose: storage must not
 * depend on the protocol module.
 */
import { crc32c } from '@node-rs/crc32';

export const BASE_OFFSET_POS = 0;
export const BATCH_LEN_POS = 8;
export const PARTITION_LEADER_EPOCH_POS = 12;
export const MAGIC_POS = 16;
export const CRC_POS = 17;
export const ATTRIBUTES_POS = 21;
export const LAST_OFFSET_DELTA_POS = 23;
export const FIRST_TIMESTAMP_POS = 27;
export const MAX_TIMESTAMP_POS = 35;
export const PRODUCER_ID_POS = 43;
export const PRODUCER_EPOCH_POS = 51;
export const FIRST_SEQUENCE_POS = 53;
/** Bytes of fixed header before the records; also the smallest valid batch. */
export const BATCH_HEADER_LEN = 57;
/** base_offset + batch_len: the part of the header not counted by batch_len. */
export const BATCH_LEN_OVERHEAD = 12;
/** CRC-32C covers bytes from here to the end of the batch. */
export const CRC_START = ATTRIBUTES_POS;
export const MAGIC_V2 = 2;
/** Kafka's "no timestamp" marker. */
export const NO_TIMESTAMP = -1;

const TWO_32 = 0x1_0000_0000;

export interface BatchHeader {
  baseOffset: number;
  /** Whole stored size of the batch: 12 + batch_len. */
  totalLen: number;
  batchLen: number;
  magic: number;
  crc: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
}

/**
 * Reads a big-endian i64 as a JS number. Values outside the safe integer range
 * lose precision; callers that need exactness (offsets) check with
 * Number.isSafeInteger.
 */
export function readI64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

/** Writes a non-negative safe integer as a big-endian i64. */
export function writeI64(buf: Buffer, pos: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`i64 value out of range: ${value}`);
  }
  buf.writeUInt32BE(Math.floor(value / TWO_32), pos);
  buf.writeUInt32BE(value % TWO_32, pos + 4);
}

/**
 * Reads the header of the batch starting at `pos` in `buf`. The caller
 * guarantees `pos + BATCH_HEADER_LEN <= buf.length`. No validation here; see
 * `headerProblem`.
 */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  const batchLen = buf.readInt32BE(pos + BATCH_LEN_POS);
  return {
    baseOffset: readI64(buf, pos + BASE_OFFSET_POS),
    batchLen,
    totalLen: BATCH_LEN_OVERHEAD + batchLen,
    magic: buf.readInt8(pos + MAGIC_POS),
    crc: buf.readUInt32BE(pos + CRC_POS),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_POS),
    firstTimestamp: readI64(buf, pos + FIRST_TIMESTAMP_POS),
    maxTimestamp: readI64(buf, pos + MAX_TIMESTAMP_POS),
  };
}

/**
 * Returns a description of what is structurally wrong with a header, or
 * undefined when it is plausible. Does not check the CRC.
 */
export function headerProblem(h: BatchHeader): string | undefined {
  if (h.magic !== MAGIC_V2) return `magic ${h.magic} != ${MAGIC_V2}`;
  if (h.totalLen < BATCH_HEADER_LEN) return `batch_len ${h.batchLen} shorter than the header`;
  if (h.lastOffsetDelta < 0) return `negative last_offset_delta ${h.lastOffsetDelta}`;
  if (!Number.isSafeInteger(h.baseOffset) || h.baseOffset < 0) return `bad base_offset ${h.baseOffset}`;
  return undefined;
}

/** CRC-32C of a whole batch's checked range (bytes 21..end). */
export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

/** True when the stored CRC matches the bytes. `batch` is exactly one batch. */
export function batchCrcMatches(batch: Buffer): boolean {
  return batch.readUInt32BE(CRC_POS) === computeBatchCrc(batch);
}
