// The consumer: `for await (const record of consumer)` over one, some or all
// partitions of a topic.
//
// Per partition: FetchOffsets, resolve the start (beginning/end ± index,
// absolute, or a named consumer's stored offset), then one StreamFetch whose
// frames the SPU sends as records are appended. The SPU waits for our
// UpdateOffsets before it sends more; we acknowledge a frame when the caller
// starts reading it, so a slow caller holds a couple of frames, not the log.
// Records below the start offset (the first batch may begin earlier) are
// skipped. If the connection breaks, the partition reconnects with backoff
// and resumes at the offset after the last record it received: nothing is
// lost or repeated. Partitions are merged round-robin as records arrive.
//
// With a `consumerId`, the position is stored on the server
// (UpdateConsumerOffset on the stream's session, as Fluvio does): the offset
// of the last record handed out, committed automatically (on each record,
// flushed every autoCommitIntervalMs and on close) or by commit(). A new
// consumer with the same id resumes at stored + 1, as Fluvio's client does.

import { gzipSync } from 'node:zlib';
import { ErrorCode } from '../protocol/index.js';
import { Isolation } from '../protocol/index.js';
import type { SmartModuleInvocation, SmartModuleKind } from '../protocol/index.js';
import type { StreamFetchResponse } from '../protocol/index.js';
import { NO_TIMESTAMP, splitRecordSetLenient, parseBatchHeader } from '../protocol/index.js';
import {
  FetchConsumerOffsetsApi,
  FetchOffsetsApi,
  StreamFetchApi,
  UpdateConsumerOffsetApi,
  UpdateOffsetsApi,
} from './apis.js';
import { decodeBatch } from '../protocol/index.js';
import { backoffDelay } from '../common/index.js';
import { formatAddress, Link, RECONNECT_BACKOFF, sleep, type Address, type Connection, type StreamHandle } from './connection.js';
import type { ClientContext } from './context.js';
import { ConnectionError, FreshetError, PartitionNotFoundError, ServerError, isRetryable } from './errors.js';
import { NOT_LEADER_CODES } from './metadata.js';

/** Where a partition is read from. */
export type OffsetSpec =
  | 'beginning'
  | 'end'
  | number
  | { from: 'beginning' | 'end'; index?: number }
  | { absolute: number };

/** Offset helpers: `Offset.beginning()`, `Offset.end(5)` (the last 5), `Offset.absolute(42)`. */
export const Offset = Object.freeze({
  beginning: (index = 0): OffsetSpec => ({ from: 'beginning', index }),
  end: (index = 0): OffsetSpec => ({ from: 'end', index }),
  absolute: (offset: number): OffsetSpec => ({ absolute: offset }),
});

export interface SmartModuleSpec {
  /** A SmartModule stored on the cluster. */
  name?: string;
  /** Or the module itself (raw .wasm, gzipped for the wire as Fluvio does; gzipped bytes are sent as they are). */
  wasm?: Uint8Array;
  /** Default 'generic' (the SPU finds the kind from the module's exports). */
  kind?: 'generic' | 'filter' | 'map' | 'array-map' | 'filter-map' | 'aggregate';
  params?: { [key: string]: string } | ReadonlyMap<string, string>;
  /** Initial accumulator of an aggregate. */
  accumulator?: Data;
  lookback?: { last: number; ageMs?: number };
}

type Data = string | Uint8Array;

export interface ConsumerOptions {
  /** One partition, several, or (default) all of them. */
  partition?: number | readonly number[];
  /** Where to start; default 'end' (only new records), as Fluvio. */
  offset?: OffsetSpec;
  /** Stop each partition after this offset (inclusive). */
  end?: number;
  /** false: stop at the end of the log as it was when the consumer started. Default true. */
  continuous?: boolean;
  /** Bytes per fetch frame. Default 1 MiB. */
  maxBytes?: number;
  isolation?: 'read_uncommitted' | 'read_committed';
  /** SmartModules the SPU applies to the stream, in order. */
  smartmodules?: readonly SmartModuleSpec[];
  /** A named consumer: its position is stored on the server and resumed from. */
  consumerId?: string;
  /** With consumerId: 'auto' (default) or 'manual' (call commit()). */
  commit?: 'auto' | 'manual';
  /** With auto commit: how often the position is sent (ms). Default 2000. */
  autoCommitIntervalMs?: number;
  /** How long a broken partition stream keeps trying to reconnect (ms). Default 30 000. */
  reconnectTimeoutMs?: number;
}

export const DEFAULT_MAX_BYTES = 1024 * 1024;

