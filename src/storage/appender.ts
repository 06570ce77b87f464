/**
 * The append path of one partition: validation, group commit and the fsync
 * policy.
 *
 * append() validates synchronously and queues. The writer takes every queued
 * append at once (up to a cap), assigns offsets, writes them with one writev
 * per touched segment, fsyncs once (policy 'always'), then commits: advances
 * the high watermark, resolves the appends and tells the listener. Appends
 * arriving meanwhile form the next group.
 *
 * A failed write is rolled back (file truncated, index entries and offsets
 * restored, segments created by the group removed); a full disk is one
 * (NO_SPACE). A failed fsync fails the partition: retrying fsync is unsafe
 * (the kernel may have dropped the dirty pages), so it refuses further
 * appends until reopened, when recovery validates the tail again. The one
 * exception is a full disk under 'always' (see syncFailure).
 */
import assert from 'node:assert/strict';

import {
  BATCH_HEADER_SIZE,
  BATCH_MAGIC,
  BATCH_PREAMBLE_SIZE,
  BatchError,
  BatchOffset,
  batchRecordCount,
  Compression,
  parseBatchHeader,
  readI64,
  recordsStart,
  setBaseOffset,
  type BatchHeader,
} from '../protocol/index.js';
import { StorageError } from './errors.js';
import { isNoSpace, type StorageStats } from './io.js';
import type { MutationLock } from './mutation-lock.js';
import { brokenInvariant, describeError, noSpaceError, writeCacheFile, type PartitionEnv } from './partition-env.js';
import type { AppendResult } from './partition-store.js';
import type { Segment } from './segment.js';
import type { SegmentSet } from './segment-set.js';

/** Appends taken into one write group at most (the first append is always taken whole). */
const MAX_GROUP_BATCHES = 1024;
const MAX_GROUP_BYTES = 64 * 1024 * 1024;
/** Relative offsets in the index are u32. */
const MAX_REL_OFFSET = 0xffff_ffff;

interface AppendRequest {
  batches: Buffer[];
  bytes: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** What a failed group restores. */
interface GroupSnapshot {
  segmentCount: number;
  active: Segment;
  size: number;
  indexLength: number;
  nextOffset: number;
  maxTimestamp: number | undefined;
  maxTimestampRel: number;
}

export class Appender {
  /** Next offset to assign (log end offset, includes a group in flight). */
  private leo: number;
  /** Committed log end: what readers and the listener see. */
  private hw: number;
  private readonly queue: AppendRequest[] = [];
  private pumping = false;
  private pumpPromise: Promise<void> = Promise.resolve();
  /** Closed segments rolled by the group in flight; they join the LRU at commit. */
  private rolledInGroup: Segment[] = [];
  private failure: StorageError | undefined;
  /** Bytes written since the last fsync (policy 'interval'). */
  private dirty = false;
  private syncInFlight: Promise<void> | undefined;

  constructor(
    private readonly env: PartitionEnv,
    private readonly segments: SegmentSet,
    private readonly stats: StorageStats,
    private readonly lock: MutationLock,
    private readonly onCommit: (highWatermark: number) => void,
  ) {
    this.leo = this.hw = segments.active.nextOffset;
  }

  highWatermark(): number {
    return this.hw;
  }

  /** Set when an fsync (or a rollback) failed; the partition then refuses appends. */
  failed(): StorageError | undefined {
    return this.failure;
  }

  append(batches: Buffer[]): Promise<AppendResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let bytes = 0;
    for (let i = 0; i < batches.length; i++) {
      const problem = this.checkBatch(batches[i], i);
      if (problem !== undefined) return Promise.reject(problem);
      bytes += batches[i].length;
    }
    this.stats.appends++;
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ batches, bytes, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once every append queued so far is settled and no periodic fsync is running. */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumpPromise;
    if (this.syncInFlight !== undefined) await this.syncInFlight;
  }

  /** The fsync of policy 'interval': the active segment, when written since the last one. */
  async intervalSync(): Promise<void> {
    if (!this.dirty || this.syncInFlight !== undefined || this.failure !== undefined) return;
    this.dirty = false;
    const seg = this.segments.active;
    this.segments.pin(seg);
    this.syncInFlight = (async () => {
      try {
        if (seg.handle !== undefined) await this.env.io.fsync(seg.handle, seg.logPath);
      } catch (err) {
        this.fail(err, `periodic fsync of ${seg.logPath} failed`);
      } finally {
        this.segments.release(seg);
        this.syncInFlight = undefined;
      }
    })();
    await this.syncInFlight;
  }

