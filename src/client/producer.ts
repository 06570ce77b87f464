// The producer: records are partitioned (as Fluvio's client would), gathered
// per partition into batches that close on size (batchSize) or age
// (lingerMs), compressed, and sent with one Produce request per leader at a
// time, each carrying every batch that is ready (up to maxRequestSize).
//
// Delivery is at-least-once: a transport failure (connection refused, reset,
// closed, timed out) is retried on a new connection with exponential backoff
// until deliveryTimeoutMs; an error code from the server is not retried
// (except "not leader", which re-reads the leaders). Every send's promise
// settles: with its offset (the entry's base_offset + the record's index in
// its batch) or with a DeliveryError / ServerError. Nothing is dropped
// silently.
//
// Memory is bounded: records accepted but not yet acknowledged count against
// maxBufferedBytes, and send() waits (in order) until there is room.

import { ErrorCode } from '../protocol/error-code.js';
import { Isolation } from '../protocol/messages/isolation.js';
import type { ProduceRequest } from '../protocol/messages/produce.js';
import { BATCH_HEADER_SIZE } from '../protocol/record-batch.js';
import { ProduceApi } from './apis.js';
import { buildBatch, compressionId, type CompressionName } from '../protocol/compression.js';
import { backoffDelay, formatAddress, sleep, type Address } from './connection.js';
import {
  ClosedError,
  DeliveryError,
  FreshetError,
  PartitionNotFoundError,
  RecordTooLargeError,
  ServerError,
  isRetryable,
} from './errors.js';
import { NOT_LEADER_CODES } from './metadata.js';
import { Partitioner } from './partitioner.js';
import type { ClientContext } from './context.js';

/** Keys and values: strings are sent as UTF-8. */
export type Data = string | Uint8Array;

export interface ProducerRecord {
  key?: Data | null;
  value: Data;
  /** Send to this partition instead of the partitioner's choice. */
  partition?: number;
  /** ms since the epoch; default now. */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: number;
}

export interface ProducerOptions {
  /** How long a batch waits for more records before it is sent (ms). Default 5. */
  lingerMs?: number;
  /** A batch is sent once its records reach this many bytes. Default 16384 (as Fluvio). */
  batchSize?: number;
  /** Largest Produce request (and so largest record). Default 1 MiB (as Fluvio). */
  maxRequestSize?: number;
  /** Bytes of records accepted but not yet acknowledged; send() waits beyond it. Default 32 MiB. */
  maxBufferedBytes?: number;
  /** Batch compression. Default 'none'. */
  compression?: CompressionName;
  /** How long a record may take to be acknowledged, retries included (ms). Default 30 000; 0 sends once, never retrying (at-most-once). */
  deliveryTimeoutMs?: number;
  /** First retry delay after a transport failure (ms), doubling up to maxRetryBackoffMs. Default 50. */
  retryBackoffMs?: number;
  /** Default 1000. */
  maxRetryBackoffMs?: number;
  /** Deadline of one Produce request (ms). Default 15 000. */
  requestTimeoutMs?: number;
  /** 'read_uncommitted' (the default, acknowledged by the leader) or 'read_committed'. */
  isolation?: 'read_uncommitted' | 'read_committed';
}

const DEFAULTS: Required<ProducerOptions> = {
  lingerMs: 5,
  batchSize: 16_384,
  maxRequestSize: 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  compression: 'none',
  deliveryTimeoutMs: 30_000,
  retryBackoffMs: 50,
  maxRetryBackoffMs: 1000,
  requestTimeoutMs: 15_000,
  isolation: 'read_uncommitted',
};

/** Bytes of a record besides key and value (length, attributes, deltas, key tag, lengths, headers). */
const RECORD_OVERHEAD = 16;
/** What Fluvio's producer puts in the Produce request's timeout field (ms). */
const PRODUCE_SERVER_TIMEOUT_MS = 1500;

interface PendingRecord {
  key: Buffer | null;
  value: Buffer;
  timestamp: number;
  size: number;
  resolve(metadata: RecordMetadata): void;
  reject(err: Error): void;
}