export class ConsumerRecord {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    /** ms since the epoch; -1 when the producer set none. */
    readonly timestamp: number,
    readonly key: Buffer | null,
    readonly value: Buffer,
  ) {}

  keyString(): string | null {
    return this.key === null ? null : this.key.toString('utf8');
  }

  valueString(): string {
    return this.value.toString('utf8');
  }

  json<T = unknown>(): T {
    return JSON.parse(this.valueString()) as T;
  }
}

function toBuffer(data: Data): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function smartModuleInvocation(spec: SmartModuleSpec): SmartModuleInvocation {
  if ((spec.name === undefined) === (spec.wasm === undefined)) {
    throw new FreshetError('CONFIG', 'a SmartModule is given by exactly one of `name` or `wasm`');
  }
  let wasm: SmartModuleInvocation['wasm'];
  if (spec.name !== undefined) {
    wasm = { type: 'Predefined', name: spec.name };
  } else {
    const bytes = toBuffer(spec.wasm!);
    const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    wasm = { type: 'AdHoc', payload: gzipped ? bytes : gzipSync(bytes) };
  }
  const accumulator = spec.accumulator === undefined ? undefined : toBuffer(spec.accumulator);
  let kind: SmartModuleKind;
  switch (spec.kind ?? 'generic') {
    case 'filter':
      kind = { type: 'Filter' };
      break;
    case 'map':
      kind = { type: 'Map' };
      break;
    case 'array-map':
      kind = { type: 'ArrayMap' };
      break;
    case 'filter-map':
      kind = { type: 'FilterMap' };
      break;
    case 'aggregate':
      kind = { type: 'Aggregate', accumulator: accumulator ?? Buffer.alloc(0) };
      break;
    default:
      kind = { type: 'Generic', context: accumulator ? { type: 'Aggregate', accumulator } : { type: 'None' } };
  }
  const params = new Map(spec.params instanceof Map ? spec.params : Object.entries(spec.params ?? {}));
  const invocation: SmartModuleInvocation = { wasm, kind, params: { params } };
  if (spec.lookback) {
    const age = spec.lookback.ageMs;
    invocation.params.lookback = {
      last: spec.lookback.last,
      ...(age !== undefined ? { age: { seconds: Math.floor(age / 1000), nanos: (age % 1000) * 1e6 } } : {}),
    };
  }
  return invocation;
}

/** The absolute start offset, as Fluvio's client resolves it (clamped to the log). */
export function resolveStartOffset(spec: OffsetSpec, start: number, end: number, nextStored?: number): number {
  let resolved: number;
  if (typeof spec === 'number') resolved = spec;
  else if (typeof spec === 'object' && 'absolute' in spec) resolved = spec.absolute;
  else {
    const from = typeof spec === 'string' ? spec : spec.from;
    const index = typeof spec === 'string' ? 0 : (spec.index ?? 0);
    if (!Number.isInteger(index) || index < 0) throw new RangeError(`offset index ${index} must be a non-negative integer`);
    if (from === 'beginning') resolved = (nextStored ?? start) + index;
    else resolved = (nextStored ?? end) - index;
    resolved = Math.min(Math.max(resolved, start), end);
  }
  return Math.max(0, resolved);
}

interface Frame {
  records: ConsumerRecord[];
  pos: number;
  ack: number | undefined;
  acked: boolean;
}

class PartitionStream {
  private frames: Frame[] = [];
  private startOffset: number | undefined;
  /** The next offset not yet received: where a new stream resumes. */
  private nextOffset = 0;
  /** Inclusive last offset to deliver. */
  private stopAfter = Infinity;
  private received = false;
  private finished = false;
  private pendingError: Error | undefined;
  private connection: Connection | undefined;
  private handle: StreamHandle | undefined;
  private sessionId: number | undefined;
  private processing: Promise<void> = Promise.resolve();
  private endStream: ((err?: Error) => void) | undefined;
  /** Offset of the last record handed out (-1: none). */
  seen = -1;
  committed = -1;
  private flushed = -1;

  constructor(
    private readonly consumer: Consumer,
    readonly partition: number,
    private leader: Address,
  ) {}

  /** True once everything this partition will deliver was taken. */
  get done(): boolean {
    return this.finished && this.frames.length === 0 && this.pendingError === undefined;
  }

  get error(): Error | undefined {
    return this.frames.length === 0 ? this.pendingError : undefined;
  }

