/**
 * FilePartitionStore: a partition as a segmented append-only log on local disk.
 *
 * Layout: `<dataDir>/<topic>-<partition>/<20-digit base offset>.{log,index,timeindex}`.
 *
 * This is the facade over the parts: the segment set (segment-set.ts), the
 * append path with group commit and the fsync policy (appender.ts), reads
 * (reader.ts), recovery on open (recovery.ts) and retention (retention.ts).
 * Every mutation (append groups, segment roll, retention, close) runs under
 * one lock, so at most one write group is in flight; reads take no lock.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { pino } from 'pino';

import { Appender } from './appender.js';
import { resolveStorageConfig, type StorageConfig } from './config.js';
import { OffsetOutOfRangeError, StorageError } from './errors.js';
import { isNoSpace, newStats, StorageIo, type StorageHooks, type StorageStats } from './io.js';
import { MutationLock } from './mutation-lock.js';
import { noSpaceError, writeCacheFile, type PartitionEnv, type StorageLogger } from './partition-env.js';
import type { AppendResult, PartitionStore, ReadResult } from './partition-store.js';
import { PartitionReader } from './reader.js';
import { recoverPartition } from './recovery.js';
import { enforceRetention } from './retention.js';
import { SegmentSet } from './segment-set.js';

export type { StorageLogger } from './partition-env.js';

const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,248}$/;

/** Partition directories open in this process: two stores on one directory would corrupt it. */
const openDirs = new Set<string>();

let defaultLogger: StorageLogger | undefined;
function getDefaultLogger(): StorageLogger {
  defaultLogger ??= pino({ name: 'freshet-storage', level: process.env.FRESHET_STORAGE_LOG_LEVEL ?? 'warn' });
  return defaultLogger;
}

export class FilePartitionStore implements PartitionStore {
  readonly topic: string;
  readonly partition: number;
  /** `<dataDir>/<topic>-<partition>` */
  readonly dir: string;
  readonly config: Readonly<StorageConfig>;

  private readonly env: PartitionEnv;
  private readonly counters: StorageStats = newStats();
  private readonly lock = new MutationLock();
  private readonly segments: SegmentSet;
  private readonly reader: PartitionReader;
  /** Set once recovery has run. */
  private appender: Appender | undefined;
  private readonly listeners = new Set<(hw: number) => void>();

  private state: 'opening' | 'open' | 'closing' | 'closed' = 'opening';
  private closePromise: Promise<void> | undefined;
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
    this.env = {
      topic,
      partition,
      dir: this.dir,
      config: this.config,
      log: logger,
      io: new StorageIo(hooks, this.counters),
      syncs: config.flush.kind !== 'os',
    };
    this.segments = new SegmentSet(this.env);
    this.reader = new PartitionReader(this.env, this.segments, () => this.highWatermark());
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
      await recoverPartition(store.env, store.segments);
    } catch (err) {
      openDirs.delete(store.dir);
      await store.segments.closeAll();
      if (err instanceof StorageError || err instanceof assert.AssertionError) throw err;
      if (isNoSpace(err)) throw noSpaceError(store.env, err, 'it cannot be opened until space is freed');
      throw new StorageError('IO', `cannot open partition ${store.dir}: ${String(err)}`, { cause: err, topic, partition });
    }
    store.appender = new Appender(store.env, store.segments, store.counters, store.lock, (hw) => store.notify(hw));
    store.state = 'open';
    store.startTimers();
    return store;
  }

  // ---------------------------------------------------------------- contract

  logStartOffset(): number {
    return this.segments.logStartOffset();
  }

  highWatermark(): number {
    return this.appender?.highWatermark() ?? 0;
  }

  sizeBytes(): number {
    return this.segments.committedBytes;
  }

  /** Counters (appends, groups, writes, fsyncs, reads, segments deleted). */
  stats(): Readonly<StorageStats> {
    return { ...this.counters };
  }

  /** Number of segments (for tests and metrics). */
  segmentCount(): number {
    return this.segments.count;
  }

  /** Base offsets of the segments, oldest first (for tests and metrics). */
  segmentBaseOffsets(): number[] {
    return this.segments.baseOffsets();
  }

  /** Set when an fsync (or a rollback) failed; the partition then refuses appends. */
  failed(): StorageError | undefined {
    return this.appender?.failed();
  }

  append(batches: Buffer[]): Promise<AppendResult> {
    if (this.state !== 'open' || this.appender === undefined) return Promise.reject(this.closedError());
    return this.appender.append(batches);
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    if (this.state === 'closed' || this.state === 'opening') throw this.closedError();
    if (!Number.isSafeInteger(offset)) throw new RangeError(`offset must be a safe integer, got ${offset}`);
    const hw = this.highWatermark();
    const lso = this.logStartOffset();
    if (offset < lso || offset > hw) throw new OffsetOutOfRangeError(offset, lso, hw);
    if (offset === hw) return { chunks: [], bytes: 0, logStartOffset: lso, highWatermark: hw };
    return this.reader.read(offset, maxBytes, hw);
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
    await this.env.io.removeDir(this.dir);
  }

  /**
   * Deletes closed segments past retention: oldest first while the newest
   * timestamp in the segment is older than retentionMs, then oldest first while
   * the partition is larger than maxPartitionSize. The active segment is never
   * deleted. Returns the number of segments removed.
   */
  async enforceRetention(now: number = Date.now()): Promise<number> {
    if (this.state !== 'open') return 0;
    return this.lock.run(async () => {
      if (this.state !== 'open') return 0;
      return enforceRetention(this.env, this.segments, this.counters, now);
    });
  }

  // ----------------------------------------------------------------- private

  private notify(hw: number): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(hw);
      } catch (err) {
        this.env.log.error({ err, dir: this.dir }, 'onAppend listener threw');
      }
    }
  }

  private startTimers(): void {
    const flush = this.config.flush;
    if (flush.kind === 'interval') {
      this.flushTimer = setInterval(() => {
        if (this.state === 'open') void this.appender?.intervalSync();
      }, flush.intervalMs);
      this.flushTimer.unref();
    }
    if (this.config.retentionCheckIntervalMs > 0) {
      this.retentionTimer = setInterval(() => {
        this.enforceRetention().catch((err: unknown) => this.env.log.error({ err, dir: this.dir }, 'retention pass failed'));
      }, this.config.retentionCheckIntervalMs);
      this.retentionTimer.unref();
    }
  }

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
    const appender = this.appender;
    assert.ok(appender !== undefined, 'an open store has an appender');
    // Appends accepted before close() are completed.
    await appender.drain();
    try {
      await this.lock.run(async () => {
        if (appender.failed() !== undefined) return;
        const seg = this.segments.active;
        assert.ok(seg.handle !== undefined && seg.index !== undefined);
        await this.env.io.fsync(seg.handle, seg.logPath);
        await writeCacheFile(this.env, seg.indexPath, seg.index.toBuffer(), true);
        await this.env.io.fsyncDir(this.dir);
      });
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      throw noSpaceError(this.env, err, 'the close did not complete its fsync; the next open checks the tail again');
    } finally {
      this.state = 'closed';
      this.listeners.clear();
      await this.segments.closeAll();
      openDirs.delete(this.dir);
    }
  }
}
