/**
 * A partition on NATS JetStream: one stream per partition (one Raft group,
 * one leader), one message per record batch, stored as the bytes received
 * with its base offset rewritten. Each message carries its base and next
 * offset in headers, so the store builds its offset→sequence index from a
 * headers-only ordered consumer; the same consumer keeps following the
 * stream, so appends by any writer wake this store's listeners (no polling).
 *
 * Writes are fenced: each publish names the sequence it expects the stream
 * to end at (Nats-Expected-Last-Sequence) and a message id unique to this
 * writer. A writer whose expectation fails looks at what was stored after its
 * last confirmed message: its own messages only (an earlier publish whose
 * answer was lost) → it carries on from there; anybody else's → it is fenced
 * for good, so a deposed leader cannot fork the log.
 */
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { readStoredHeader } from '../batch-layout.js';
import { BATCH_HEADER_SIZE, parseBatchHeader, readI64, setBaseOffset } from '../../protocol/index.js';
import { resolveStorageConfig, type StorageConfig } from '../config.js';
import { OffsetOutOfRangeError, StorageError } from '../errors.js';
import type { AppendResult, PartitionStore, ReadResult } from '../partition-store.js';
import type { JetStreamBackend } from './backend.js';
import { DEFAULT_NAMESPACE, HEADER, partitionStreamName, partitionSubject } from './naming.js';
import { SeqIndex, type IndexedBatch } from './seq-index.js';

export type ReplicationFactor = 1 | 3;

export interface JetStreamStoreOptions {
  topic: string;
  partition: number;
  /** Stream replicas; only used when the stream is created. */
  replicas: ReplicationFactor;
  /** Retention (retentionMs, maxPartitionSize) maps to stream limits; maxBatchSize bounds a message. */
  config?: Partial<StorageConfig>;
  /** Create the stream when missing (the topic's creation); otherwise a missing stream is an error. */
  create?: boolean;
  namespace?: string;
  /** Bytes of recently appended batches kept for tailing readers. Default 1 MiB. */
  cacheBytes?: number;
}

/** Batches read per call, at most (each is one stream request unless cached). */
const MAX_READ_MESSAGES = 256;
/** Messages a writer may have in flight; also how far resync looks for its own lost answers. */
const MAX_INFLIGHT_MESSAGES = 4096;
/** Header bytes a stored message adds to its batch, at most (the headers above plus the message id). */
const HEADER_ALLOWANCE = 512;
const JS_WRONG_LAST_SEQUENCE = 10071;
/** insufficient resources (too few servers up); replicas > 1 in non-clustered mode */
export const REPLICAS_REFUSED: readonly number[] = [10023, 10074];
const NANOS_PER_MS = 1_000_000;

type WriterState = 'ready' | 'unsure' | 'fenced';

/** Stream limits from a partition's storage settings (the file backend's retention, as JetStream limits). */
/**
 * A size limit is only set when the topic asks for one: JetStream reserves a
 * stream's max_bytes from the server's store up front, so the file backend's
 * 100 GiB default would not fit most servers.
 */
export function partitionStreamConfig(name: string, subject: string, replicas: ReplicationFactor, config: StorageConfig, maxPayload: number, explicitMaxBytes: boolean): Partial<StreamConfig> & { name: string } {
  const maxAgeMs = Number.isFinite(config.retentionMs) ? config.retentionMs : 0;
  return {
    name,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    max_age: maxAgeMs * NANOS_PER_MS,
    max_bytes: explicitMaxBytes && Number.isFinite(config.maxPartitionSize) ? config.maxPartitionSize : -1,
    max_msg_size: Math.min(maxPayload, config.maxBatchSize + HEADER_ALLOWANCE),
    // The duplicate window cannot be longer than the messages live.
    duplicate_window: Math.min(120_000, maxAgeMs || 120_000) * NANOS_PER_MS,
  };
}

function storageError(code: 'FENCED' | 'UNAVAILABLE' | 'CORRUPT' | 'CONFIG' | 'CLOSED' | 'INVALID_BATCH' | 'BATCH_TOO_LARGE', message: string, store: { topic: string; partition: number }, cause?: unknown): StorageError {
  return new StorageError(code, message, { topic: store.topic, partition: store.partition, ...(cause === undefined ? {} : { cause }) });
}

