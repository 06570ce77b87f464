/**
 * FilePartitionStore: a partition as a segmented append-only log on local disk.
 *
 * Layout: `<dataDir>/<topic>-<partition>/<20-digit base offset>.{log,index,timeindex}`.
 *
 * Concurrency model (single Node.js thread, async I/O):
 * - Every mutation (append groups, segment roll, retention, close) runs under
 *   one async mutex, so at most one write group is in flight.
 * - append() validates synchronously and queues. The writer takes every queued
 *   append at once (up to a cap), assigns offsets, writes them with one writev
 *   per touched segment, fsyncs once (policy 'always'), then commits: advances
 *   the high watermark, resolves the appends and calls onAppend listeners.
 *   Appends arriving meanwhile form the next group: that is group commit.
 * - Readers never take the mutex. They see only committed bytes (below the
 *   high watermark captured when the read starts) and pin segments with a
 *   refcount so retention can unlink a segment under them without closing the
 *   handle mid-read.
 * - A failed write is rolled back (file truncated, index entries and offsets
 *   restored, segments created by the group removed). A failed fsync marks the
 *   partition failed: retrying fsync is unsafe (the kernel may have dropped the
 *   dirty pages), so it refuses further appends until reopened, when recovery
 *   validates the tail again.
 */
import assert from 'node:assert/strict';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pino, type Logger } from 'pino';

import {
  BATCH_HEADER_SIZE,
  BATCH_MAGIC,
  BATCH_PREAMBLE_SIZE,
  BatchOffset,
  NO_TIMESTAMP,
  readBatchLength,
  readI64,
  setBaseOffset,
} from '../protocol/record-batch.js';
import { readStoredHeader } from './batch-layout.js';
import { resolveStorageConfig, type StorageConfig } from './config.js';
import { OffsetOutOfRangeError, StorageError } from './errors.js';
import {
  isErrno,
  newStats,
  parseSegmentFileName,
  StorageIo,
  type StorageHooks,
  type StorageStats,
} from './io.js';
import type { AppendResult, PartitionStore, ReadResult } from './partition-store.js';
import { Segment, TIME_INDEX_ENTRY_SIZE } from './segment.js';
import { scanSegment } from './segment-scan.js';
import { IndexBuilder, SparseIndex } from './sparse-index.js';

/** The logger methods storage uses (a pino Logger fits). */
export type StorageLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Appends taken into one write group at most (the first append is always taken whole). */
const MAX_GROUP_BATCHES = 1024;
const MAX_GROUP_BYTES = 64 * 1024 * 1024;
/** Positioned reads are at least this big (small reads cost the same syscall)... */
const MIN_READ_BYTES = 64 * 1024;
/** ...and at most this big, except to fetch one whole batch larger than it. */
const MAX_READ_BYTES = 16 * 1024 * 1024;
/** Relative offsets in the index are u32. */
const MAX_REL_OFFSET = 0xffff_ffff;
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,248}$/;

/** Partition directories open in this process: two stores on one directory would corrupt it. */
const openDirs = new Set<string>();

let defaultLogger: StorageLogger | undefined;
function getDefaultLogger(): StorageLogger {
  defaultLogger ??= pino({ name: 'freshet-storage', level: process.env.FRESHET_STORAGE_LOG_LEVEL ?? 'warn' });
  return defaultLogger;
}

interface AppendRequest {
  batches: Buffer[];
  bytes: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

interface GroupSnapshot {
  segmentCount: number;
  active: Segment;
  size: number;
  indexLength: number;
  nextOffset: number;
  maxTimestamp: number | undefined;
  maxTimestampRel: number;
}

/** Raised inside read() when an index entry does not point at the batch it names. */
class IndexMismatch extends Error {}

export class FilePartitionStore implements PartitionStore {
  readonly topic: string;
  readonly partition: number;
  /** `<dataDir>/<topic>-<partition>` */
  readonly dir: string;
  readonly config: Readonly<StorageConfig>;

  private readonly log: StorageLogger;
  private readonly io: StorageIo;
  private readonly counters: StorageStats = newStats();

  /** Sorted by base offset; the last one is active. Never empty once open. */
  private segments: Segment[] = [];
  /** Next offset to assign (log end offset, includes a group in flight). */
  private leo = 0;
  /** Committed log end: what readers and onAppend see. */
  private hw = 0;
  private committedBytes = 0;

  private readonly queue: AppendRequest[] = [];
  private pumping = false;
  private pumpPromise: Promise<void> = Promise.resolve();
  private mutexTail: Promise<unknown> = Promise.resolve();
  /** Closed segments rolled by the group in flight; they join the LRU at commit. */
  private rolledInGroup: Segment[] = [];

