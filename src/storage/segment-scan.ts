/**
 * Sequential scan of a segment's batches: validates headers (and optionally
 * CRCs) and offset continuity, reports each batch, and tells where the valid
 * prefix ends. Used by recovery (with CRC) and index / timestamp rebuilds
 * (headers only).
 */
import { crc32c } from '@node-rs/crc32';

import { BATCH_HEADER_SIZE, CRC_START, NO_TIMESTAMP } from '../protocol/index.js';
import { batchCrcMatches, readStoredHeader, type BatchHeader } from './batch-layout.js';

export type ReadAt = (position: number, length: number) => Promise<Buffer>;

export interface ScanOptions {
  baseOffset: number;
  fileSize: number;
  verifyCrc: boolean;
  read: ReadAt;
  onBatch?: (header: BatchHeader, position: number) => void;
  /** Read size; batches larger than this are read on their own. */
  chunkBytes?: number;
}

export interface ScanResult {
  /** End of the last valid batch: the file should be this long. */
  validEnd: number;
  /** Offset after the last valid batch (the segment base when empty). */
  nextOffset: number;
  batches: number;
  /** Newest max_time_stamp seen; NO_TIMESTAMP when none. */
  maxTimestamp: number;
  /** Relative offset of the batch holding maxTimestamp. */
  maxTimestampRel: number;
  /** Why the scan stopped before fileSize; undefined when the whole file is valid. */
  problem: string | undefined;
}

const MAX_REL_OFFSET = 0xffff_ffff;

export async function scanSegment(opts: ScanOptions): Promise<ScanResult> {
  const chunkBytes = opts.chunkBytes ?? (opts.verifyCrc ? 1 << 20 : 1 << 16);
  const { fileSize, baseOffset } = opts;
  let pos = 0;
  let expected = baseOffset;
  let batches = 0;
  let maxTimestamp = NO_TIMESTAMP;
  let maxTimestampRel = 0;
  let problem: string | undefined;
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = 0;

  const inBuf = (p: number, len: number): boolean => p >= bufStart && p + len <= bufStart + buf.length;

  while (pos < fileSize) {
    const remaining = fileSize - pos;
    if (remaining < BATCH_HEADER_SIZE) {
      problem = `torn tail: ${remaining} trailing bytes at position ${pos}`;
      break;
    }
    if (!inBuf(pos, BATCH_HEADER_SIZE)) {
      buf = await opts.read(pos, Math.min(chunkBytes, remaining));
      bufStart = pos;
    }
    const h = readStoredHeader(buf, pos - bufStart);
    if (typeof h === 'string') {
      problem = `invalid batch header at position ${pos}: ${h}`;
      break;
    }
    if (h.baseOffset !== expected) {
      problem = `batch at position ${pos} has base_offset ${h.baseOffset}, expected ${expected}`;
      break;
    }
    if (h.totalLength > remaining) {
      problem = `torn tail: batch at position ${pos} needs ${h.totalLength} bytes, file has ${remaining}`;
      break;
    }
    const next = h.baseOffset + h.lastOffsetDelta + 1;
    if (next - baseOffset > MAX_REL_OFFSET + 1 || !Number.isSafeInteger(next)) {
      problem = `batch at position ${pos} overflows the segment's relative offsets`;
      break;
    }
    if (opts.verifyCrc) {
      let crcOk: boolean;
      if (inBuf(pos, h.totalLength)) {
        crcOk = batchCrcMatches(buf.subarray(pos - bufStart, pos - bufStart + h.totalLength));
      } else if (h.totalLength > chunkBytes) {
        // Large (or corrupt, huge-claiming) batch: CRC it chunk by chunk, never allocating its size.
        crcOk = (await streamingCrc(opts.read, pos, h.totalLength, chunkBytes)) === h.crc;
      } else {
        buf = await opts.read(pos, Math.min(chunkBytes, remaining));
        bufStart = pos;
        crcOk = batchCrcMatches(buf.subarray(0, h.totalLength));
      }
      if (!crcOk) {
        problem = `CRC mismatch in batch at position ${pos} (base_offset ${h.baseOffset})`;
        break;
      }
    }
    opts.onBatch?.(h, pos);
    if (h.maxTimestamp > maxTimestamp) {
      maxTimestamp = h.maxTimestamp;
      maxTimestampRel = h.baseOffset - baseOffset;
    }
    batches++;
    expected = next;
    pos += h.totalLength;
  }
  return { validEnd: pos, nextOffset: expected, batches, maxTimestamp, maxTimestampRel, problem };
}

/** CRC-32C of bytes [pos + CRC_START, pos + totalLength) read in chunks. */
async function streamingCrc(read: ReadAt, pos: number, totalLength: number, chunkBytes: number): Promise<number> {
  let crc = 0;
  let at = pos + CRC_START;
  const end = pos + totalLength;
  while (at < end) {
    const len = Math.min(chunkBytes, end - at);
    crc = crc32c(await read(at, len), crc);
    at += len;
  }
  return crc >>> 0;
}
