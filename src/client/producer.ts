// The producer: records are partitioned (as Fluvio's client would), encoded
// at once into per-partition batches that close on size (batchSize) or age
// (lingerMs), compressed, and sent in Produce requests, each carrying every
// batch that is ready for its leader (up to maxRequestSize).
//
// Lingering by default only while it can pay: a batch whose leader has no
// request in flight closes at the next turn of the event loop (the records of
// one synchronous loop of sends still share it), so a record sent at a low
// rate waits for nothing; while requests are in flight, batches wait up to
// lingerMs for more records, and close as soon as the last answer comes back
// (their leader is idle again). At full rate the in-flight requests make the
// batches big; at a low rate nothing waits. An explicit lingerMs always
// waits that long (0: the next turn of the event loop). Up to
// maxInFlightRequests requests per leader are in flight at a time (as Kafka's
// max.in.flight), on one connection: the node appends the requests of a
// connection in the order they arrive, so per-partition order holds.
//
// Delivery is at-least-once: a transport failure (connection refused, reset,
// closed, timed out) is retried on a new connection with exponential backoff
// until deliveryTimeoutMs; an error code from the server is not retried
// (except "not leader", which re-reads the leaders). Every send's promise
// settles: with its offset (the entry's base_offset + the record's index in
// its batch) or with a DeliveryError / ServerError. Nothing is dropped
// silently.
//
// Order across retries: the answers of a leader's requests are taken in the
// order the requests were sent. Once a batch of a partition must be sent
// again (transport failure, "not leader"), every later batch of that
// partition in flight on that leader is sent again after it, even one the
// node had stored (at-least-once allows the duplicate). So the offsets that
// one partition's sends resolve with increase in the order of the sends, as
// with one request in flight.
//
// Memory is bounded: records accepted but not yet acknowledged count against
// maxBufferedBytes, and send() waits (in order) until there is room.
//
// Cost per record: the record is written straight into its batch's buffer
// (varints in place, strings as UTF-8 without an intermediate buffer), and
// its promise is the only object made for it: a reaction to its batch's one
// promise (see takeOffset), so settling a batch is one resolve or reject.

import { ErrorCode } from '../protocol/index.js';
import { Isolation, type IsolationLevel } from '../protocol/index.js';
import type { ProduceRequest, ProduceResponse } from '../protocol/index.js';
import { BATCH_HEADER_SIZE, BatchBuilder, Compression } from '../protocol/index.js';
import { ProduceApi } from './apis.js';
import { compressBatch, compressionId, type CompressionName } from '../protocol/index.js';
import { backoffDelay } from '../common/index.js';
import { formatAddress, sleep, type Address, type Connection, type Link } from './connection.js';
import {
  ClosedError,
  DeliveryError,
  FreshetError,
  PartitionNotFoundError,
  RecordTooLargeError,
  ServerError,
  isRetryable,
} from './errors.js';
import { NOT_LEADER_CODES, type TopicCompression } from './metadata.js';
import { Partitioner } from './partitioner.js';
import { smartModuleInvocation, type SmartModuleSpec } from './consumer.js';
import type { SmartModuleInvocation } from '../protocol/index.js';
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
  /**
   * How long a batch waits for more records before it is sent (ms). Unset
   * (the default), a batch goes out at once when its leader has no request in
   * flight, and waits up to 5 ms, or until the leader's requests are answered,
   * while it has; set, every batch waits this long (0: until the next turn of
   * the event loop).
   */
  lingerMs?: number;
  /** A batch is sent once its records reach this many bytes. Default 16384 (as Fluvio). */
  batchSize?: number;
  /** Largest Produce request (and so largest record). Default 1 MiB (as Fluvio). */
  maxRequestSize?: number;
  /** Bytes of records accepted but not yet acknowledged; send() waits beyond it. Default 32 MiB. */
  maxBufferedBytes?: number;
  /**
   * Produce requests in flight per leader (as Kafka's max.in.flight.requests.per.connection).
   * Default 5; 1 waits for each answer. With `smartmodules` too: the node stores the requests
   * of a partition in the order they arrive, however long their chains take to start.
   */
  maxInFlightRequests?: number;
  /** Batch compression. Default: the topic's compression setting, or 'none' for a topic that takes any; another codec than the topic's is refused (FreshetError CONFIG). */
  compression?: CompressionName;
  /** How long a record may take to be acknowledged, retries included (ms). Default 30 000; 0 sends once, never retrying (at-most-once). */
  deliveryTimeoutMs?: number;
  /** First retry delay after a transport failure (ms); later ones double, with jitter, up to maxRetryBackoffMs (common/backoff.ts). Default 50. */
  retryBackoffMs?: number;
  /** Default 1000. */
  maxRetryBackoffMs?: number;
  /** Deadline of one Produce request (ms). Default 15 000. */
  requestTimeoutMs?: number;
  /** 'read_uncommitted' (the default, acknowledged by the leader) or 'read_committed'. */
  isolation?: 'read_uncommitted' | 'read_committed';
  /**
   * SmartModules the node runs on each batch before storing it (filter, map,
   * ...; by registered or built-in name, or wasm bytes, with params). Records
   * may be dropped or reshaped, so the offset a send resolves with is where its
   * batch's output starts, not necessarily a record of its own.
   */
  smartmodules?: readonly SmartModuleSpec[];
}

