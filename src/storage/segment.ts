/**
 * One segment of a partition log: `<base>.log` (stored batches back to back),
 * `<base>.index` (sparse offset index) and, once closed, `<base>.timeindex`
 * (one 12-byte entry: newest max_time_stamp i64 BE, relative offset u32 BE of
 * the batch holding it — used by time retention without rescanning).
 *
 * This is plain state; the segment set, the appender, recovery and retention
 * make its transitions.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { IndexBuilder, SparseIndex } from './sparse-index.js';
import { segmentFileStem } from './io.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;

  /** Bytes in the file, including an append group still in flight. */
  size = 0;
  /** Bytes readers may see (all batches below the high watermark). */
  committedSize = 0;
  /** Offset after the last batch written to this segment. */
  nextOffset: number;
  /** Newest batch max_time_stamp; undefined = not known yet (closed segment found on open). */
  maxTimestamp: number | undefined;
  maxTimestampRel = 0;

  handle: FileHandle | undefined;
  opening: Promise<void> | undefined;
  /** Loaded sparse index; always present for the active segment. */
  index: SparseIndex | undefined;
  /** Present only while this is the active (appendable) segment. */
  builder: IndexBuilder | undefined;

  /** In-flight reads (and syncs) using the handle; it is closed only at 0. */
  refs = 0;
  /** Removed by retention: files unlinked, handle closed when refs reach 0. */
  deleted = false;
  /** Closed by a roll in the write group in flight: kept open (out of the LRU) until the group commits or rolls back. */
  rolledUncommitted = false;

  constructor(
    dir: string,
    readonly baseOffset: number,
  ) {
    const stem = segmentFileStem(baseOffset);
    this.logPath = path.join(dir, `${stem}.log`);
    this.indexPath = path.join(dir, `${stem}.index`);
    this.timeIndexPath = path.join(dir, `${stem}.timeindex`);
    this.nextOffset = baseOffset;
  }

  makeActive(index: SparseIndex, intervalBytes: number): void {
    this.index = index;
    this.builder = new IndexBuilder(index, intervalBytes);
  }

  timeIndexBuffer(): Buffer {
    const buf = Buffer.alloc(TIME_INDEX_ENTRY_SIZE);
    const ts = this.maxTimestamp ?? -1;
    buf.writeBigInt64BE(BigInt(ts), 0);
    buf.writeUInt32BE(this.maxTimestampRel, 8);
    return buf;
  }
}