  private readonly listeners = new Set<(hw: number) => void>();
  /** Closed segments holding a handle/index, least recently used first. */
  private readonly openClosed = new Map<Segment, true>();
  private readonly pendingCloses = new Set<Promise<void>>();

  private state: 'opening' | 'open' | 'closing' | 'closed' = 'opening';
  private closePromise: Promise<void> | undefined;
  private failure: StorageError | undefined;

  private dirty = false;
  private syncInFlight: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;

  private constructor(
    dataDir: string,
    topic: string,
    partition: number,
    config: StorageConfig,
    logger: StorageLogger,
    hooks: StorageHooks,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.dir = path.resolve(dataDir, `${topic}-${partition}`);
    this.config = Object.freeze({ ...config });
    this.log = logger;
    this.io = new StorageIo(hooks, this.counters);
  }

  /**
   * Opens (creating if needed) the log of `topic`/`partition` under `dataDir`,
   * recovering its tail. `hooks` are for tests and instrumentation.
   */
  static async open(
    dataDir: string,
    topic: string,
    partition: number,
    config: Partial<StorageConfig> = {},
    logger?: StorageLogger,
    hooks: StorageHooks = {},
  ): Promise<FilePartitionStore> {
    if (!TOPIC_NAME.test(topic)) {
      throw new StorageError('CONFIG', `invalid topic name for storage: ${JSON.stringify(topic)}`);
    }
    if (!Number.isSafeInteger(partition) || partition < 0) {
      throw new StorageError('CONFIG', `invalid partition ${partition}`);
    }
    const cfg = resolveStorageConfig(config);
    const store = new FilePartitionStore(dataDir, topic, partition, cfg, logger ?? getDefaultLogger(), hooks);
    if (openDirs.has(store.dir)) {
      throw new StorageError('ALREADY_OPEN', `partition directory already open: ${store.dir}`, { topic, partition });
    }
    openDirs.add(store.dir);
    try {
      await store.load();
    } catch (err) {
      openDirs.delete(store.dir);
      await store.closeAllHandles();
      throw err instanceof StorageError || err instanceof assert.AssertionError
        ? err
        : new StorageError('IO', `cannot open partition ${store.dir}: ${String(err)}`, { cause: err, topic, partition });
    }
    store.state = 'open';
    store.startTimers();
    return store;
  }

  // ---------------------------------------------------------------- contract

  logStartOffset(): number {
    return this.segments.length === 0 ? 0 : this.segments[0].baseOffset;
  }

  highWatermark(): number {
    return this.hw;
  }

  sizeBytes(): number {
    return this.committedBytes;
  }

  /** Counters (appends, groups, writes, fsyncs, reads, segments deleted). */
  stats(): Readonly<StorageStats> {
    return { ...this.counters };
  }

  /** Number of segments (for tests and metrics). */
  segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first (for tests and metrics). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Set when an fsync (or a rollback) failed; the partition then refuses appends. */
  failed(): StorageError | undefined {
    return this.failure;
  }