function headerNumber(msg: { headers?: { get(k: string): string } | undefined }, name: string): number {
  const value = Number(msg.headers?.get(name));
  return Number.isSafeInteger(value) ? value : NaN;
}

/**
 * Makes sure the partition's stream exists: looks it up, and creates it when
 * missing if `options.create` (several nodes may do this at once: creating
 * an identical stream again succeeds).
 */
export async function ensurePartitionStream(backend: JetStreamBackend, options: JetStreamStoreOptions): Promise<void> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const name = partitionStreamName(namespace, options.topic, options.partition);
  const where = { topic: options.topic, partition: options.partition };
  try {
    await backend.jsm.streams.info(name);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === 10059)) throw storageError('UNAVAILABLE', `looking up ${name} failed: ${(err as Error).message}`, where, err);
    if (!options.create) throw storageError('CONFIG', `stream ${name} of ${options.topic}-${options.partition} does not exist`, where);
  }
  const config = resolveStorageConfig(options.config);
  try {
    const subject = partitionSubject(namespace, options.topic, options.partition);
    await backend.jsm.streams.add(partitionStreamConfig(name, subject, options.replicas, config, backend.maxPayload(), options.config?.maxPartitionSize !== undefined));
  } catch (err) {
    if (options.replicas > 1 && err instanceof JetStreamApiError && REPLICAS_REFUSED.includes(err.code)) {
      throw storageError('CONFIG', `replication factor ${options.replicas} needs a NATS JetStream cluster of at least ${options.replicas} servers (${err.message})`, where, err);
    }
    throw storageError('UNAVAILABLE', `creating ${name} failed: ${(err as Error).message}`, where, err);
  }
}