  async run(): Promise<void> {
    let failingSince: number | undefined;
    for (let attempt = 0; !this.finished && !this.consumer.closed; ) {
      try {
        await this.openStream();
        failingSince = undefined;
        attempt = 0;
      } catch (err) {
        if (this.finished || this.consumer.closed) return;
        const now = Date.now();
        failingSince ??= now;
        const retryable = isRetryable(err) || (err instanceof ServerError && NOT_LEADER_CODES.has(err.errorCode));
        if (retryable && now - failingSince < this.consumer.reconnectTimeoutMs) {
          // Not leader, or the leader's node unreachable: the partition may
          // have moved to another node (several nodes on one JetStream
          // cluster), so look its leader up again either way.
          this.leader = (await this.consumer.refreshLeaders().catch(() => undefined))?.[this.partition] ?? this.leader;
          await sleep(backoffDelay(attempt++, RECONNECT_BACKOFF));
          continue;
        }
        this.pendingError =
          retryable && err instanceof Error
            ? new ConnectionError(
                `consumer of ${this.consumer.topic}-${this.partition} could not reach ${formatAddress(this.leader)} for ${this.consumer.reconnectTimeoutMs} ms: ${err.message}`,
                { cause: err },
              )
            : (err as Error);
        this.finished = true;
        this.consumer.notify();
        return;
      }
    }
  }

  /** One StreamFetch, until it ends (connection lost, error, or nothing more to read). */
  private async openStream(): Promise<void> {
    const consumer = this.consumer;
    const connection = await consumer.link(this.leader).connection();
    const offsets = await connection.send(FetchOffsetsApi, {
      topics: [{ name: consumer.topic, partitions: [{ partitionIndex: this.partition }] }],
    });
    const entry = offsets.topics.find((t) => t.name === consumer.topic)?.partitions.find((p) => p.partitionIndex === this.partition);
    if (!entry) throw new FreshetError('PROTOCOL', `FetchOffsets did not answer for ${consumer.topic}-${this.partition}`);
    if (entry.errorCode.code !== ErrorCode.None) throw new ServerError(entry.errorCode, `offsets of ${consumer.topic}-${this.partition}`);
    if (this.startOffset === undefined) {
      const stored = consumer.consumerId === undefined ? undefined : await this.storedOffset(connection);
      this.startOffset = resolveStartOffset(consumer.offsetSpec, entry.startOffset, entry.lastStableOffset, stored === undefined ? undefined : stored + 1);
      this.nextOffset = this.startOffset;
      this.stopAfter = Math.min(consumer.endOffset ?? Infinity, consumer.continuous ? Infinity : entry.lastStableOffset - 1);
      if (this.startOffset > this.stopAfter) {
        this.finish();
        return;
      }
    }
    // After a reconnect the log may be shorter than what we saw (lost unsynced data): never ask beyond it.
    const fetchOffset = Math.min(Math.max(this.nextOffset, entry.startOffset), entry.lastStableOffset);
    this.nextOffset = Math.max(this.nextOffset, fetchOffset);
    await new Promise<void>((resolve, reject) => {
      this.endStream = (err) => (err ? reject(err) : resolve());
      this.connection = connection;
      this.sessionId = undefined;
      this.received = false;
      try {
        if (consumer.consumerId !== undefined && connection.versionOf(StreamFetchApi) < 23) {
          throw new FreshetError('UNSUPPORTED', `${formatAddress(connection.address)} does not store consumer offsets (StreamFetch v23)`);
        }
        this.handle = connection.stream(
          StreamFetchApi,
          {
            topic: consumer.topic,
            partition: this.partition,
            fetchOffset,
            maxBytes: consumer.maxBytes,
            isolation: consumer.isolation,
            smartmodules: consumer.smartmodules,
            ...(consumer.consumerId !== undefined ? { consumerId: consumer.consumerId } : {}),
          },
          (frame) => {
            this.processing = this.processing.then(() => this.onFrame(frame)).catch((err: unknown) => this.stopStream(err as Error));
          },
          (err) => this.stopStream(err),
        );
      } catch (err) {
        this.stopStream(err as Error);
      }
    });
  }

  private stopStream(err?: Error): void {
    this.handle?.cancel();
    this.handle = undefined;
    const end = this.endStream;
    this.endStream = undefined;
    end?.(err);
  }

  private finish(): void {
    this.finished = true;
    this.stopStream();
    this.consumer.notify();
  }

  private async storedOffset(connection: Connection): Promise<number | undefined> {
    const response = await connection.send(FetchConsumerOffsetsApi, {});
    if (response.errorCode.code !== ErrorCode.None) throw new ServerError(response.errorCode, 'fetching stored consumer offsets');
    const found = response.consumers.find(
      (c) => c.consumerId === this.consumer.consumerId && c.replicaId.topic === this.consumer.topic && c.replicaId.partition === this.partition,
    );
    return found?.offset;
  }