const DEFAULTS: Required<ProducerOptions> = {
  lingerMs: 5,
  batchSize: 16_384,
  maxRequestSize: 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxInFlightRequests: 5,
  compression: 'none',
  deliveryTimeoutMs: 30_000,
  retryBackoffMs: 50,
  maxRetryBackoffMs: 1000,
  requestTimeoutMs: 15_000,
  isolation: 'read_uncommitted',
  smartmodules: [],
};

/** Bytes of a record besides key and value (length, attributes, deltas, key tag, lengths, headers). */
const RECORD_OVERHEAD = 16;
/** What Fluvio's producer puts in the Produce request's timeout field (ms). */
/**
 * The codec a producer compresses with, as Fluvio's client chooses it: the
 * topic's compression setting unless that is 'any' (then the option, else
 * none); an option that contradicts the topic's setting is refused, since
 * the node refuses such batches.
 */
function producerCompression(topic: string, topicCompression: TopicCompression, option: CompressionName | undefined): CompressionName {
  if (topicCompression === 'any') return option ?? 'none';
  if (option !== undefined && option.toLowerCase() !== topicCompression) {
    throw new FreshetError('CONFIG', `producer compression ${option} does not match the compression of topic "${topic}" (${topicCompression})`);
  }
  return topicCompression;
}

const PRODUCE_SERVER_TIMEOUT_MS = 1500;
/** Largest sum of batch buffers kept for reuse. */
const POOL_BYTES = 4 * 1024 * 1024;
type Resolve = (value: unknown) => void;
type Reject = (err: Error) => void;

function noop(): void {}

// new Promise(capture) hands its functions over without a closure.
let capturedResolve: Resolve = noop;
let capturedReject: Reject = noop;
function capture(resolve: Resolve, reject: Reject): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

// A record's promise is `batch.result.then(takeOffset)`: the batch's promise
// resolves with the batch once it is stored, and its reactions run in the
// order they were added, that is in record order, so each takes the next
// offset. One shared function, no closure or resolving functions per record.
function takeOffset(batch: Batch): number {
  return batch.baseOffset + batch.taken++;
}

function takeMetadata(batch: Batch): RecordMetadata {
  return { topic: batch.topic, partition: batch.partition, offset: batch.baseOffset + batch.taken++ };
}

class Batch {
  /** Sum of the records' accounted sizes (key + value + RECORD_OVERHEAD): what batchSize and maxBufferedBytes count. */
  bytes = 0;
  /** The records' promises, in record order (to mark them handled before a rejection). */
  readonly promises: Promise<unknown>[] = [];
  /** Resolves with the batch itself once stored (baseOffset set), rejects when it failed. */
  readonly result: Promise<Batch>;
  private readonly resolveResult: Resolve;
  private readonly rejectResult: Reject;
  baseOffset = 0;
  /** Records whose offset was handed out (by takeOffset / takeMetadata). */
  taken = 0;
  /** The bytes sent, once sealed (compressed when the producer compresses); undefined while zstd works. */
  encoded: Buffer | undefined;
  /** Set when first sent; retries stop there. 0: not sent yet. */
  deadline = 0;
  attempts = 0;
  /** In a request, or waiting to be sent again: counted in Producer.partitionBusy. */
  busy = false;
  /** Why the batch is to be sent again. */
  retryReason: Error | undefined;
  settled = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly builder: BatchBuilder,
  ) {
    this.result = new Promise(capture) as Promise<Batch>;
    this.resolveResult = capturedResolve;
    this.rejectResult = capturedReject;
  }

  get count(): number {
    return this.promises.length;
  }

  /** The promise of the record added now. */
  addRecord(wantsMetadata: boolean): Promise<unknown> {
    const promise = wantsMetadata ? this.result.then(takeMetadata) : this.result.then(takeOffset);
    this.promises.push(promise);
    return promise;
  }

  /** Resolves once every record of the batch is settled. */
  whenSettled(): Promise<unknown> {
    return this.result.then(noop, noop);
  }

  succeed(baseOffset: number): void {
    this.settled = true;
    this.baseOffset = baseOffset;
    this.promises.length = 0;
    this.resolveResult(this);
  }

  /** Rejects every record's promise, each marked as handled first (flush() reports failures). */
  fail(err: Error): void {
    this.settled = true;
    for (const promise of this.promises) promise.then(undefined, noop);
    this.promises.length = 0;
    this.rejectResult(err);
  }
}