export class JetStreamPartitionStore implements PartitionStore {
  readonly streamName: string;
  readonly subject: string;
  private readonly index = new SeqIndex();
  private readonly config: StorageConfig;
  private readonly writerId = randomUUID().slice(0, 18);
  private readonly listeners = new Set<(highWatermark: number) => void>();
  /** Batches learned out of sequence order, until the gap before them fills. */
  private readonly early = new Map<number, IndexedBatch>();
  private readonly cache = new Map<number, Buffer>();
  private cachedBytes = 0;
  private readonly cacheLimit: number;
  private writerState: WriterState = 'ready';
  /** The sequence and offset this writer's next publish follows. */
  private writerLastSeq = 0;
  private writerNextOffset = 0;
  /** Last sequence known to be this writer's own, or adopted when it opened or resynced. */
  private confirmedSeq = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private resyncing: Promise<void> | undefined;
  private messages: ConsumerMessages | undefined;
  private following: Promise<void> | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly backend: JetStreamBackend,
    readonly topic: string,
    readonly partition: number,
    config: StorageConfig,
    namespace: string,
    cacheBytes: number,
  ) {
    this.config = config;
    this.streamName = partitionStreamName(namespace, topic, partition);
    this.subject = partitionSubject(namespace, topic, partition);
    this.cacheLimit = cacheBytes;
  }

  static async open(backend: JetStreamBackend, options: JetStreamStoreOptions): Promise<JetStreamPartitionStore> {
    const config = resolveStorageConfig(options.config);
    const store = new JetStreamPartitionStore(backend, options.topic, options.partition, config, options.namespace ?? DEFAULT_NAMESPACE, options.cacheBytes ?? 1024 * 1024);
    try {
      await ensurePartitionStream(backend, options);
      await store.catchUp();
    } catch (err) {
      await store.close();
      throw store.unavailable('opening', err);
    }
    if (config.retentionCheckIntervalMs > 0) {
      store.retentionTimer = setInterval(() => void store.refreshRetention().catch(() => {}), config.retentionCheckIntervalMs);
      store.retentionTimer.unref();
    }
    return store;
  }

  logStartOffset(): number {
    return this.index.startOffset;
  }

  highWatermark(): number {
    return this.index.nextOffset;
  }

  sizeBytes(): number {
    return this.index.totalBytes;
  }

  /** The stream sequence of the last indexed batch (0 when none). */
  lastSequence(): number {
    return this.index.lastSeq;
  }

  onAppend(listener: (highWatermark: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async append(batches: Buffer[]): Promise<AppendResult> {
    if (this.closed) throw storageError('CLOSED', `partition ${this.topic}-${this.partition} is closed`, this);
    if (batches.length === 0) throw storageError('INVALID_BATCH', 'append needs at least one batch', this);
    this.validate(batches);
    if (this.writerState === 'unsure') await this.resync();
    if (this.isFenced()) throw this.fencedError();
    if (this.inflight.size + batches.length > MAX_INFLIGHT_MESSAGES) {
      throw storageError('UNAVAILABLE', `partition ${this.topic}-${this.partition} has ${this.inflight.size} batches waiting for JetStream; retry`, this);
    }
    const baseOffset = this.writerNextOffset;
    const settled = await Promise.allSettled(batches.map((batch) => this.publish(batch)));
    const stored: IndexedBatch[] = [];
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') {
        stored.push(outcome.value);
        continue;
      }
      // Find out at once whether someone else wrote, so that a deposed
      // leader's append fails as fenced rather than as a retryable error.
      if (this.writerState === 'unsure') await this.resync().catch(() => {});
      throw this.isFenced() ? this.fencedError() : outcome.reason;
    }
    return { baseOffset, lastOffset: stored.at(-1)!.nextOffset - 1 };
  }

  async read(offset: number, maxBytes: number): Promise<ReadResult> {
    if (this.closed) throw storageError('CLOSED', `partition ${this.topic}-${this.partition} is closed`, this);
    for (let attempt = 0; ; attempt++) {
      const logStartOffset = this.logStartOffset();
      const highWatermark = this.highWatermark();
      if (offset < logStartOffset || offset > highWatermark) throw new OffsetOutOfRangeError(offset, logStartOffset, highWatermark);
      if (offset === highWatermark) return { chunks: [], bytes: 0, logStartOffset, highWatermark };
      const first = this.index.find(offset);
      if (!first) throw storageError('CORRUPT', `offset ${offset} of ${this.topic}-${this.partition} is not indexed`, this);
      const wanted: IndexedBatch[] = [first];
      let bytes = first.size;
      for (let seq = first.seq + 1; seq <= this.index.lastSeq && wanted.length < MAX_READ_MESSAGES; seq++) {
        const next = this.index.at(seq)!;
        if (bytes + next.size > maxBytes) break;
        wanted.push(next);
        bytes += next.size;
      }
      const chunks = await Promise.all(wanted.map((batch) => this.fetchBatch(batch)));
      if (chunks.every((chunk) => chunk !== undefined)) {
        return { chunks: chunks as Buffer[], bytes, logStartOffset: this.logStartOffset(), highWatermark: this.highWatermark() };
      }
      // A message went while we read: the stream's limits removed it. Learn
      // the new start, then answer from there (or out of range).
      if (attempt > 0) throw storageError('CORRUPT', `batch at offset ${offset} of ${this.topic}-${this.partition} is missing from ${this.streamName}`, this);
      await this.refreshRetention();
    }
  }

  /** Learns how far the stream's limits (max age, max bytes) have removed old batches. */
  async refreshRetention(): Promise<void> {
    const info = await this.backend.jsm.streams.info(this.streamName);
    if (info.state.first_seq > this.index.lastSeq) {
      this.index.reset(info.state.first_seq, this.index.nextOffset);
    } else {
      this.index.trimBefore(info.state.first_seq);
    }
    for (const seq of this.cache.keys()) if (seq < info.state.first_seq) this.uncache(seq);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.retentionTimer);
    await Promise.allSettled([...this.inflight]);
    await this.messages?.close().catch(() => {});
    await this.following;
    this.listeners.clear();
    this.cache.clear();
  }

  /** Deletes the stream (the topic's deletion). */
  async delete(): Promise<void> {
    await this.close();
    await this.backend.jsm.streams.delete(this.streamName).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError && err.code === 10059)) throw err;
    });
  }

  /**
   * Indexes every stored batch from its headers, then keeps following the
   * stream. Resolves once the index reaches the stream's last sequence as it
   * was when we looked.
   */
  private async catchUp(): Promise<void> {
    const info = await this.backend.jsm.streams.info(this.streamName);
    this.index.reset(Math.max(1, info.state.first_seq), 0);
    const consumer = await this.backend.js.consumers.get(this.streamName, {
      headers_only: true,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Math.max(1, info.state.first_seq),
    });
    this.messages = await consumer.consume({ max_messages: 1000 });
    const target = info.state.messages === 0 ? 0 : info.state.last_seq;
    let reached!: () => void;
    let failed!: (err: unknown) => void;
    const caughtUp = new Promise<void>((resolve, reject) => {
      reached = resolve;
      failed = reject;
    });
    if (this.index.lastSeq >= target) reached();
    const messages = this.messages;
    this.following = (async () => {
      try {
        for await (const msg of messages) {
          this.learnDelivered(msg);
          if (this.index.lastSeq >= target) reached();
        }
      } catch (err) {
        failed(err);
      }
      failed(storageError('CLOSED', `stopped following ${this.streamName}`, this));
    })();
    await caughtUp;
    this.writerLastSeq = this.index.lastSeq;
    this.confirmedSeq = this.index.lastSeq;
    this.writerNextOffset = this.index.nextOffset;
  }

  private learnDelivered(msg: JsMsg): void {
    const baseOffset = headerNumber(msg, HEADER.baseOffset);
    const nextOffset = headerNumber(msg, HEADER.nextOffset);
    const size = headerNumber(msg, HEADER.size);
    if (!(nextOffset > baseOffset) || !(size >= BATCH_HEADER_SIZE)) return; // not a batch of ours
    this.learn({ seq: msg.seq, baseOffset, nextOffset, size });
  }

  /** Adds a stored batch to the index (from an ack or a delivery, whichever comes first) and wakes listeners. */
  private learn(batch: IndexedBatch): void {
    if (batch.seq <= this.index.lastSeq) return;
    if (this.index.size === 0 && batch.seq > this.index.lastSeq + 1 && this.early.size === 0) {
      // The first batch we see follows batches retention removed meanwhile.
      this.index.reset(batch.seq, batch.baseOffset);
    }
    this.early.set(batch.seq, batch);
    const before = this.index.lastSeq;
    for (let next = this.early.get(this.index.lastSeq + 1); next; next = this.early.get(this.index.lastSeq + 1)) {
      this.early.delete(next.seq);
      this.index.push(next);
    }
    if (this.index.lastSeq === before) return;
    const highWatermark = this.index.nextOffset;
    for (const listener of this.listeners) listener(highWatermark);
  }

  private validate(batches: Buffer[]): void {
    const limit = Math.min(this.config.maxBatchSize, this.backend.maxPayload() - HEADER_ALLOWANCE);
    for (const batch of batches) {
      if (batch.length < BATCH_HEADER_SIZE) throw storageError('INVALID_BATCH', `batch of ${batch.length} bytes is shorter than a batch header`, this);
      // The base offset is the node's to set: only the rest of the header is checked.
      const header = readStoredHeader(batch, 0);
      if (typeof header === 'string') throw storageError('INVALID_BATCH', `invalid batch: ${header}`, this);
      if (header.totalLength !== batch.length) throw storageError('INVALID_BATCH', `batch_len says ${header.totalLength} bytes, the buffer holds ${batch.length}`, this);
      if (batch.length > limit) throw storageError('BATCH_TOO_LARGE', `batch of ${batch.length} bytes exceeds the limit of ${limit} bytes`, this);
    }
  }

  /** Publishes one batch at the writer's next sequence; resolves with it indexed. */
  private publish(batch: Buffer): Promise<IndexedBatch> {
    const expected = this.writerLastSeq;
    const baseOffset = this.writerNextOffset;
    const nextOffset = baseOffset + parseBatchHeader(batch, 0).lastOffsetDelta + 1;
    setBaseOffset(batch, baseOffset);
    this.writerLastSeq = expected + 1;
    this.writerNextOffset = nextOffset;
    const headers = natsHeaders();
    headers.set(HEADER.baseOffset, String(baseOffset));
    headers.set(HEADER.nextOffset, String(nextOffset));
    const work = (async () => {
      try {
        const ack = await this.backend.js.publish(this.subject, batch, { headers, msgID: `${this.writerId}:${expected + 1}`, expect: { lastSequence: expected } });
        if (ack.seq !== expected + 1) throw storageError('CORRUPT', `${this.streamName} stored a batch at seq ${ack.seq}, expected ${expected + 1}`, this);
        const stored: IndexedBatch = { seq: ack.seq, baseOffset, nextOffset, size: batch.length };
        if (this.confirmedSeq === expected) this.confirmedSeq = ack.seq;
        this.cacheBatch(ack.seq, batch);
        this.learn(stored);
        return stored;
      } catch (err) {
        if (err instanceof StorageError) throw err;
        if (this.writerState === 'ready') this.writerState = 'unsure';
        throw err instanceof JetStreamApiError && err.code === JS_WRONG_LAST_SEQUENCE
          ? storageError('UNAVAILABLE', `${this.streamName} moved on while this append was in flight; retry`, this, err)
          : this.unavailable('appending to', err);
      }
    })();
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work)).catch(() => {});
    return work;
  }

  /**
   * After a failed publish: waits for the other in-flight publishes, then
   * looks at every message after the last one this writer knows is its own.
   * Its own (answers lost on the way) are adopted; anybody else's fence it.
   */
  private resync(): Promise<void> {
    this.resyncing ??= (async () => {
      try {
        await Promise.allSettled([...this.inflight]);
        const info = await this.backend.jsm.streams.info(this.streamName);
        const last = info.state.last_seq;
        if (last - this.confirmedSeq > MAX_INFLIGHT_MESSAGES) {
          this.writerState = 'fenced';
          return;
        }
        for (let seq = this.confirmedSeq + 1; seq <= last; seq++) {
          const stored = await this.backend.jsm.streams.getMessage(this.streamName, { seq });
          if (!stored || !stored.header.get(HEADER.msgId).startsWith(`${this.writerId}:`)) {
            this.writerState = 'fenced';
            return;
          }
          const baseOffset = readI64(Buffer.from(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength), 0);
          this.learn({ seq, baseOffset, nextOffset: headerNumber({ headers: stored.header }, HEADER.nextOffset), size: stored.data.byteLength });
          this.confirmedSeq = seq;
        }
        const end = this.index.at(last);
        this.writerLastSeq = last;
        this.writerNextOffset = end ? end.nextOffset : this.index.nextOffset;
        this.writerState = 'ready';
      } catch (err) {
        throw this.unavailable('checking', err);
      } finally {
        this.resyncing = undefined;
      }
    })();
    return this.resyncing;
  }

  private async fetchBatch(batch: IndexedBatch): Promise<Buffer | undefined> {
    const cached = this.cache.get(batch.seq);
    if (cached) return cached;
    let stored;
    try {
      stored = await this.backend.jsm.streams.getMessage(this.streamName, { seq: batch.seq });
    } catch (err) {
      throw this.unavailable('reading from', err);
    }
    if (!stored) return undefined;
    const bytes = Buffer.from(stored.data.buffer, stored.data.byteOffset, stored.data.byteLength);
    if (bytes.length !== batch.size || readI64(bytes, 0) !== batch.baseOffset) {
      throw storageError('CORRUPT', `${this.streamName} seq ${batch.seq} holds ${bytes.length} bytes at offset ${readI64(bytes, 0)}, the index says ${batch.size} bytes at ${batch.baseOffset}`, this);
    }
    return bytes;
  }

  private cacheBatch(seq: number, batch: Buffer): void {
    if (batch.length > this.cacheLimit) return;
    this.cache.set(seq, batch);
    this.cachedBytes += batch.length;
    for (const oldest of this.cache.keys()) {
      if (this.cachedBytes <= this.cacheLimit) break;
      this.uncache(oldest);
    }
  }

  private uncache(seq: number): void {
    const batch = this.cache.get(seq);
    if (!batch) return;
    this.cache.delete(seq);
    this.cachedBytes -= batch.length;
  }

  /** True once another writer appended: this store refuses every later append. */
  isFenced(): boolean {
    return this.writerState === 'fenced';
  }

  private fencedError(): StorageError {
    return storageError('FENCED', `partition ${this.topic}-${this.partition}: another writer appended to ${this.streamName}; this one no longer leads it`, this);
  }

  private unavailable(doing: string, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    return storageError('UNAVAILABLE', `${doing} ${this.streamName} failed: ${(err as Error).message}`, this, err);
  }
}
