/**
 * What storage checks of a record batch as stored bytes. The layout itself
 * (field positions, header reader, lengths) is owned by
 * src/protocol/record-batch.ts; storage never decodes records, it reads the
 * fixed header only and rewrites base_offset, which the CRC does not cover.
 */
import {
  BATCH_HEADER_SIZE,
  BATCH_MAGIC,
  BATCH_PREAMBLE_SIZE,
  BatchError,
  BatchOffset,
  computeBatchCrc,
  parseBatchHeader,
  type BatchHeader,
} from '../protocol/index.js';

export type { BatchHeader };

/**
 * The header of the stored batch at `pos`, or what is structurally wrong
 * with it (bad magic, a batch_len shorter than the header, a negative
 * last_offset_delta or base_offset, an i64 beyond the safe range). The caller
 * guarantees `pos + BATCH_HEADER_SIZE <= buf.length`. Does not check the CRC.
 */
export function readStoredHeader(buf: Buffer, pos: number): BatchHeader | string {
  let h: BatchHeader;
  try {
    h = parseBatchHeader(buf, pos);
  } catch (err) {
    if (err instanceof BatchError) return err.message;
    throw err;
  }
  if (h.magic !== BATCH_MAGIC) return `magic ${h.magic} != ${BATCH_MAGIC}`;
  if (h.totalLength < BATCH_HEADER_SIZE) return `batch_len ${h.totalLength - BATCH_PREAMBLE_SIZE} shorter than the header`;
  if (h.lastOffsetDelta < 0) return `negative last_offset_delta ${h.lastOffsetDelta}`;
  if (h.baseOffset < 0) return `bad base_offset ${h.baseOffset}`;
  return h;
}

/** True when the stored CRC matches the bytes. `batch` is exactly one batch. */
export function batchCrcMatches(batch: Buffer): boolean {
  return batch.readUInt32BE(BatchOffset.crc) === computeBatchCrc(batch);
}