  append(batches: Buffer[]): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(this.closedError());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let bytes = 0;
    for (let i = 0; i < batches.length; i++) {
      const problem = this.checkBatch(batches[i], i);
      if (problem !== undefined) return Promise.reject(problem);
      bytes += batches[i].length;
    }
    this.counters.appends++;
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ batches, bytes, resolve, reject });
      this.kick();
    });
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    if (this.state === 'closed' || this.state === 'opening') throw this.closedError();
    if (!Number.isSafeInteger(offset)) throw new RangeError(`offset must be a safe integer, got ${offset}`);
    const hw = this.hw;
    const lso = this.logStartOffset();
    if (offset < lso || offset > hw) throw new OffsetOutOfRangeError(offset, lso, hw);
    if (offset === hw) return { chunks: [], bytes: 0, logStartOffset: lso, highWatermark: hw };
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
      throw new StorageError('CORRUPT', `index of ${this.dir} still inconsistent after rebuild: ${err.message}`, {
        topic: this.topic,
        partition: this.partition,
      });
    }
  }

  onAppend(listener: (highWatermark: number) => void): () => void {
    // Wrap so that subscribing the same function twice gives two subscriptions.
    const entry = (hw: number): void => listener(hw);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  /** Closes the store and removes its directory with all segments. */
  async delete(): Promise<void> {
    await this.close();
    await fs.rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Deletes closed segments past retention: oldest first while the newest
   * timestamp in the segment is older than retentionMs, then oldest first while
   * the partition is larger than maxPartitionSize. The active segment is never
   * deleted. Returns the number of segments removed.
   */
  async enforceRetention(now: number = Date.now()): Promise<number> {
    if (this.state !== 'open') return 0;
    return this.exclusive(async () => {
      if (this.state !== 'open') return 0;
      let removed = 0;
      if (Number.isFinite(this.config.retentionMs)) {
        const cutoff = now - this.config.retentionMs;
        while (this.segments.length > 1) {
          const newest = await this.newestTimestamp(this.segments[0]);
          if (newest >= cutoff) break;
          await this.removeOldestSegment(`time (newest timestamp ${newest} older than ${cutoff})`);
          removed++;
        }
      }
      while (this.segments.length > 1 && this.committedBytes > this.config.maxPartitionSize) {
        await this.removeOldestSegment(`size (${this.committedBytes} > ${this.config.maxPartitionSize} bytes)`);
        removed++;
      }
      return removed;
    });
  }

  // ------------------------------------------------------------ open/recover

  private get active(): Segment {
    const seg = this.segments[this.segments.length - 1];
    assert.ok(seg !== undefined, 'a partition always has an active segment');
    return seg;
  }

  private get syncs(): boolean {
    return this.config.flush.kind !== 'os';
  }

  private async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const names = await fs.readdir(this.dir);
    const logs = new Set<number>();
    const others: Array<{ name: string; baseOffset: number }> = [];
    for (const name of names) {
      const parsed = parseSegmentFileName(name);
      if (parsed === undefined) continue;
      if (parsed.ext === 'log') logs.add(parsed.baseOffset);
      else others.push({ name, baseOffset: parsed.baseOffset });
    }
    // Index files without their log (a crash during retention): remove.
    for (const o of others) {
      if (!logs.has(o.baseOffset)) {
        this.log.info({ dir: this.dir, file: o.name }, 'removing orphan index file');
        await unlinkIfExists(path.join(this.dir, o.name));
      }
    }
    const bases = [...logs].sort((a, b) => a - b);
    if (bases.length === 0) {
      const seg = new Segment(this.dir, 0);
      seg.handle = await fs.open(seg.logPath, 'w+');
      seg.makeActive(new SparseIndex(), this.config.indexIntervalBytes);
      seg.maxTimestamp = NO_TIMESTAMP;
      this.segments.push(seg);
      await this.io.writeFile(seg.indexPath, Buffer.alloc(0), false);
      if (this.syncs) await this.io.fsyncDir(this.dir);
      return;
    }
    this.segments = bases.map((b) => new Segment(this.dir, b));
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i];
      seg.nextOffset = this.segments[i + 1].baseOffset;
      seg.size = seg.committedSize = (await fs.stat(seg.logPath)).size;
    }
    await this.recoverTail();
    // Closed segments: rebuild an index that is missing or obviously broken now;
    // deeper checks happen when the index is loaded for a read.
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i];
      const st = await fs.stat(seg.indexPath).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) return undefined;
        throw err;
      });
      if (st === undefined || st.size % 8 !== 0) {
        this.log.warn({ dir: this.dir, segment: seg.baseOffset }, 'segment index missing or malformed; rebuilding');
        await this.ensureOpen(seg);
      }
    }
    this.committedBytes = this.segments.reduce((sum, s) => sum + s.committedSize, 0);
    this.leo = this.hw = this.active.nextOffset;
  }

  /**
   * Validates every batch (header, offsets, CRC) of the last segment and cuts a
   * torn or corrupt tail at the last valid batch. An empty last segment that is
   * not the only one is removed and the previous one recovered instead, so the
   * active segment is non-empty or alone.
   */
  private async recoverTail(): Promise<void> {
    for (;;) {
      const seg = this.active;
      seg.handle = await fs.open(seg.logPath, 'r+');
      const fileSize = (await seg.handle.stat()).size;
      const index = new SparseIndex();
      const builder = new IndexBuilder(index, this.config.indexIntervalBytes);
      const handle = seg.handle;
      const result = await scanSegment({
        baseOffset: seg.baseOffset,
        fileSize,
        verifyCrc: true,
        read: (p, len) => this.io.readExactly(handle, seg.logPath, p, len),
        onBatch: (h, p) => builder.observe(h.baseOffset - seg.baseOffset, p),
      });
      if (result.problem !== undefined) {
        this.log.warn(
          {
            topic: this.topic,
            partition: this.partition,
            segment: seg.logPath,
            fileSize,
            validEnd: result.validEnd,
            droppedBytes: fileSize - result.validEnd,
            reason: result.problem,
          },
          'truncating corrupt or torn log tail at the last valid batch',
        );
        await seg.handle.truncate(result.validEnd);
        await this.io.fsync(seg.handle, seg.logPath);
      }
      if (result.validEnd === 0 && this.segments.length > 1) {
        this.log.info({ dir: this.dir, segment: seg.baseOffset }, 'removing empty last segment');
        await seg.handle.close();
        seg.handle = undefined;
        this.segments.pop();
        await this.unlinkSegmentFiles(seg);
        if (this.syncs) await this.io.fsyncDir(this.dir);
        continue;
      }
      seg.size = seg.committedSize = result.validEnd;
      seg.nextOffset = result.nextOffset;
      seg.maxTimestamp = result.maxTimestamp;
      seg.maxTimestampRel = result.maxTimestampRel;
      seg.makeActive(index, this.config.indexIntervalBytes);
      const onDisk = await fs.readFile(seg.indexPath).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) return undefined;
        throw err;
      });
      if (onDisk === undefined || !index.equalsBuffer(onDisk)) {
        if (onDisk !== undefined) {
          this.log.info({ dir: this.dir, segment: seg.baseOffset }, 'active segment index was stale; rebuilt');
        }
        await this.io.writeFile(seg.indexPath, index.toBuffer(), this.syncs);
      }
      // A .timeindex of the active segment is stale by definition; it is rewritten at roll.
      await unlinkIfExists(seg.timeIndexPath);
      return;
    }
  }

  private startTimers(): void {
    const flush = this.config.flush;
    if (flush.kind === 'interval') {
      this.flushTimer = setInterval(() => void this.intervalSync(), flush.intervalMs);
      this.flushTimer.unref();
    }
    if (this.config.retentionCheckIntervalMs > 0) {
      this.retentionTimer = setInterval(() => {
        this.enforceRetention().catch((err: unknown) =>
          this.log.error({ err, dir: this.dir }, 'retention pass failed'),
        );
      }, this.config.retentionCheckIntervalMs);
      this.retentionTimer.unref();
    }
  }

  // ------------------------------------------------------------------ append

  /** Checks what storage relies on; the server has already checked the CRC. */
  private checkBatch(b: unknown, i: number): StorageError | undefined {
    const err = (code: 'INVALID_BATCH' | 'BATCH_TOO_LARGE', msg: string): StorageError =>
      new StorageError(code, `batch ${i}: ${msg}`, { topic: this.topic, partition: this.partition });
    if (!Buffer.isBuffer(b)) return err('INVALID_BATCH', 'not a Buffer');
    if (b.length > this.config.maxBatchSize) {
      return err('BATCH_TOO_LARGE', `batch of ${b.length} bytes exceeds maxBatchSize ${this.config.maxBatchSize}`);
    }
    if (b.length < BATCH_HEADER_SIZE) return err('INVALID_BATCH', `${b.length} bytes is shorter than a batch header`);
    const batchLength = readBatchLength(b, 0);
    if (BATCH_PREAMBLE_SIZE + batchLength !== b.length) {
      return err('INVALID_BATCH', `batch_len ${batchLength} does not match buffer length ${b.length}`);
    }
    const magic = b.readInt8(BatchOffset.magic);
    if (magic !== BATCH_MAGIC) return err('INVALID_BATCH', `magic ${magic} != ${BATCH_MAGIC}`);
    if (b.readInt32BE(BatchOffset.lastOffsetDelta) < 0) return err('INVALID_BATCH', 'negative last_offset_delta');
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
        await this.exclusive(() => this.processQueue());
      } catch (err) {
        // processQueue settles every outcome itself; reaching here is a bug (a broken invariant).
        this.fail(err, 'internal error in the append path');
        this.rejectQueued();
      }
    }
    // No await between the emptiness check and this: an append queued later starts a new pump.
    this.pumping = false;
  }

  /** Runs fn under the partition mutex (mutations are serialized). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutexTail.then(fn);
    this.mutexTail = run.catch(() => undefined);
    return run;
  }

  private takeGroup(): AppendRequest[] {
    const group: AppendRequest[] = [];
    let bytes = 0;
    let batches = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (
        group.length > 0 &&
        (bytes + next.bytes > MAX_GROUP_BYTES || batches + next.batches.length > MAX_GROUP_BATCHES)
      ) {
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
    const active = this.active;
    const snap: GroupSnapshot = {
      segmentCount: this.segments.length,
      active,
      size: active.size,
      indexLength: active.index?.length ?? 0,
      nextOffset: this.leo,
      maxTimestamp: active.maxTimestamp,
      maxTimestampRel: active.maxTimestampRel,
    };
    assert.equal(this.leo, this.hw, 'no uncommitted group before a new one');
    assert.equal(active.size, active.committedSize, 'active segment fully committed before a new group');
    this.rolledInGroup = [];
    let results: AppendResult[];
    try {
      results = await this.writeGroup(group);
    } catch (err) {
      const error =
        this.failure ??
        new StorageError('WRITE_FAILED', `append to ${this.topic}-${this.partition} failed: ${describe(err)}`, {
          cause: err,
          topic: this.topic,
          partition: this.partition,
        });
      await this.rollback(snap);
      for (const r of group) r.reject(this.failure ?? error);
      if (this.failure !== undefined) this.rejectQueued();
      return;
    }
    try {
      this.commit(snap, group, results);
    } catch (err) {
      // A broken invariant while committing: stop taking writes (settling is idempotent).
      const failure = this.fail(err, 'internal error while committing an append');
      for (const r of group) r.reject(failure);
      this.rejectQueued();
    }
  }

  private async writeGroup(group: AppendRequest[]): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flushPending = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const seg = this.active;
      assert.ok(seg.handle !== undefined);
      const position = seg.size;
      assert.ok(position + pendingBytes <= 0xffff_ffff, 'segment stays addressable by u32 positions');
      await this.io.writev(seg.handle, seg.logPath, pending, position, pendingBytes);
      seg.size += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };

    for (const req of group) {
      const baseOffset = this.leo;
      for (const batch of req.batches) {
        const delta = batch.readInt32BE(BatchOffset.lastOffsetDelta);
        let seg = this.active;
        const position = seg.size + pendingBytes;
        if (
          position > 0 &&
          (position + batch.length > this.config.segmentSize ||
            this.leo + delta - seg.baseOffset > MAX_REL_OFFSET)
        ) {
          await flushPending();
          await this.roll();
          seg = this.active;
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
    if (this.config.flush.kind === 'always') {
      await this.syncOrFail(this.active);
    } else {
      this.dirty = true;
    }
    return results;
  }

  /** Closes the active segment and starts a new one at the current log end offset. */
  private async roll(): Promise<void> {
    const old = this.active;
    assert.ok(old.size > 0, 'never roll an empty segment');
    assert.ok(old.handle !== undefined && old.index !== undefined);
    if (this.syncs) await this.syncOrFail(old);
    old.nextOffset = this.leo;
    await this.io.writeFile(old.indexPath, old.index.toBuffer(), this.syncs);
    await this.io.writeFile(old.timeIndexPath, old.timeIndexBuffer(), this.syncs);
    const seg = new Segment(this.dir, this.leo);
    seg.handle = await fs.open(seg.logPath, 'w+');
    seg.makeActive(new SparseIndex(), this.config.indexIntervalBytes);
    seg.maxTimestamp = NO_TIMESTAMP;
    old.builder = undefined;
    this.segments.push(seg);
    this.rolledInGroup.push(old);
    await this.io.writeFile(seg.indexPath, Buffer.alloc(0), false);
    if (this.syncs) {
      try {
        await this.io.fsyncDir(this.dir);
      } catch (err) {
        throw this.fail(err, 'fsync of the partition directory failed');
      }
    }
    this.log.debug({ dir: this.dir, segment: seg.baseOffset }, 'rolled to a new segment');
  }

  private commit(snap: GroupSnapshot, group: AppendRequest[], results: AppendResult[]): void {
    for (let i = snap.segmentCount - 1; i < this.segments.length; i++) {
      const seg = this.segments[i];
      assert.ok(seg.size >= seg.committedSize);
      this.committedBytes += seg.size - seg.committedSize;
      seg.committedSize = seg.size;
    }
    const rolled = this.rolledInGroup;
    this.rolledInGroup = [];
    for (const seg of rolled) this.touch(seg);
    assert.ok(this.leo >= this.hw, 'high watermark is monotonic');
    this.hw = this.leo;
    this.counters.groups++;
    for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
    this.evictIfNeeded();
    const hw = this.hw;
    for (const listener of [...this.listeners]) {
      try {
        listener(hw);
      } catch (err) {
        this.log.error({ err, dir: this.dir }, 'onAppend listener threw');
      }
    }
  }

  /** Restores the state of `snap` after a failed group. A failure here fails the partition. */
  private async rollback(snap: GroupSnapshot): Promise<void> {
    try {
      while (this.segments.length > snap.segmentCount) {
        const seg = this.segments.pop() as Segment;
        const fh = seg.handle;
        seg.handle = undefined;
        if (fh !== undefined) await fh.close();
        await this.unlinkSegmentFiles(seg);
      }
      const seg = snap.active;
      assert.equal(this.active, seg);
      assert.ok(seg.handle !== undefined && seg.index !== undefined);
      const reactivate = seg.builder === undefined;
      if (reactivate) {
        // It was rolled during the group: make it the active segment again.
        seg.makeActive(seg.index, this.config.indexIntervalBytes);
        await unlinkIfExists(seg.timeIndexPath);
      }
      await seg.handle.truncate(snap.size);
      seg.size = snap.size;
      seg.index.truncate(snap.indexLength);
      if (reactivate) await this.io.writeFile(seg.indexPath, seg.index.toBuffer(), false);
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
      await this.io.fsync(seg.handle, seg.logPath);
    } catch (err) {
      throw this.fail(err, `fsync of ${seg.logPath} failed`);
    }
  }

  /** Marks the partition failed (idempotent) and returns the error appends get from now on. */
  private fail(cause: unknown, what: string): StorageError {
    if (this.failure === undefined) {
      this.failure = new StorageError(
        'PARTITION_FAILED',
        `partition ${this.topic}-${this.partition} failed: ${what}: ${describe(cause)}; ` +
          'it refuses appends until reopened (retrying fsync is unsafe)',
        { cause, topic: this.topic, partition: this.partition },
      );
      this.log.error({ err: cause, dir: this.dir }, `partition failed: ${what}`);
    }
    return this.failure;
  }

  private rejectQueued(): void {
    const queued = this.queue.splice(0);
    for (const r of queued) r.reject(this.failure ?? this.closedError());
  }

  private async intervalSync(): Promise<void> {
    if (!this.dirty || this.syncInFlight !== undefined || this.failure !== undefined || this.state !== 'open') return;
    this.dirty = false;
    const seg = this.active;
    seg.refs++;
    this.syncInFlight = (async () => {
      try {
        if (seg.handle !== undefined) await this.io.fsync(seg.handle, seg.logPath);
      } catch (err) {
        this.fail(err, `periodic fsync of ${seg.logPath} failed`);
      } finally {
        this.release(seg);
        this.syncInFlight = undefined;
      }
    })();
    await this.syncInFlight;
  }

  // -------------------------------------------------------------------- read

  /** The segment holding `offset` (largest base offset <= offset). */
  private findSegment(offset: number): Segment {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid].baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return this.segments[found];
  }

  private async readFrom(offset: number, maxBytes: number, hw: number): Promise<ReadResult> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let seg = this.findSegment(offset);
    seg.refs++;
    try {
      await this.ensureOpen(seg);
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
          const want = chunks.length === 0 ? budget + this.config.indexIntervalBytes + BATCH_HEADER_SIZE : budget;
          const len = Math.min(end - pos, Math.max(MIN_READ_BYTES, Math.min(want, MAX_READ_BYTES)));
          const buf = await this.readAt(seg, pos, len);
          let i = 0;
          while (i + BATCH_HEADER_SIZE <= buf.length) {
            const h = readStoredHeader(buf, i);
            if (typeof h === 'string' || h.baseOffset !== expected) {
              const problem = typeof h === 'string' ? h : `base_offset ${h.baseOffset} != ${expected}`;
              if (checkingEntry) {
                await this.discardIndex(seg, `index entry points at a bad batch (${problem})`);
                throw new IndexMismatch(problem);
              }
              throw this.corrupt(seg, pos + i, problem);
            }
            checkingEntry = false;
            if (h.baseOffset >= hw) {
              done = true;
              break;
            }
            const last = h.baseOffset + h.lastOffsetDelta;
            if (pos + i + h.totalLength > end) throw this.corrupt(seg, pos + i, 'batch extends past the committed end');
            if (last < offset) {
              i += h.totalLength;
              expected = last + 1;
              continue;
            }
            if (chunks.length > 0 && bytes + h.totalLength > maxBytes) {
              done = true;
              break;
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
          if (i === 0 && !done) throw this.corrupt(seg, pos, 'truncated batch header inside committed data');
          pos += i;
        }
        if (done || expected >= hw) break;
        // Continue in the next segment, which must start where this one ended
        // (unless retention removed it meanwhile: return what we have).
        if (expected < this.logStartOffset()) break;
        const next = this.findSegment(expected);
        if (next === seg) break;
        if (next.baseOffset !== expected) {
          throw this.corrupt(next, 0, `segment starts at ${next.baseOffset}, previous ended at ${expected}`);
        }
        next.refs++;
        this.release(seg);
        seg = next;
        await this.ensureOpen(seg);
        pos = 0;
      }
    } catch (err) {
      if (err instanceof IndexMismatch || err instanceof StorageError) throw err;
      if (seg.deleted || isErrno(err, 'ENOENT', 'EBADF')) {
        // Retention removed the segment under us: report the new start.
        throw new OffsetOutOfRangeError(offset, this.logStartOffset(), this.hw);
      }
      throw new StorageError('IO', `read of ${seg.logPath} failed: ${describe(err)}`, {
        cause: err,
        topic: this.topic,
        partition: this.partition,
      });
    } finally {
      this.release(seg);
    }
    return { chunks, bytes, logStartOffset: this.logStartOffset(), highWatermark: hw };
  }

  private readAt(seg: Segment, position: number, length: number): Promise<Buffer> {
    const fh = seg.handle;
    if (fh === undefined) {
      const err: NodeJS.ErrnoException = new Error(`segment ${seg.logPath} is closed`);
      err.code = 'EBADF';
      return Promise.reject(err);
    }
    return this.io.readExactly(fh, seg.logPath, position, length);
  }

  private corrupt(seg: Segment, position: number, problem: string): StorageError {
    this.log.error({ segment: seg.logPath, position, problem }, 'corrupt segment');
    return new StorageError('CORRUPT', `corrupt segment ${seg.logPath} at position ${position}: ${problem}`, {
      topic: this.topic,
      partition: this.partition,
    });
  }

  // ------------------------------------------------------- segment resources

  /** Ensures a segment has an open handle and a loaded index (closed segments are opened lazily). */
  private async ensureOpen(seg: Segment): Promise<void> {
    if (seg.deleted) {
      const err: NodeJS.ErrnoException = new Error(`segment ${seg.logPath} was deleted`);
      err.code = 'ENOENT';
      throw err;
    }
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

  private async openSegment(seg: Segment): Promise<void> {
    const fh = seg.handle ?? (await fs.open(seg.logPath, 'r'));
    try {
      if (seg.index === undefined) seg.index = await this.loadIndex(seg, fh);
    } catch (err) {
      if (seg.handle === undefined) await fh.close();
      throw err;
    }
    if (seg.deleted) {
      await fh.close();
      const err: NodeJS.ErrnoException = new Error(`segment ${seg.logPath} was deleted`);
      err.code = 'ENOENT';
      throw err;
    }
    seg.handle = fh;
  }

  private async loadIndex(seg: Segment, fh: FileHandle): Promise<SparseIndex> {
    const buf = await fs.readFile(seg.indexPath).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    const loaded =
      buf === undefined ? undefined : SparseIndex.fromBuffer(buf, seg.size, seg.nextOffset - seg.baseOffset);
    if (loaded !== undefined) return loaded;
    if (buf !== undefined) this.log.warn({ segment: seg.indexPath }, 'invalid segment index; rebuilding');
    return this.rebuildIndex(seg, fh);
  }

  /** Rebuilds a closed segment's index (and newest timestamp) from its batch headers. */
  private async rebuildIndex(seg: Segment, fh: FileHandle): Promise<SparseIndex> {
    const index = new SparseIndex();
    const builder = new IndexBuilder(index, this.config.indexIntervalBytes);
    const result = await scanSegment({
      baseOffset: seg.baseOffset,
      fileSize: seg.size,
      verifyCrc: false,
      read: (p, len) => this.io.readExactly(fh, seg.logPath, p, len),
      onBatch: (h, p) => builder.observe(h.baseOffset - seg.baseOffset, p),
    });
    if (result.problem !== undefined || result.nextOffset !== seg.nextOffset) {
      this.log.error(
        { segment: seg.logPath, problem: result.problem, scannedTo: result.nextOffset, expected: seg.nextOffset },
        'closed segment is inconsistent; reads past the damage will fail',
      );
    }
    if (seg.maxTimestamp === undefined) {
      seg.maxTimestamp = result.maxTimestamp;
      seg.maxTimestampRel = result.maxTimestampRel;
    }
    await this.io.writeFile(seg.indexPath, index.toBuffer(), this.syncs);
    return index;
  }

  private async discardIndex(seg: Segment, why: string): Promise<void> {
    this.log.warn({ segment: seg.indexPath, why }, 'discarding segment index; rebuilding');
    if (seg.builder !== undefined) {
      // Active segment: its in-memory index is maintained by appends and cannot be stale.
      throw this.corrupt(seg, 0, why);
    }
    assert.ok(seg.handle !== undefined);
    seg.index = await this.rebuildIndex(seg, seg.handle);
  }

  /** Marks a closed segment recently used. */
  private touch(seg: Segment): void {
    if (seg.builder !== undefined || seg.deleted || this.rolledInGroup.includes(seg)) return;
    this.openClosed.delete(seg);
    this.openClosed.set(seg, true);
  }

  /** Keeps at most maxOpenSegments closed segments open (handles in use are kept). */
  private evictIfNeeded(): void {
    if (this.openClosed.size <= this.config.maxOpenSegments) return;
    for (const seg of this.openClosed.keys()) {
      if (this.openClosed.size <= this.config.maxOpenSegments) break;
      if (seg.refs > 0 || seg.opening !== undefined) continue;
      this.openClosed.delete(seg);
      seg.index = undefined;
      this.closeHandle(seg);
    }
  }

  private release(seg: Segment): void {
    assert.ok(seg.refs > 0, 'segment refcount balanced');
    seg.refs--;
    if (seg.refs === 0 && (seg.deleted || this.state === 'closed')) this.closeHandle(seg);
  }

  private closeHandle(seg: Segment): void {
    const fh = seg.handle;
    if (fh === undefined) return;
    seg.handle = undefined;
    const p = fh
      .close()
      .catch((err: unknown) => this.log.warn({ err, segment: seg.logPath }, 'closing segment file failed'))
      .finally(() => this.pendingCloses.delete(p));
    this.pendingCloses.add(p);
  }

  private async closeAllHandles(): Promise<void> {
    for (const seg of this.segments) {
      if (seg.refs === 0) this.closeHandle(seg);
    }
    await Promise.all([...this.pendingCloses]);
  }

  // --------------------------------------------------------------- retention

  /** Newest batch timestamp of a closed segment; the file mtime when batches carry no timestamps. */
  private async newestTimestamp(seg: Segment): Promise<number> {
    if (seg.maxTimestamp === undefined) {
      const buf = await fs.readFile(seg.timeIndexPath).catch(() => undefined);
      if (
        buf !== undefined &&
        buf.length === TIME_INDEX_ENTRY_SIZE &&
        buf.readUInt32BE(8) < seg.nextOffset - seg.baseOffset
      ) {
        seg.maxTimestamp = Number(buf.readBigInt64BE(0));
        seg.maxTimestampRel = buf.readUInt32BE(8);
      } else {
        seg.refs++;
        try {
          await this.ensureOpen(seg);
          if (seg.maxTimestamp === undefined) {
            assert.ok(seg.handle !== undefined);
            seg.index = await this.rebuildIndex(seg, seg.handle);
          }
        } finally {
          this.release(seg);
        }
        await this.io.writeFile(seg.timeIndexPath, seg.timeIndexBuffer(), this.syncs);
      }
    }
    const ts = seg.maxTimestamp ?? NO_TIMESTAMP;
    if (ts >= 0) return ts;
    return (await fs.stat(seg.logPath)).mtimeMs;
  }

  private async removeOldestSegment(reason: string): Promise<void> {
    assert.ok(this.segments.length > 1, 'never delete the active segment');
    const seg = this.segments.shift() as Segment;
    assert.ok(seg.builder === undefined);
    this.committedBytes -= seg.committedSize;
    seg.deleted = true;
    this.openClosed.delete(seg);
    if (seg.refs === 0) this.closeHandle(seg);
    this.counters.segmentsDeleted++;
    this.log.info(
      { topic: this.topic, partition: this.partition, segment: seg.baseOffset, reason, logStartOffset: this.logStartOffset() },
      'retention removed segment',
    );
    try {
      await this.unlinkSegmentFiles(seg);
    } catch (err) {
      this.log.error({ err, segment: seg.logPath }, 'could not delete segment files');
    }
  }

  /** Removes a segment's files, log first so a crash leaves only orphan index files. */
  private async unlinkSegmentFiles(seg: Segment): Promise<void> {
    await unlinkIfExists(seg.logPath);
    await unlinkIfExists(seg.indexPath);
    await unlinkIfExists(seg.timeIndexPath);
  }

  // ------------------------------------------------------------------- close

  private closedError(): StorageError {
    return new StorageError('CLOSED', `partition ${this.topic}-${this.partition} is ${this.state}`, {
      topic: this.topic,
      partition: this.partition,
    });
  }

  private async doClose(): Promise<void> {
    if (this.state === 'opening') return;
    this.state = 'closing';
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    if (this.retentionTimer !== undefined) clearInterval(this.retentionTimer);
    // Appends accepted before close() are completed.
    while (this.pumping) await this.pumpPromise;
    if (this.syncInFlight !== undefined) await this.syncInFlight;
    try {
      await this.exclusive(async () => {
        if (this.failure !== undefined) return;
        const seg = this.active;
        assert.ok(seg.handle !== undefined && seg.index !== undefined);
        await this.io.fsync(seg.handle, seg.logPath);
        await this.io.writeFile(seg.indexPath, seg.index.toBuffer(), true);
        await this.io.fsyncDir(this.dir);
      });
    } finally {
      this.state = 'closed';
      this.listeners.clear();
      this.openClosed.clear();
      await this.closeAllHandles();
      openDirs.delete(this.dir);
    }
  }
}

async function unlinkIfExists(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