/** A record waiting for room in the buffer (maxBufferedBytes). */
interface Waiter {
  partition: number;
  key: Buffer | null;
  value: Data;
  valueLength: number;
  timestamp: number;
  size: number;
  wantsMetadata: boolean;
  /** The record's promise, given to the caller at once: resolved with its batch promise once it has room. */
  promise: Promise<unknown>;
  resolve: Resolve;
  reject: Reject;
}

/** A Produce request of a lane: sent (or waiting for the lane's connection), then answered. */
interface InFlight {
  batches: Batch[];
  request: ProduceRequest;
  transmitted: boolean;
  done: boolean;
  outcome: ProduceResponse | Error | undefined;
}

/** The requests to one leader, on one connection, answered in order. */
class Lane {
  connection: Connection | undefined;
  connecting = false;
  readonly queue: InFlight[] = [];
  /** Batches to send again once the queue is empty, in order. */
  retry: Batch[] = [];
  /** Partitions with a batch in `retry` (and why): their later answers are not taken either. */
  readonly poisoned = new Map<number, Error | undefined>();
  recovering = false;
  refreshLeaders = false;
  /** Consecutive transport failures (for the backoff). */
  attempt = 0;

  constructor(
    readonly address: Address,
    readonly link: Link,
  ) {}

  get endpoint(): string {
    return formatAddress(this.address);
  }
}

function dataLength(data: Data): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
}

function toBuffer(data: Data): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Strings as they are (written as UTF-8 into the batch), bytes as a Uint8Array. */
function checkData(data: Data): Data {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  throw new TypeError(`a record key or value must be a string or a Uint8Array, not ${data === null ? 'null' : typeof data}`);
}

export class Producer {
  private readonly options: Required<ProducerOptions>;
  private readonly compression: number;
  private readonly isolation: IsolationLevel;
  private readonly partitioner = new Partitioner();
  private readonly open = new Map<number, Batch>();
  /** Sealed batches not yet in a request, in the order they were sealed (per partition: the send order). */
  private ready: Batch[] = [];
  private readonly lanes = new Map<string, Lane>();
  /** Lane of each partition's leader. */
  private partitionLanes: Lane[] = [];
  /** Per partition: batches in requests or waiting to be sent again, and on which lane. */
  private readonly partitionBusy: number[];
  private readonly partitionBusyLane: (Lane | undefined)[];
  /** Capacity to start a partition's next batch buffer with (what its last batch needed). */
  private readonly capacityHint: number[];
  /**
   * Buffers of full-size batches (poolBufferSize bytes), reused once their
   * batch is settled (acknowledged or failed: no request refers to them any
   * more): a new buffer per batch costs an allocation and page faults on its
   * first writes.
   */
  private readonly bufferPool: Buffer[] = [];
  private readonly poolBufferSize: number;
  private slab: Buffer | undefined;
  private slabUsed = 0;
  private readonly poolLimit: number;
  private pumpScheduled = false;
  private readonly pumpNow = () => this.pump();
  /** lingerMs was set: every batch waits lingerMs, whether or not a request is in flight. */
  private readonly lingersAlways: boolean;
  /** Closes every open batch once lingerMs has passed since the first record that waits for it. */
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Closes the open batches that do not linger, at the next turn of the event loop. */
  private lingerImmediate: NodeJS.Immediate | undefined;
  private readonly sealUnlingeringNow = () => this.sealUnlingering();
  private readonly sealAllNow = () => this.sealAll();
  private buffered = 0;
  private readonly waiters: Waiter[] = [];
  private readonly unsettled = new Set<Batch>();
  private failures: Error[] = [];
  private failureCount = 0;
  private closed = false;
  private requests = 0;
  private readonly invocations: SmartModuleInvocation[];