interface Batch {
  partition: number;
  records: PendingRecord[];
  bytes: number;
  /** Set when first sent; retries stop here. */
  deadline?: number;
}

function toBuffer(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class Producer {
  private readonly options: Required<ProducerOptions>;
  private readonly compression: number;
  private readonly partitioner = new Partitioner();
  private readonly open = new Map<number, Batch>();
  private ready: Batch[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerImmediate: NodeJS.Immediate | undefined;
  private sending = false;
  private buffered = 0;
  private readonly waiters: { size: number; resolve(): void; reject(err: Error): void }[] = [];
  private readonly unsettled = new Set<Promise<unknown>>();
  private failures: Error[] = [];
  private failureCount = 0;
  private closed = false;
  private requests = 0;

  private constructor(
    private readonly context: ClientContext,
    readonly topic: string,
    private partitionCount: number,
    private leaders: Address[],
    options: ProducerOptions,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.compression = compressionId(this.options.compression);
    for (const name of ['lingerMs', 'batchSize', 'maxRequestSize', 'maxBufferedBytes', 'deliveryTimeoutMs'] as const) {
      const value = this.options[name];
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`producer option ${name} must be a non-negative number, not ${value}`);
    }
  }

  /** @internal Use `freshet.producer(topic)`. */
  static async create(context: ClientContext, topic: string, options: ProducerOptions = {}, onClose?: () => void): Promise<Producer> {
    const { topic: info, leaders } = await context.metadata.leaders(topic);
    const producer = new Producer(context, topic, info.partitions, leaders, options);
    producer.onClose = onClose;
    return producer;
  }

  private onClose: (() => void) | undefined;

  /** Partitions of the topic (as of the producer's creation). */
  get partitions(): number {
    return this.partitionCount;
  }

  /** Bytes of records accepted and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Produce requests sent so far (retries included); for tests and metrics. */
  get requestCount(): number {
    return this.requests;
  }

  /** Sends one record; resolves with its offset once the leader stored it. */
  async send(key: Data | null | undefined, value: Data, options: { partition?: number; timestamp?: number } = {}): Promise<number> {
    return (await this.sendRecord({ key, value, ...options })).offset;
  }

  /** Sends one record; resolves with where it was stored. */
  sendRecord(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.closed) return Promise.reject(new ClosedError(`producer for topic "${this.topic}"`));
    let key: Buffer | null;
    let value: Buffer;
    let partition: number;
    try {
      key = record.key === null || record.key === undefined ? null : toBuffer(record.key);
      value = toBuffer(record.value);
      partition = record.partition ?? this.partitioner.partition(key, this.partitionCount);
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
        throw new PartitionNotFoundError(this.topic, partition, this.partitionCount);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const size = (key?.length ?? 0) + value.length + RECORD_OVERHEAD;
    if (size + BATCH_HEADER_SIZE > this.options.maxRequestSize) {
      return Promise.reject(new RecordTooLargeError(size + BATCH_HEADER_SIZE, this.options.maxRequestSize));
    }
    const timestamp = record.timestamp ?? Date.now();
    const promise = new Promise<RecordMetadata>((resolve, reject) => {
      const enqueue = () => this.enqueue({ key, value, timestamp, size, resolve, reject }, partition);
      const wait = this.reserve(size);
      if (wait === undefined) enqueue();
      else wait.then(enqueue, reject);
    });
    this.track(promise);
    return promise;
  }

  /** Sends everything buffered now and waits until it is acknowledged; rejects if a record failed since the last flush. */
  async flush(): Promise<void> {
    this.sealAll();
    await Promise.allSettled([...this.unsettled]);
    if (this.failureCount > 0) {
      const [first] = this.failures;
      const count = this.failureCount;
      this.failures = [];
      this.failureCount = 0;
      throw new DeliveryError(`${count} record(s) sent to topic "${this.topic}" failed since the last flush; the first: ${first.message}`, first);
    }
  }

  /** Flushes, then refuses further sends. Delivery failures were reported by each send's promise. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => {});
    this.closed = true;
    const err = new ClosedError(`producer for topic "${this.topic}"`);
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    this.onClose?.();
  }

  // --- buffering -------------------------------------------------------------

  /** Takes room for a record: undefined when taken at once, else a promise that resolves (in order) when taken. */
  private reserve(size: number): Promise<void> | undefined {
    if (this.waiters.length === 0 && (this.buffered + size <= this.options.maxBufferedBytes || this.buffered === 0)) {
      this.buffered += size;
      return undefined;
    }
    // Whatever waits must be able to go out: send the open batches now.
    this.sealAll();
    return new Promise((resolve, reject) => this.waiters.push({ size, resolve, reject }));
  }

  private release(size: number): void {
    this.buffered -= size;
    while (this.waiters.length > 0) {
      const next = this.waiters[0];
      if (this.buffered + next.size > this.options.maxBufferedBytes && this.buffered > 0) break;
      this.waiters.shift();
      this.buffered += next.size;
      next.resolve();
    }
  }

  private track(promise: Promise<RecordMetadata>): void {
    this.unsettled.add(promise);
    promise.then(
      () => this.unsettled.delete(promise),
      (err: Error) => {
        this.unsettled.delete(promise);
        this.failureCount++;
        if (this.failures.length < 10) this.failures.push(err);
      },
    );
  }

  private enqueue(record: PendingRecord, partition: number): void {
    if (this.closed) {
      this.release(record.size);
      record.reject(new ClosedError(`producer for topic "${this.topic}"`));
      return;
    }
    let batch = this.open.get(partition);
    if (batch && batch.records.length > 0 && batch.bytes + record.size > this.options.batchSize) {
      this.seal(partition);
      batch = undefined;
    }
    if (!batch) {
      batch = { partition, records: [], bytes: 0 };
      this.open.set(partition, batch);
    }
    batch.records.push(record);
    batch.bytes += record.size;
    if (batch.bytes >= this.options.batchSize) {
      this.seal(partition);
    } else if (this.lingerTimer === undefined && this.lingerImmediate === undefined) {
      if (this.options.lingerMs > 0) this.lingerTimer = setTimeout(() => this.sealAll(), this.options.lingerMs);
      else this.lingerImmediate = setImmediate(() => this.sealAll());
    }
  }

  private seal(partition: number): void {
    const batch = this.open.get(partition);
    if (!batch) return;
    this.open.delete(partition);
    this.ready.push(batch);
    this.kick();
  }

  private sealAll(): void {
    clearTimeout(this.lingerTimer);
    if (this.lingerImmediate) clearImmediate(this.lingerImmediate);
    this.lingerTimer = undefined;
    this.lingerImmediate = undefined;
    for (const partition of [...this.open.keys()]) this.seal(partition);
  }

  // --- sending ---------------------------------------------------------------

  private kick(): void {
    if (this.sending || this.ready.length === 0) return;
    this.sending = true;
    void this.sendLoop().finally(() => {
      this.sending = false;
      this.kick();
    });
  }

  /** One request per leader at a time, each with every batch that is ready (up to maxRequestSize). */
  private async sendLoop(): Promise<void> {
    while (this.ready.length > 0) {
      const groups = new Map<string, { address: Address; batches: Batch[]; bytes: number }>();
      const full = new Set<string>();
      const rest: Batch[] = [];
      for (const batch of this.ready) {
        const address = this.leaders[batch.partition];
        const key = formatAddress(address);
        let group = groups.get(key);
        if (!group) {
          group = { address, batches: [], bytes: 0 };
          groups.set(key, group);
        }
        // Keep per-partition order: once a leader's request is full, later batches wait.
        if (full.has(key) || (group.batches.length > 0 && group.bytes + batch.bytes + BATCH_HEADER_SIZE > this.options.maxRequestSize)) {
          full.add(key);
          rest.push(batch);
          continue;
        }
        group.batches.push(batch);
        group.bytes += batch.bytes + BATCH_HEADER_SIZE;
      }
      this.ready = rest;
      await Promise.all(
        [...groups.values()].map((group) =>
          this.deliver(group.address, group.batches).catch((err: unknown) => {
            // Never leave a record unsettled, whatever went wrong.
            const error = new DeliveryError(`producer for topic "${this.topic}" failed: ${(err as Error).message}`, err);
            for (const batch of group.batches) if (batch.records.length > 0) this.settle(batch, { error });
          }),
        ),
      );
    }
  }

  private settle(batch: Batch, outcome: { baseOffset: number } | { error: Error }): void {
    const records = batch.records;
    batch.records = [];
    records.forEach((record, index) => {
      this.release(record.size);
      if ('error' in outcome) record.reject(outcome.error);
      else record.resolve({ topic: this.topic, partition: batch.partition, offset: outcome.baseOffset + index });
    });
  }

  private async deliver(address: Address, batches: Batch[]): Promise<void> {
    const now = Date.now();
    for (const batch of batches) batch.deadline ??= now + this.options.deliveryTimeoutMs;
    let encoded: Buffer[];
    try {
      encoded = await Promise.all(
        batches.map((batch) => {
          const first = batch.records[0].timestamp;
          return buildBatch(
            batch.records.map((record) => ({ key: record.key, value: record.value, timestampDelta: record.timestamp - first })),
            this.compression,
            first,
          );
        }),
      );
    } catch (err) {
      const error = new DeliveryError(`cannot encode a batch for topic "${this.topic}": ${(err as Error).message}`, err);
      for (const batch of batches) this.settle(batch, { error });
      return;
    }
    const request: ProduceRequest = {
      isolation: this.options.isolation === 'read_committed' ? Isolation.ReadCommitted : Isolation.ReadUncommitted,
      timeoutMs: PRODUCE_SERVER_TIMEOUT_MS,
      topics: [{ name: this.topic, partitions: batches.map((batch, i) => ({ partitionIndex: batch.partition, records: encoded[i] })) }],
      smartmodules: [],
    };
    const deadline = Math.min(...batches.map((batch) => batch.deadline!));
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        this.requests++;
        const connection = await this.context.spuLink(address).connection();
        response = await connection.send(ProduceApi, request, { timeoutMs: this.options.requestTimeoutMs });
      } catch (err) {
        const delay = backoffDelay(attempt, this.options.retryBackoffMs, this.options.maxRetryBackoffMs);
        if (isRetryable(err) && Date.now() + delay < deadline && !this.context.isClosed) {
          await sleep(delay);
          continue;
        }
        const count = batches.reduce((sum, batch) => sum + batch.records.length, 0);
        const error = new DeliveryError(
          `could not deliver ${count} record(s) to topic "${this.topic}" at ${formatAddress(address)} after ${attempt + 1} attempt(s): ${(err as Error).message}`,
          err,
        );
        for (const batch of batches) this.settle(batch, { error });
        return;
      }
      const entries = response.responses.find((topic) => topic.name === this.topic)?.partitions ?? [];
      const misrouted: Batch[] = [];
      batches.forEach((batch, i) => {
        const entry = entries[i];
        if (!entry) {
          this.settle(batch, { error: new FreshetError('PROTOCOL', `the server did not answer for a batch of ${this.topic}-${batch.partition}`) });
        } else if (entry.errorCode.code === ErrorCode.None) {
          this.settle(batch, { baseOffset: entry.baseOffset });
        } else if (NOT_LEADER_CODES.has(entry.errorCode.code) && Date.now() < batch.deadline!) {
          misrouted.push(batch);
        } else {
          this.settle(batch, { error: new ServerError(entry.errorCode, `produce to ${this.topic}-${batch.partition}`) });
        }
      });
      if (misrouted.length > 0) {
        // The leadership moved: look the leaders up again and send those batches first.
        try {
          this.leaders = (await this.context.metadata.leaders(this.topic)).leaders;
        } catch {
          await sleep(this.options.retryBackoffMs);
        }
        this.ready.unshift(...misrouted);
      }
      return;
    }
  }
}