  /** Checks what storage relies on; the server has already checked the CRC. */
  private checkBatch(b: unknown, i: number): StorageError | undefined {
    const err = (code: 'INVALID_BATCH' | 'BATCH_TOO_LARGE', msg: string): StorageError =>
      new StorageError(code, `batch ${i}: ${msg}`, { topic: this.env.topic, partition: this.env.partition });
    if (!Buffer.isBuffer(b)) return err('INVALID_BATCH', 'not a Buffer');
    if (b.length > this.env.config.maxBatchSize) {
      return err('BATCH_TOO_LARGE', `batch of ${b.length} bytes exceeds maxBatchSize ${this.env.config.maxBatchSize}`);
    }
    if (b.length < BATCH_HEADER_SIZE) return err('INVALID_BATCH', `${b.length} bytes is shorter than a batch header`);
    let h: BatchHeader;
    try {
      h = parseBatchHeader(b, 0);
    } catch (e) {
      if (e instanceof BatchError) return err('INVALID_BATCH', e.message);
      throw e;
    }
    if (h.totalLength !== b.length) {
      return err('INVALID_BATCH', `batch_len ${h.totalLength - BATCH_PREAMBLE_SIZE} does not match buffer length ${b.length}`);
    }
    if (h.magic !== BATCH_MAGIC) return err('INVALID_BATCH', `magic ${h.magic} != ${BATCH_MAGIC}`);
    if (h.lastOffsetDelta < 0) return err('INVALID_BATCH', 'negative last_offset_delta');
    // The record count is readable only when the records are not compressed.
    if (h.compression === Compression.None) {
      const countAt = recordsStart(h);
      if (b.length < countAt + 4) return err('INVALID_BATCH', 'uncompressed batch has no record count');
      const count = b.readInt32BE(countAt);
      if (count !== batchRecordCount(h)) {
        return err('INVALID_BATCH', `batch holds ${count} record(s) but last_offset_delta says ${batchRecordCount(h)}`);
      }
    }
    return undefined;
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pumpPromise = this.pump();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      try {
        await this.lock.run(() => this.processQueue());
      } catch (err) {
        // processQueue settles every outcome itself; reaching here is a bug (a broken invariant).
        this.fail(err, 'internal error in the append path');
        this.rejectQueued();
      }
    }
    // No await between the emptiness check and this: an append queued later starts a new pump.
    this.pumping = false;
  }

  private takeGroup(): AppendRequest[] {
    const group: AppendRequest[] = [];
    let bytes = 0;
    let batches = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (group.length > 0 && (bytes + next.bytes > MAX_GROUP_BYTES || batches + next.batches.length > MAX_GROUP_BATCHES)) {
        break;
      }
      group.push(next);
      this.queue.shift();
      bytes += next.bytes;
      batches += next.batches.length;
    }
    return group;
  }

  /** Never throws: every outcome settles the group's promises. */
  private async processQueue(): Promise<void> {
    const group = this.takeGroup();
    if (group.length === 0) return;
    if (this.failure !== undefined) {
      for (const r of group) r.reject(this.failure);
      return;
    }
    const active = this.segments.active;
    const snap: GroupSnapshot = {
      segmentCount: this.segments.count,
      active,
      size: active.size,
      indexLength: active.index?.length ?? 0,
      nextOffset: this.leo,
      maxTimestamp: active.maxTimestamp,
      maxTimestampRel: active.maxTimestampRel,
    };
    let results: AppendResult[];
    try {
      if (this.leo !== this.hw) {
        throw brokenInvariant(this.env, `log end ${this.leo} != high watermark ${this.hw} before a new group`);
      }
      if (active.nextOffset !== this.leo) {
        throw brokenInvariant(this.env, `active segment ends at ${active.nextOffset}, log at ${this.leo}`);
      }
      if (active.size !== active.committedSize) {
        throw brokenInvariant(this.env, 'active segment fully committed before a new group');
      }
      this.rolledInGroup = [];
      results = await this.writeGroup(group);
    } catch (err) {
      if (err instanceof assert.AssertionError) {
        this.breakDown(group, err, 'invariant broken while writing an append');
        return;
      }
      const error = this.failure ?? this.writeError(err);
      await this.rollback(snap);
      for (const r of group) r.reject(this.failure ?? error);
      if (this.failure !== undefined) this.rejectQueued();
      return;
    }
    try {
      this.commit(snap, group, results);
    } catch (err) {
      this.breakDown(group, err, 'internal error while committing an append');
    }
  }

  private writeError(err: unknown): StorageError {
    const { env } = this;
    if (isNoSpace(err)) {
      return noSpaceError(env, err, 'the append was not stored; appends succeed again by themselves once space is freed');
    }
    return new StorageError('WRITE_FAILED', `append to ${env.topic}-${env.partition} failed: ${describeError(err)}`, {
      cause: err,
      topic: env.topic,
      partition: env.partition,
    });
  }

  /**
   * A broken invariant: the partition stops taking writes (nothing of the
   * group was acknowledged; recovery on reopen validates the tail) and the
   * group's appends get the error itself (settling is idempotent).
   */
  private breakDown(group: AppendRequest[], err: unknown, what: string): void {
    const failure = this.fail(err, what);
    for (const r of group) r.reject(err instanceof assert.AssertionError ? err : failure);
    this.rejectQueued();
  }

  private async writeGroup(group: AppendRequest[]): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** The offset the first pending batch was given. */
    let pendingFrom = this.leo;
    const flushPending = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const seg = this.segments.active;
      assert.ok(seg.handle !== undefined);
      const position = seg.size;
      assert.ok(position + pendingBytes <= 0xffff_ffff, 'segment stays addressable by u32 positions');
      this.checkContiguous(pending, pendingFrom);
      await this.env.io.writev(seg.handle, seg.logPath, pending, position, pendingBytes);
      seg.size += pendingBytes;
      pending = [];
      pendingBytes = 0;
      pendingFrom = this.leo;
    };

    for (const req of group) {
      const baseOffset = this.leo;
      for (const batch of req.batches) {
        const delta = batch.readInt32BE(BatchOffset.lastOffsetDelta);
        let seg = this.segments.active;
        const position = seg.size + pendingBytes;
        if (
          position > 0 &&
          (position + batch.length > this.env.config.segmentSize || this.leo + delta - seg.baseOffset > MAX_REL_OFFSET)
        ) {
          await flushPending();
          await this.roll();
          seg = this.segments.active;
        }
        const offset = this.leo;
        setBaseOffset(batch, offset);
        assert.ok(seg.builder !== undefined, 'active segment has an index builder');
        seg.builder.observe(offset - seg.baseOffset, seg.size + pendingBytes);
        const ts = readI64(batch, BatchOffset.maxTimestamp);
        if (seg.maxTimestamp === undefined || ts > seg.maxTimestamp) {
          seg.maxTimestamp = ts;
          seg.maxTimestampRel = offset - seg.baseOffset;
        }
        pending.push(batch);
        pendingBytes += batch.length;
        this.leo = offset + delta + 1;
        assert.ok(Number.isSafeInteger(this.leo), 'offsets stay safe integers');
        seg.nextOffset = this.leo;
      }
      results.push({ baseOffset, lastOffset: this.leo - 1 });
    }
    await flushPending();
    if (this.env.config.flush.kind === 'always') {
      await this.syncOrFail(this.segments.active);
    } else {
      this.dirty = true;
    }
    return results;
  }

  /**
   * Right before the bytes go to disk: the batches about to be written carry
   * contiguous offsets from `from`, as they were given (a buffer passed twice,
   * or changed by its owner meanwhile, breaks this).
   */
  private checkContiguous(batches: Buffer[], from: number): void {
    let expected = from;
    for (const batch of batches) {
      const baseOffset = readI64(batch, BatchOffset.baseOffset);
      if (baseOffset !== expected) {
        throw brokenInvariant(this.env, `batch to write has base_offset ${baseOffset}, expected ${expected}`);
      }
      expected = baseOffset + batch.readInt32BE(BatchOffset.lastOffsetDelta) + 1;
    }
    if (expected !== this.leo) {
      throw brokenInvariant(this.env, `batches to write end at ${expected}, log end is ${this.leo}`);
    }
  }

  /** Closes the active segment and starts a new one at the current log end offset. */
  private async roll(): Promise<void> {
    const { env } = this;
    const old = this.segments.active;
    assert.ok(old.size > 0, 'never roll an empty segment');
    assert.ok(old.handle !== undefined && old.index !== undefined);
    if (env.syncs) await this.syncOrFail(old);
    old.nextOffset = this.leo;
    await env.io.writeFile(old.indexPath, old.index.toBuffer(), env.syncs);
    await env.io.writeFile(old.timeIndexPath, old.timeIndexBuffer(), env.syncs);
    old.builder = undefined;
    old.rolledUncommitted = true;
    this.rolledInGroup.push(old);
    const seg = await this.segments.createActive(this.leo);
    if (env.syncs) {
      try {
        await env.io.fsyncDir(env.dir);
      } catch (err) {
        throw this.syncFailure(err, 'fsync of the partition directory failed');
      }
    }
    env.log.debug({ dir: env.dir, segment: seg.baseOffset }, 'rolled to a new segment');
  }

  private commit(snap: GroupSnapshot, group: AppendRequest[], results: AppendResult[]): void {
    const { segments } = this;
    for (let i = snap.segmentCount - 1; i < segments.count; i++) {
      const seg = segments.at(i);
      if (seg.size < seg.committedSize) {
        throw brokenInvariant(this.env, `segment ${seg.baseOffset} shrank below its committed size`);
      }
      segments.committedBytes += seg.size - seg.committedSize;
      seg.committedSize = seg.size;
    }
    const rolled = this.rolledInGroup;
    this.rolledInGroup = [];
    for (const seg of rolled) {
      seg.rolledUncommitted = false;
      segments.touch(seg);
    }
    if (this.leo < this.hw) {
      throw brokenInvariant(this.env, `high watermark would move back from ${this.hw} to ${this.leo}`);
    }
    this.hw = this.leo;
    this.stats.groups++;
    for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
    segments.evictIfNeeded();
    this.onCommit(this.hw);
  }

  /** Restores the state of `snap` after a failed group. A failure here fails the partition. */
  private async rollback(snap: GroupSnapshot): Promise<void> {
    const { env, segments } = this;
    try {
      while (segments.count > snap.segmentCount) {
        const seg = segments.dropNewest();
        await segments.closeNow(seg);
        await segments.unlinkFiles(seg);
      }
      const seg = snap.active;
      assert.equal(segments.active, seg);
      assert.ok(seg.handle !== undefined && seg.index !== undefined);
      const reactivate = seg.builder === undefined;
      if (reactivate) {
        // It was rolled during the group: make it the active segment again.
        seg.makeActive(seg.index, env.config.indexIntervalBytes);
        seg.rolledUncommitted = false;
        await env.io.unlinkIfExists(seg.timeIndexPath);
      }
      await env.io.truncate(seg.handle, seg.logPath, snap.size);
      seg.size = snap.size;
      seg.index.truncate(snap.indexLength);
      if (reactivate) await writeCacheFile(env, seg.indexPath, seg.index.toBuffer(), false);
      seg.nextOffset = snap.nextOffset;
      seg.maxTimestamp = snap.maxTimestamp;
      seg.maxTimestampRel = snap.maxTimestampRel;
      this.leo = snap.nextOffset;
      this.rolledInGroup = [];
      assert.equal(this.leo, this.hw);
    } catch (err) {
      this.fail(err, 'could not roll back a failed append');
    }
  }

  private async syncOrFail(seg: Segment): Promise<void> {
    assert.ok(seg.handle !== undefined);
    try {
      await this.env.io.fsync(seg.handle, seg.logPath);
    } catch (err) {
      throw this.syncFailure(err, `fsync of ${seg.logPath} failed`);
    }
  }

  /**
   * What a failed fsync in a write group means. Under 'always' everything
   * acknowledged was fsynced before this group, so a full disk only fails the
   * group: the rollback cuts its bytes and a later group may succeed. Any
   * other failure (or any under the other policies, where acknowledged bytes
   * may have been in the dropped pages) fails the partition.
   */
  private syncFailure(err: unknown, what: string): unknown {
    if (isNoSpace(err) && this.env.config.flush.kind === 'always') return err;
    return this.fail(err, what);
  }

  /** Marks the partition failed (idempotent) and returns the error appends get from now on. */
  private fail(cause: unknown, what: string): StorageError {
    if (this.failure === undefined) {
      const { env } = this;
      this.failure = new StorageError(
        'PARTITION_FAILED',
        `partition ${env.topic}-${env.partition} failed: ${what}: ${describeError(cause)}; ` +
          'it refuses appends until reopened (retrying fsync is unsafe)',
        { cause, topic: env.topic, partition: env.partition },
      );
      env.log.error({ err: cause, dir: env.dir }, `partition failed: ${what}`);
    }
    return this.failure;
  }

  private rejectQueued(): void {
    const failure = this.failure;
    assert.ok(failure !== undefined, 'queued appends are rejected only once the partition failed');
    for (const r of this.queue.splice(0)) r.reject(failure);
  }
}