  private constructor(
    private readonly context: ClientContext,
    readonly topic: string,
    private partitionCount: number,
    private leaders: Address[],
    options: ProducerOptions,
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.lingersAlways = options.lingerMs !== undefined;
    this.compression = compressionId(this.options.compression);
    this.isolation = this.options.isolation === 'read_committed' ? Isolation.ReadCommitted : Isolation.ReadUncommitted;
    this.invocations = this.options.smartmodules.map(smartModuleInvocation);
    for (const name of ['lingerMs', 'batchSize', 'maxRequestSize', 'maxBufferedBytes', 'deliveryTimeoutMs', 'retryBackoffMs', 'maxRetryBackoffMs'] as const) {
      const value = this.options[name];
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`producer option ${name} must be a non-negative number, not ${value}`);
    }
    if (this.options.maxRetryBackoffMs < this.options.retryBackoffMs) throw new RangeError('producer option maxRetryBackoffMs must not be below retryBackoffMs');
    const inFlight = this.options.maxInFlightRequests;
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`producer option maxInFlightRequests must be a positive integer, not ${inFlight}`);
    this.partitionBusy = new Array<number>(partitionCount).fill(0);
    this.partitionBusyLane = new Array<Lane | undefined>(partitionCount).fill(undefined);
    this.capacityHint = new Array<number>(partitionCount).fill(1024);
    this.poolBufferSize = this.options.batchSize + BATCH_HEADER_SIZE + 1024;
    this.poolLimit = Math.floor(Math.min(POOL_BYTES, this.options.maxBufferedBytes) / this.poolBufferSize);
    this.mapLanes();
  }

  /** @internal Use `freshet.producer(topic)`. */
  static async create(context: ClientContext, topic: string, options: ProducerOptions = {}, onClose?: () => void): Promise<Producer> {
    const { topic: info, leaders } = await context.metadata.leaders(topic);
    const compression = producerCompression(topic, info.compression, options.compression);
    const producer = new Producer(context, topic, info.partitions, leaders, { ...options, compression });
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
  send(key: Data | null | undefined, value: Data, options?: { partition?: number; timestamp?: number }): Promise<number> {
    return this.submit(key, value, options?.partition, options?.timestamp, false) as Promise<number>;
  }

  /** Sends one record; resolves with where it was stored. */
  sendRecord(record: ProducerRecord): Promise<RecordMetadata> {
    return this.submit(record.key, record.value, record.partition, record.timestamp, true) as Promise<RecordMetadata>;
  }

  /** Sends everything buffered now and waits until it is acknowledged; rejects if a record failed since the last flush. */
  async flush(): Promise<void> {
    this.sealAll();
    const waits: Promise<unknown>[] = [];
    for (const batch of this.unsettled) waits.push(batch.whenSettled());
    for (const waiter of this.waiters) waits.push(waiter.promise.then(noop, noop));
    await Promise.all(waits);
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

  private submit(
    key: Data | null | undefined,
    value: Data,
    partitionOption: number | undefined,
    timestampOption: number | undefined,
    wantsMetadata: boolean,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new ClosedError(`producer for topic "${this.topic}"`));
    let keyBytes: Buffer | null = null;
    let data: Data;
    let valueLength: number;
    let partition: number;
    try {
      if (key !== null && key !== undefined) keyBytes = toBuffer(checkData(key));
      data = checkData(value);
      valueLength = dataLength(data);
      partition = partitionOption ?? this.partitioner.partition(keyBytes, this.partitionCount);
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
        throw new PartitionNotFoundError(this.topic, partition, this.partitionCount);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const size = (keyBytes === null ? 0 : keyBytes.length) + valueLength + RECORD_OVERHEAD;
    if (size + BATCH_HEADER_SIZE > this.options.maxRequestSize) {
      return Promise.reject(new RecordTooLargeError(size + BATCH_HEADER_SIZE, this.options.maxRequestSize));
    }
    const timestamp = timestampOption ?? Date.now();
    if (!Number.isSafeInteger(timestamp)) return Promise.reject(new RangeError(`record timestamp ${timestamp} is not an integer (ms since the epoch)`));
    if (this.waiters.length === 0 && (this.buffered + size <= this.options.maxBufferedBytes || this.buffered === 0)) {
      this.buffered += size;
      return this.enqueue(partition, keyBytes, data, valueLength, timestamp, size, wantsMetadata);
    }
    const promise = new Promise(capture);
    // As for records in batches, a failure is reported by flush() too: never an unhandled rejection.
    promise.then(undefined, noop);
    this.waiters.push({ partition, key: keyBytes, value: data, valueLength, timestamp, size, wantsMetadata, promise, resolve: capturedResolve, reject: capturedReject });
    // Whatever waits must be able to go out: send the open batches now.
    this.sealAll();
    return promise;
  }

  /** Gives freed room to the waiting records, in order. */
  private release(size: number): void {
    this.buffered -= size;
    while (this.waiters.length > 0) {
      const next = this.waiters[0];
      if (this.buffered + next.size > this.options.maxBufferedBytes && this.buffered > 0) break;
      this.waiters.shift();
      this.buffered += next.size;
      next.resolve(this.enqueue(next.partition, next.key, next.value, next.valueLength, next.timestamp, next.size, next.wantsMetadata));
    }
  }

  /** Adds a record (its room taken) to its partition's open batch; returns the record's promise. */
  private enqueue(
    partition: number,
    key: Buffer | null,
    value: Data,
    valueLength: number,
    timestamp: number,
    size: number,
    wantsMetadata: boolean,
  ): Promise<unknown> {
    if (this.closed) {
      this.buffered -= size;
      const err = new ClosedError(`producer for topic "${this.topic}"`);
      this.countFailure(err, 1);
      return Promise.reject(err);
    }
    let batch = this.open.get(partition);
    if (batch !== undefined && batch.bytes + size > this.options.batchSize) {
      this.seal(partition);
      batch = undefined;
    }
    if (batch === undefined) {
      const needed = size + BATCH_HEADER_SIZE + 64;
      const hint = this.capacityHint[partition];
      // Partitions whose batches fill up take a pooled full-size buffer; others start small.
      const pooled = hint * 2 >= this.poolBufferSize && needed <= this.poolBufferSize;
      const buffer = pooled ? (this.bufferPool.pop() ?? this.newPoolBuffer()) : Math.max(hint, needed);
      batch = new Batch(this.topic, partition, new BatchBuilder(timestamp, buffer));
      this.open.set(partition, batch);
      this.unsettled.add(batch);
    }
    try {
      batch.builder.add(key, key === null ? 0 : key.length, value, valueLength, timestamp - batch.builder.firstTimestamp);
    } catch (err) {
      // A timestamp too far from the batch's first one: this record fails alone.
      this.release(size);
      return Promise.reject(err as Error);
    }
    const promise = batch.addRecord(wantsMetadata);
    batch.bytes += size;
    if (batch.bytes >= this.options.batchSize) this.seal(partition);
    else if (this.lingers(partition)) this.startLingerTimer();
    else this.lingerImmediate ??= setImmediate(this.sealUnlingeringNow);
    return promise;
  }

  /** Whether a partition's open batch waits lingerMs for more records (or goes out at the next turn). */
  private lingers(partition: number): boolean {
    if (this.lingersAlways) return this.options.lingerMs > 0;
    return this.laneBusy(this.partitionLanes[partition]);
  }

  /** Requests of the lane are in flight (or batches wait to be sent on it again). */
  private laneBusy(lane: Lane): boolean {
    return lane.queue.length > 0 || lane.retry.length > 0 || lane.recovering;
  }

  private startLingerTimer(): void {
    this.lingerTimer ??= setTimeout(this.sealAllNow, this.options.lingerMs);
  }

  /** Closes the open batches that need not wait; those whose leader got busy since wait for the linger timer. */
  private sealUnlingering(): void {
    this.lingerImmediate = undefined;
    for (const partition of [...this.open.keys()]) {
      if (this.lingers(partition)) this.startLingerTimer();
      else this.seal(partition);
    }
  }

  /** A lane's requests are all answered: its partitions' open batches need not wait any longer. */
  private sealIdleLane(lane: Lane): void {
    if (this.lingersAlways || this.laneBusy(lane)) return;
    for (const partition of [...this.open.keys()]) if (this.partitionLanes[partition] === lane) this.seal(partition);
  }

  private seal(partition: number): void {
    const batch = this.open.get(partition);
    if (batch === undefined) return;
    this.open.delete(partition);
    const plain = batch.builder.finish();
    this.capacityHint[partition] = Math.min(Math.max(1024, plain.length + 64), this.options.batchSize + BATCH_HEADER_SIZE + 1024);
    let encoded: Buffer | Promise<Buffer>;
    try {
      encoded = compressBatch(plain, this.compression);
    } catch (err) {
      this.settleError(batch, new DeliveryError(`cannot encode a batch for topic "${this.topic}": ${(err as Error).message}`, err));
      return;
    }
    if (Buffer.isBuffer(encoded)) {
      batch.encoded = encoded;
      if (encoded !== plain) this.recycle(batch.builder.buffer);
    } else {
      encoded.then(
        (buf) => {
          batch.encoded = buf;
          this.recycle(batch.builder.buffer);
          this.schedulePump();
        },
        (err: unknown) => {
          // The pump drops settled batches from the ready queue.
          this.settleError(batch, new DeliveryError(`cannot encode a batch for topic "${this.topic}": ${(err as Error).message}`, err));
          this.schedulePump();
        },
      );
    }
    this.ready.push(batch);
    this.schedulePump();
  }

  private sealAll(): void {
    clearTimeout(this.lingerTimer);
    if (this.lingerImmediate) clearImmediate(this.lingerImmediate);
    this.lingerTimer = undefined;
    this.lingerImmediate = undefined;
    for (const partition of [...this.open.keys()]) this.seal(partition);
  }

  // --- sending ---------------------------------------------------------------

  private mapLanes(): void {
    this.partitionLanes = this.leaders.map((address) => {
      const key = formatAddress(address);
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = new Lane(address, this.context.spuLink(address));
        this.lanes.set(key, lane);
      }
      return lane;
    });
  }

  /** Runs the pump once the current synchronous work (e.g. a loop of sends) is done, so its batches share requests. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pumpNow);
  }

  private canSend(lane: Lane): boolean {
    if (lane.recovering || lane.retry.length > 0 || lane.queue.length >= this.options.maxInFlightRequests) return false;
    // A broken connection with requests still on it: wait for their answers (failures) first.
    return !(lane.connection?.isClosed === true && lane.queue.some((request) => request.transmitted && !request.done));
  }

  /**
   * Puts ready batches into requests, in order: per lane, as many requests as
   * it has room for, each up to maxRequestSize. A partition whose batch must
   * wait keeps all its later batches waiting too, and a partition with
   * batches on one lane is not sent on another until they are answered.
   */
  private pump(): void {
    this.pumpScheduled = false;
    if (this.ready.length === 0) return;
    const keep: Batch[] = [];
    const held = new Set<number>();
    const building = new Map<Lane, { batches: Batch[]; bytes: number }>();
    for (const batch of this.ready) {
      if (batch.settled) continue;
      const partition = batch.partition;
      const lane = this.partitionLanes[partition];
      if (
        held.has(partition) ||
        batch.encoded === undefined ||
        (this.partitionBusy[partition] > 0 && this.partitionBusyLane[partition] !== lane)
      ) {
        held.add(partition);
        keep.push(batch);
        continue;
      }
      let request = building.get(lane);
      if (request !== undefined && request.bytes + batch.encoded.length > this.options.maxRequestSize) {
        this.emit(lane, request.batches);
        request = undefined;
        building.delete(lane);
      }
      if (request === undefined) {
        if (!this.canSend(lane)) {
          held.add(partition);
          keep.push(batch);
          continue;
        }
        request = { batches: [], bytes: 0 };
        building.set(lane, request);
      }
      request.batches.push(batch);
      request.bytes += batch.encoded.length;
      batch.busy = true;
      this.partitionBusy[partition]++;
      this.partitionBusyLane[partition] = lane;
    }
    this.ready = keep;
    for (const [lane, request] of building) this.emit(lane, request.batches);
  }

  private emit(lane: Lane, batches: Batch[]): void {
    const now = Date.now();
    for (const batch of batches) {
      if (batch.deadline === 0) batch.deadline = now + this.options.deliveryTimeoutMs;
      batch.attempts++;
    }
    const request: ProduceRequest = {
      isolation: this.isolation,
      timeoutMs: PRODUCE_SERVER_TIMEOUT_MS,
      topics: [{ name: this.topic, partitions: batches.map((batch) => ({ partitionIndex: batch.partition, records: batch.encoded! })) }],
      smartmodules: this.invocations,
    };
    const inFlight: InFlight = { batches, request, transmitted: false, done: false, outcome: undefined };
    lane.queue.push(inFlight);
    if (lane.connection !== undefined && !lane.connection.isClosed) this.transmit(lane, lane.connection, inFlight);
    else this.connect(lane);
  }

  /** Opens the lane's connection, then writes the requests that waited for it, in order. */
  private connect(lane: Lane): void {
    if (lane.connecting) return;
    lane.connecting = true;
    lane.link.connection().then(
      (connection) => {
        lane.connecting = false;
        lane.connection = connection;
        for (const inFlight of lane.queue) if (!inFlight.transmitted) this.transmit(lane, connection, inFlight);
      },
      (err: unknown) => {
        lane.connecting = false;
        // complete() takes answered requests off the queue: go over a copy.
        for (const inFlight of [...lane.queue]) {
          if (inFlight.transmitted) continue;
          inFlight.transmitted = true;
          this.requests++;
          this.complete(lane, inFlight, err as Error);
        }
      },
    );
  }

  private transmit(lane: Lane, connection: Connection, inFlight: InFlight): void {
    inFlight.transmitted = true;
    this.requests++;
    connection.send(ProduceApi, inFlight.request, { timeoutMs: this.options.requestTimeoutMs }).then(
      (response) => this.complete(lane, inFlight, response),
      (err: unknown) => this.complete(lane, inFlight, err as Error),
    );
  }

  private complete(lane: Lane, inFlight: InFlight, outcome: ProduceResponse | Error): void {
    inFlight.done = true;
    inFlight.outcome = outcome;
    // Answers are taken in the order the requests were sent.
    while (lane.queue.length > 0 && lane.queue[0].done) {
      const head = lane.queue.shift()!;
      try {
        this.take(lane, head);
      } catch (err) {
        // Never leave a record unsettled, whatever went wrong.
        const error = new DeliveryError(`producer for topic "${this.topic}" failed: ${(err as Error).message}`, err);
        for (const batch of head.batches) if (!batch.settled) this.settleError(batch, error);
      }
    }
    if (lane.queue.length === 0 && lane.retry.length > 0 && !lane.recovering) void this.recover(lane);
    this.sealIdleLane(lane);
    this.schedulePump();
  }

  private take(lane: Lane, inFlight: InFlight): void {
    const outcome = inFlight.outcome!;
    if (outcome instanceof Error) {
      if (isRetryable(outcome) && !this.context.isClosed) {
        for (const batch of inFlight.batches) this.toRetry(lane, batch, outcome);
      } else {
        const error = this.deliveryError(lane, inFlight.batches, outcome);
        for (const batch of inFlight.batches) this.settleError(batch, error);
      }
      return;
    }
    lane.attempt = 0;
    const entries = outcome.responses.find((topic) => topic.name === this.topic)?.partitions ?? [];
    const now = Date.now();
    for (let i = 0; i < inFlight.batches.length; i++) {
      const batch = inFlight.batches[i];
      const entry = entries[i];
      if (lane.poisoned.has(batch.partition)) {
        // An earlier batch of this partition goes again: so does this one, after it.
        this.toRetry(lane, batch, lane.poisoned.get(batch.partition));
      } else if (!entry) {
        this.settleError(batch, new FreshetError('PROTOCOL', `the server did not answer for a batch of ${this.topic}-${batch.partition}`));
      } else if (entry.errorCode.code === ErrorCode.None) {
        this.settleOk(batch, entry.baseOffset);
      } else if (NOT_LEADER_CODES.has(entry.errorCode.code) && now < batch.deadline) {
        // The leadership moved: look the leaders up again and send it (and what follows) anew.
        lane.refreshLeaders = true;
        this.toRetry(lane, batch, new ServerError(entry.errorCode, `produce to ${this.topic}-${batch.partition}`));
      } else {
        this.settleError(batch, new ServerError(entry.errorCode, `produce to ${this.topic}-${batch.partition}`));
      }
    }
  }

  private toRetry(lane: Lane, batch: Batch, reason: Error | undefined): void {
    batch.retryReason = reason;
    lane.retry.push(batch);
    if (!lane.poisoned.has(batch.partition)) lane.poisoned.set(batch.partition, reason);
  }

  /**
   * The lane's requests are all answered and some batches must go again:
   * fail those past their deadline, wait (backoff after a transport failure,
   * new leaders after "not leader"), then put the rest back at the head of
   * the ready queue, in order.
   */
  private async recover(lane: Lane): Promise<void> {
    lane.recovering = true;
    const batches = lane.retry;
    lane.retry = [];
    let requeued = false;
    try {
      const transport = batches.some((batch) => !(batch.retryReason instanceof ServerError));
      const delay = transport ? backoffDelay(lane.attempt, { minMs: this.options.retryBackoffMs, maxMs: this.options.maxRetryBackoffMs }) : 0;
      // An unreachable leader may mean the partition moved to another node
      // (several nodes on one JetStream cluster): look the leaders up again.
      if (transport) {
        lane.attempt++;
        lane.refreshLeaders = true;
      }
      const now = Date.now();
      const again: Batch[] = [];
      const expired = new Map<Error | undefined, Batch[]>();
      for (const batch of batches) {
        if (batch.settled) continue;
        const late = batch.retryReason instanceof ServerError ? now >= batch.deadline : now + delay >= batch.deadline;
        if (late || this.context.isClosed) {
          const group = expired.get(batch.retryReason) ?? [];
          group.push(batch);
          expired.set(batch.retryReason, group);
        } else {
          again.push(batch);
        }
      }
      for (const [reason, group] of expired) {
        const error = reason instanceof ServerError ? reason : this.deliveryError(lane, group, reason);
        for (const batch of group) this.settleError(batch, error);
      }
      if (again.length > 0) {
        if (lane.refreshLeaders) {
          lane.refreshLeaders = false;
          // Bounded by the batches' deadline: when the SC is down too, the
          // lookup would otherwise outlast the delivery timeout.
          const lookup = this.context.metadata.leaders(this.topic);
          lookup.catch(() => {});
          const deadline = Math.min(...again.map((batch) => batch.deadline));
          let timer: NodeJS.Timeout | undefined;
          const expiry = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), undefined)));
          const found = await Promise.race([lookup.then(({ leaders }) => leaders), expiry])
            .catch(() => null)
            .finally(() => clearTimeout(timer));
          if (found) {
            this.leaders = found;
            this.mapLanes();
          } else if (found === null) {
            await sleep(this.options.retryBackoffMs);
          }
        }
        if (delay > 0) await sleep(delay);
      }
      lane.refreshLeaders = false;
      for (const batch of again) this.unbusy(batch);
      this.ready.unshift(...again);
      requeued = true;
    } catch (err) {
      if (!requeued) {
        const error = new DeliveryError(`producer for topic "${this.topic}" failed: ${(err as Error).message}`, err);
        for (const batch of batches) this.settleError(batch, error);
      }
    } finally {
      lane.poisoned.clear();
      lane.recovering = false;
      this.sealIdleLane(lane);
      this.schedulePump();
    }
  }

  private deliveryError(lane: Lane, batches: Batch[], cause: Error | undefined): DeliveryError {
    let count = 0;
    let attempts = 0;
    for (const batch of batches) {
      count += batch.count;
      attempts = Math.max(attempts, batch.attempts);
    }
    return new DeliveryError(
      `could not deliver ${count} record(s) to topic "${this.topic}" at ${lane.endpoint} after ${attempts} attempt(s): ${cause?.message ?? 'unknown error'}`,
      cause,
    );
  }

  /** Keeps a batch buffer for reuse; only once nothing (request, socket write, compressor) refers to it. */
  /** A full-size batch buffer, cut from a slab of several (fewer, larger allocations). */
  private newPoolBuffer(): Buffer {
    const size = this.poolBufferSize;
    if (this.slab === undefined || this.slab.length - this.slabUsed < size) {
      this.slab = Buffer.allocUnsafeSlow(size * Math.max(1, Math.min(16, this.poolLimit)));
      this.slabUsed = 0;
    }
    const buffer = this.slab.subarray(this.slabUsed, this.slabUsed + size);
    this.slabUsed += size;
    return buffer;
  }

  private recycle(buffer: Buffer): void {
    if (buffer.length === this.poolBufferSize && this.bufferPool.length < this.poolLimit) this.bufferPool.push(buffer);
  }

  /** After a batch settled: its buffer is free when the batch was sent uncompressed (it was the request's bytes). */
  private recycleSent(batch: Batch): void {
    if (this.compression === Compression.None) this.recycle(batch.builder.buffer);
  }

  private unbusy(batch: Batch): void {
    if (!batch.busy) return;
    batch.busy = false;
    this.partitionBusy[batch.partition]--;
  }

  private settleOk(batch: Batch, baseOffset: number): void {
    this.unbusy(batch);
    this.unsettled.delete(batch);
    batch.succeed(baseOffset);
    this.release(batch.bytes);
    this.recycleSent(batch);
  }

  private settleError(batch: Batch, err: Error): void {
    if (batch.settled) return;
    this.unbusy(batch);
    this.unsettled.delete(batch);
    this.countFailure(err, batch.count);
    batch.fail(err);
    this.release(batch.bytes);
    // An open batch (never sealed) or one failed before its request was written (zstd) is not reused: simpler.
    if (batch.encoded !== undefined) this.recycleSent(batch);
  }

  private countFailure(err: Error, records: number): void {
    this.failureCount += records;
    if (this.failures.length < 10) this.failures.push(err);
  }
}