  private async onFrame(frame: StreamFetchResponse): Promise<void> {
    if (this.finished || this.endStream === undefined) return;
    if (!this.received) {
      this.received = true;
      this.sessionId = frame.streamId;
    }
    const partition = frame.partition;
    const buffer = Buffer.isBuffer(partition.records) ? partition.records : Buffer.concat(partition.records as Buffer[]);
    const batches = splitRecordSetLenient(buffer);
    const records: ConsumerRecord[] = [];
    let next: number | undefined;
    for (const batch of batches) {
      const header = parseBatchHeader(batch, 0);
      next = header.baseOffset + header.lastOffsetDelta + 1;
      for (const record of await this.consumer.decode(batch)) {
        if (record.offset < this.nextOffset || record.offset > this.stopAfter) continue;
        records.push(
          new ConsumerRecord(
            this.consumer.topic,
            this.partition,
            record.offset,
            record.timestamp > 0 ? record.timestamp : NO_TIMESTAMP,
            record.key,
            record.value,
          ),
        );
      }
    }
    if (partition.nextFilterOffset > 0) next = partition.nextFilterOffset;
    if (next !== undefined) this.nextOffset = Math.max(this.nextOffset, next);
    const ack = next;
    if (records.length > 0) this.frames.push({ records, pos: 0, ack, acked: false });
    else if (ack !== undefined) this.acknowledge(ack);
    if (this.nextOffset > this.stopAfter) this.finish();
    if (partition.errorCode.code !== ErrorCode.None) {
      const error = new ServerError(partition.errorCode, `stream of ${this.consumer.topic}-${this.partition}`);
      if (NOT_LEADER_CODES.has(error.errorCode)) {
        this.stopStream(error);
      } else {
        this.pendingError = error;
        this.finished = true;
        this.stopStream();
      }
    }
    this.consumer.notify();
  }

  private acknowledge(offset: number): void {
    const connection = this.connection;
    if (!connection || this.sessionId === undefined || connection.isClosed) return;
    connection.send(UpdateOffsetsApi, { offsets: [{ offset, sessionId: this.sessionId }] }).catch(() => {
      // A lost ack means a lost connection: the stream ends and reconnects.
    });
  }

  /** The next record, if one is here. */
  take(): ConsumerRecord | undefined {
    while (this.frames.length > 0) {
      const frame = this.frames[0];
      if (!frame.acked) {
        frame.acked = true;
        if (frame.ack !== undefined) this.acknowledge(frame.ack);
      }
      if (frame.pos < frame.records.length) {
        const record = frame.records[frame.pos++];
        if (frame.pos === frame.records.length) this.frames.shift();
        this.seen = Math.max(this.seen, record.offset);
        return record;
      }
      this.frames.shift();
    }
    return undefined;
  }

  /** Sends the committed offset to the server (on this stream's session). */
  async flushOffset(): Promise<void> {
    if (this.committed <= this.flushed) return;
    const connection = this.connection;
    const offset = this.committed;
    if (!connection || connection.isClosed || this.sessionId === undefined) {
      throw new ConnectionError(`cannot store the offset of ${this.consumer.topic}-${this.partition}: its stream is not connected`);
    }
    const response = await connection.send(UpdateConsumerOffsetApi, { offset, sessionId: this.sessionId });
    if (response.errorCode.code !== ErrorCode.None) throw new ServerError(response.errorCode, `storing the offset of ${this.consumer.topic}-${this.partition}`);
    this.flushed = Math.max(this.flushed, offset);
  }

