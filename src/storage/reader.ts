/**
 * Reads of committed batches. Readers never take the partition's mutation
 * lock: they see only bytes below the high watermark captured when the read
 * starts, and pin the segments they read so retention can remove a segment
 * under them without closing its handle mid-read.
 */
import assert from 'node:assert/strict';

import { BATCH_HEADER_SIZE } from '../protocol/index.js';
import { readStoredHeader } from './batch-layout.js';
import { OffsetOutOfRangeError, StorageError } from './errors.js';
import { errnoError, isErrno } from './io.js';
import { brokenInvariant, corruptSegment, describeError, type PartitionEnv } from './partition-env.js';
import type { ReadResult } from './partition-store.js';
import type { Segment } from './segment.js';
import type { SegmentSet } from './segment-set.js';

/** Positioned reads are at least this big (small reads cost the same syscall)... */
const MIN_READ_BYTES = 64 * 1024;
/** ...and at most this big, except to fetch one whole batch larger than it. */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/** Raised inside a read when an index entry does not point at the batch it names. */
class IndexMismatch extends Error {}

export class PartitionReader {
  constructor(
    private readonly env: PartitionEnv,
    private readonly segments: SegmentSet,
    private readonly highWatermark: () => number,
  ) {}

  /** Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch), all below `hw`. */
  async read(offset: number, maxBytes: number, hw: number): Promise<ReadResult> {
    const limit = Number.isFinite(maxBytes) ? Math.max(0, Math.floor(maxBytes)) : Number.MAX_SAFE_INTEGER;
    try {
      return await this.readFrom(offset, limit, hw);
    } catch (err) {
      if (!(err instanceof IndexMismatch)) throw err;
    }
    // An index entry lied (stale or damaged file); it was rebuilt: read once more.
    try {
      return await this.readFrom(offset, limit, hw);
    } catch (err) {
      if (!(err instanceof IndexMismatch)) throw err;
      throw new StorageError('CORRUPT', `index of ${this.env.dir} still inconsistent after rebuild: ${err.message}`, {
        topic: this.env.topic,
        partition: this.env.partition,
      });
    }
  }

  private async readFrom(offset: number, maxBytes: number, hw: number): Promise<ReadResult> {
    const { segments } = this;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let seg = segments.find(offset);
    segments.pin(seg);
    try {
      await segments.ensureOpen(seg);
      assert.ok(seg.index !== undefined);
      const entry = seg.index.lookup(offset - seg.baseOffset);
      let pos = entry.position;
      let expected = seg.baseOffset + entry.relOffset;
      let checkingEntry = entry.position > 0;
      let done = false;
      for (;;) {
        const end = seg.committedSize;
        while (pos < end && !done) {
          const budget = Math.max(maxBytes - bytes, 0);
          const want = chunks.length === 0 ? budget + this.env.config.indexIntervalBytes + BATCH_HEADER_SIZE : budget;
          const len = Math.min(end - pos, Math.max(MIN_READ_BYTES, Math.min(want, MAX_READ_BYTES)));
          const buf = await this.readAt(seg, pos, len);
          let i = 0;
          while (i + BATCH_HEADER_SIZE <= buf.length) {
            const h = readStoredHeader(buf, i);
            if (typeof h === 'string' || h.baseOffset !== expected) {
              const problem = typeof h === 'string' ? h : `base_offset ${h.baseOffset} != ${expected}`;
              if (checkingEntry) {
                await segments.discardIndex(seg, `index entry points at a bad batch (${problem})`);
                throw new IndexMismatch(problem);
              }
              throw corruptSegment(this.env, seg.logPath, pos + i, problem);
            }
            checkingEntry = false;
            if (h.baseOffset >= hw) {
              done = true;
              break;
            }
            const last = h.baseOffset + h.lastOffsetDelta;
            if (pos + i + h.totalLength > end) {
              throw corruptSegment(this.env, seg.logPath, pos + i, 'batch extends past the committed end');
            }
            if (last < offset) {
              i += h.totalLength;
              expected = last + 1;
              continue;
            }
            if (chunks.length > 0 && bytes + h.totalLength > maxBytes) {
              done = true;
              break;
            }
            if (last >= hw) {
              throw brokenInvariant(this.env, `read would return offsets up to ${last}, beyond the high watermark ${hw}`);
            }
            if (i + h.totalLength > buf.length) {
              if (i > 0) break; // the next read starts at this batch
              // This batch alone is larger than the read: fetch it whole.
              chunks.push(await this.readAt(seg, pos, h.totalLength));
            } else {
              chunks.push(buf.subarray(i, i + h.totalLength));
            }
            bytes += h.totalLength;
            i += h.totalLength;
            expected = last + 1;
            if (bytes >= maxBytes || expected >= hw) {
              done = true;
              break;
            }
          }
          if (i === 0 && !done) throw corruptSegment(this.env, seg.logPath, pos, 'truncated batch header inside committed data');
          pos += i;
        }
        if (done || expected >= hw) break;
        // Continue in the next segment, which must start where this one ended
        // (unless retention removed it meanwhile: return what we have).
        if (expected < segments.logStartOffset()) break;
        const next = segments.find(expected);
        if (next === seg) break;
        if (next.baseOffset !== expected) {
          throw corruptSegment(this.env, next.logPath, 0, `segment starts at ${next.baseOffset}, previous ended at ${expected}`);
        }
        segments.pin(next);
        segments.release(seg);
        seg = next;
        await segments.ensureOpen(seg);
        pos = 0;
      }
    } catch (err) {
      if (err instanceof IndexMismatch || err instanceof StorageError || err instanceof assert.AssertionError) throw err;
      if (seg.deleted || isErrno(err, 'ENOENT', 'EBADF')) {
        // Retention removed the segment under us: report the new start.
        throw new OffsetOutOfRangeError(offset, segments.logStartOffset(), this.highWatermark());
      }
      throw new StorageError('IO', `read of ${seg.logPath} failed: ${describeError(err)}`, {
        cause: err,
        topic: this.env.topic,
        partition: this.env.partition,
      });
    } finally {
      segments.release(seg);
    }
    return { chunks, bytes, logStartOffset: segments.logStartOffset(), highWatermark: hw };
  }

  private readAt(seg: Segment, position: number, length: number): Promise<Buffer> {
    const fh = seg.handle;
    if (fh === undefined) return Promise.reject(errnoError('EBADF', `segment ${seg.logPath} is closed`));
    return this.env.io.readExactly(fh, seg.logPath, position, length);
  }
}
