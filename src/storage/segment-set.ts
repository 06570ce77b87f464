/**
 * The segments of one partition, oldest first, the last one active: finding
 * the segment of an offset, opening closed segments on demand (handle and
 * index) and closing the least recently used ones, pinning segments in use,
 * and removing the oldest.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';

import { NO_TIMESTAMP } from '../protocol/index.js';
import { errnoError } from './io.js';
import { corruptSegment, type PartitionEnv } from './partition-env.js';
import { loadOrRebuildIndex, rebuildSegmentIndex } from './recovery.js';
import { Segment } from './segment.js';
import { SparseIndex } from './sparse-index.js';

export class SegmentSet {
  /** Sorted by base offset; the last one is active. Never empty once the partition is open. */
  private readonly list: Segment[] = [];
  /** Closed segments holding a handle and an index, least recently used first. */
  private readonly openClosed = new Map<Segment, true>();
  private readonly pendingCloses = new Set<Promise<void>>();
  /** Bytes below the high watermark, all segments. */
  committedBytes = 0;
  /** Once set, a handle is closed as soon as nothing uses it. */
  private closing = false;

  constructor(private readonly env: PartitionEnv) {}

  get active(): Segment {
    const seg = this.list[this.list.length - 1];
    assert.ok(seg !== undefined, `partition ${this.env.topic}-${this.env.partition} always has an active segment`);
    return seg;
  }

  get count(): number {
    return this.list.length;
  }

  at(i: number): Segment {
    const seg = this.list[i];
    assert.ok(seg !== undefined, `segment ${i} of ${this.list.length} exists`);
    return seg;
  }

  baseOffsets(): number[] {
    return this.list.map((s) => s.baseOffset);
  }

  /** First offset still stored. */
  logStartOffset(): number {
    return this.list.length === 0 ? 0 : this.list[0].baseOffset;
  }

  /** The segment holding `offset` (largest base offset <= offset). */
  find(offset: number): Segment {
    let lo = 0;
    let hi = this.list.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid].baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return this.list[found];
  }

  /** Adds segments found on disk (recovery), oldest first. */
  adopt(segments: Segment[]): void {
    assert.equal(this.list.length, 0, 'segments are adopted once, on open');
    this.list.push(...segments);
  }

  /** Creates an empty active segment at `baseOffset` (its log and an empty index) and appends it. */
  async createActive(baseOffset: number): Promise<Segment> {
    const seg = new Segment(this.env.dir, baseOffset);
    seg.handle = await this.env.io.createFile(seg.logPath);
    seg.makeActive(new SparseIndex(), this.env.config.indexIntervalBytes);
    seg.maxTimestamp = NO_TIMESTAMP;
    this.list.push(seg);
    await this.env.io.writeFile(seg.indexPath, Buffer.alloc(0), false);
    return seg;
  }

  /** Removes the newest segment from the set (its files stay; see unlinkFiles). */
  dropNewest(): Segment {
    assert.ok(this.list.length > 1, 'the only segment is never dropped');
    return this.list.pop() as Segment;
  }

  /** Takes the oldest closed segment out of the set: readers pinning it finish, then its handle closes. */
  removeOldest(): Segment {
    assert.ok(this.list.length > 1, 'never delete the active segment');
    const seg = this.list.shift() as Segment;
    assert.ok(seg.builder === undefined, 'the oldest of several segments is closed');
    this.committedBytes -= seg.committedSize;
    seg.deleted = true;
    this.openClosed.delete(seg);
    if (seg.refs === 0) this.closeHandle(seg);
    return seg;
  }

  /** Removes a segment's files, log first so a crash leaves only orphan index files. */
  async unlinkFiles(seg: Segment): Promise<void> {
    await this.env.io.unlinkIfExists(seg.logPath);
    await this.env.io.unlinkIfExists(seg.indexPath);
    await this.env.io.unlinkIfExists(seg.timeIndexPath);
  }

  pin(seg: Segment): void {
    seg.refs++;
  }

  release(seg: Segment): void {
    assert.ok(seg.refs > 0, 'segment refcount balanced');
    seg.refs--;
    if (seg.refs === 0 && (seg.deleted || this.closing)) this.closeHandle(seg);
  }

  /** Ensures a segment has an open handle and a loaded index (closed segments are opened lazily). */
  async ensureOpen(seg: Segment): Promise<void> {
    if (seg.deleted) throw errnoError('ENOENT', `segment ${seg.logPath} was deleted`);
    if (seg.handle !== undefined && seg.index !== undefined) {
      if (seg.builder === undefined) this.touch(seg);
      return;
    }
    seg.opening ??= this.openSegment(seg).finally(() => {
      seg.opening = undefined;
    });
    await seg.opening;
    this.touch(seg);
    this.evictIfNeeded();
  }

  /** Replaces an index that pointed at the wrong batch by one rebuilt from the log. */
  async discardIndex(seg: Segment, why: string): Promise<void> {
    this.env.log.warn({ segment: seg.indexPath, why }, 'discarding segment index; rebuilding');
    // The active segment's index is maintained by appends: if it is wrong, the log is.
    if (seg.builder !== undefined) throw corruptSegment(this.env, seg.logPath, 0, why);
    assert.ok(seg.handle !== undefined);
    seg.index = await rebuildSegmentIndex(this.env, seg, seg.handle);
  }

  /** Marks a closed segment recently used. */
  touch(seg: Segment): void {
    if (seg.builder !== undefined || seg.deleted || seg.rolledUncommitted) return;
    this.openClosed.delete(seg);
    this.openClosed.set(seg, true);
  }

  /** Keeps at most maxOpenSegments closed segments open (handles in use are kept). */
  evictIfNeeded(): void {
    const max = this.env.config.maxOpenSegments;
    if (this.openClosed.size <= max) return;
    for (const seg of this.openClosed.keys()) {
      if (this.openClosed.size <= max) break;
      if (seg.refs > 0 || seg.opening !== undefined) continue;
      this.openClosed.delete(seg);
      seg.index = undefined;
      this.closeHandle(seg);
    }
  }

  /** Closes every handle nothing uses now, and each other one when its last user releases it. */
  async closeAll(): Promise<void> {
    this.closing = true;
    this.openClosed.clear();
    for (const seg of this.list) {
      if (seg.refs === 0) this.closeHandle(seg);
    }
    await Promise.all([...this.pendingCloses]);
  }

  /** Closes a handle now (its segment is being removed or replaced). */
  async closeNow(seg: Segment): Promise<void> {
    const fh = seg.handle;
    seg.handle = undefined;
    if (fh !== undefined) await fh.close();
  }

  private async openSegment(seg: Segment): Promise<void> {
    const fh = seg.handle ?? (await fs.open(seg.logPath, 'r'));
    try {
      if (seg.index === undefined) seg.index = await loadOrRebuildIndex(this.env, seg, fh);
    } catch (err) {
      if (seg.handle === undefined) await fh.close();
      throw err;
    }
    if (seg.deleted) {
      await fh.close();
      throw errnoError('ENOENT', `segment ${seg.logPath} was deleted`);
    }
    seg.handle = fh;
  }

  private closeHandle(seg: Segment): void {
    const fh = seg.handle;
    if (fh === undefined) return;
    seg.handle = undefined;
    const p = fh
      .close()
      .catch((err: unknown) => this.env.log.warn({ err, segment: seg.logPath }, 'closing segment file failed'))
      .finally(() => this.pendingCloses.delete(p));
    this.pendingCloses.add(p);
  }
}