  stop(): void {
    this.finished = true;
    this.stopStream();
  }
}

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly offsetSpec: OffsetSpec;
  readonly endOffset: number | undefined;
  readonly continuous: boolean;
  readonly maxBytes: number;
  readonly isolation: (typeof Isolation)[keyof typeof Isolation];
  readonly smartmodules: SmartModuleInvocation[];
  readonly consumerId: string | undefined;
  readonly reconnectTimeoutMs: number;
  private readonly commitMode: 'auto' | 'manual';
  private readonly partitions: PartitionStream[];
  private readonly links = new Map<string, Link>();
  private wake: (() => void) | undefined;
  private rotation = 0;
  private autoCommitTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private resolveClosed!: () => void;
  private readonly closedSignal = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  closed = false;

  private constructor(
    private readonly context: ClientContext,
    readonly topic: string,
    partitions: number[],
    leaders: Address[],
    options: ConsumerOptions,
  ) {
    this.offsetSpec = options.offset ?? 'end';
    this.endOffset = options.end;
    this.continuous = options.continuous ?? true;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.isolation = options.isolation === 'read_committed' ? Isolation.ReadCommitted : Isolation.ReadUncommitted;
    this.smartmodules = (options.smartmodules ?? []).map(smartModuleInvocation);
    this.consumerId = options.consumerId;
    this.commitMode = options.commit ?? 'auto';
    this.reconnectTimeoutMs = options.reconnectTimeoutMs ?? 30_000;
    this.partitions = partitions.map((p) => new PartitionStream(this, p, leaders[p]));
    if (this.consumerId !== undefined && this.commitMode === 'auto') {
      this.autoCommitTimer = setInterval(() => void this.flushOffsets().catch(() => {}), options.autoCommitIntervalMs ?? 2000);
      this.autoCommitTimer.unref();
    }
  }

  /** @internal Use `freshet.consumer(topic, options)`. */
  static async create(context: ClientContext, topic: string, options: ConsumerOptions = {}): Promise<Consumer> {
    const { topic: info, leaders } = await context.metadata.leaders(topic);
    const wanted = options.partition === undefined ? [...Array(info.partitions).keys()] : [options.partition].flat();
    for (const partition of wanted) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= info.partitions) {
        throw new PartitionNotFoundError(topic, partition, info.partitions);
      }
    }
    if (options.end !== undefined && (!Number.isInteger(options.end) || options.end < 0)) {
      throw new RangeError(`end offset ${options.end} must be a non-negative integer`);
    }
    if (options.consumerId !== undefined && options.consumerId.length === 0) throw new FreshetError('CONFIG', 'consumerId must not be empty');
    const consumer = new Consumer(context, topic, [...new Set(wanted)], leaders, options);
    for (const partition of consumer.partitions) void partition.run();
    return consumer;
  }

  /** @internal */
  link(address: Address): Link {
    const key = formatAddress(address);
    let link = this.links.get(key);
    if (!link) {
      // A consumer has its own connections: closing it ends its streams on the server.
      link = new Link(address, this.context.linkOptions);
      this.links.set(key, link);
    }
    return link;
  }

  /** @internal */
  async refreshLeaders(): Promise<Address[]> {
    return (await this.context.metadata.leaders(this.topic)).leaders;
  }

  /** @internal */
  decode(batch: Buffer) {
    return decodeBatch(batch);
  }

  /** @internal Resolves once the consumer is closed. */
  closedPromise(): Promise<void> {
    return this.closedSignal;
  }

  /** @internal */
  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The next record (of any partition); done when every partition reached its end or the consumer closed. */
  async next(): Promise<IteratorResult<ConsumerRecord, undefined>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      const count = this.partitions.length;
      for (let i = 0; i < count; i++) {
        const stream = this.partitions[(this.rotation + i) % count];
        const record = stream.take();
        if (record) {
          this.rotation = (this.rotation + i + 1) % count;
          if (this.consumerId !== undefined && this.commitMode === 'auto') stream.committed = record.offset;
          return { done: false, value: record };
        }
      }
      const failed = this.partitions.find((stream) => stream.error !== undefined);
      if (failed) {
        const error = failed.error!;
        await this.close();
        throw error;
      }
      if (this.partitions.every((stream) => stream.done)) {
        await this.close();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord, undefined> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Stores the position (the last record handed out, per partition) on the server now. Needs a consumerId.
   * With `upTo` (partition → offset of the last record processed), stores those positions instead, so a
   * caller that reads ahead of what it processed never commits past an unprocessed record.
   */
  async commit(upTo?: ReadonlyMap<number, number>): Promise<void> {
    if (this.consumerId === undefined) throw new FreshetError('CONFIG', 'commit() needs a consumer created with a consumerId');
    for (const stream of this.partitions) {
      if (upTo === undefined) stream.committed = stream.seen;
      else {
        const offset = upTo.get(stream.partition);
        if (offset !== undefined) stream.committed = Math.max(stream.committed, Math.min(offset, stream.seen));
      }
    }
    await this.flushOffsets();
  }

  private async flushOffsets(): Promise<void> {
    const results = await Promise.allSettled(this.partitions.map((stream) => stream.flushOffset()));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Ends the streams (storing the position first, with auto commit) and closes the consumer's connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.autoCommitTimer);
      if (this.consumerId !== undefined && this.commitMode === 'auto' && !this.closed) {
        await this.flushOffsets().catch(() => {});
      }
      this.closed = true;
      for (const stream of this.partitions) stream.stop();
      for (const link of this.links.values()) link.close();
      this.notify();
      this.resolveClosed();
    })();
    return this.closing;
  }
}

