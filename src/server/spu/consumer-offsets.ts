// Stored consumer offsets (SPU keys 1006 update, 1007 delete, 1008 fetch), as
// Fluvio's SPU serves them (crates/fluvio-spu/src/services/public/consumer_handler.rs):
//
//   - UpdateConsumerOffset names a stream session of this connection; the
//     session's StreamFetch (v23) carried the consumer id, and its topic and
//     partition are what the offset is stored for. Unknown session →
//     FetchSessionNotFoud; a stream without consumer id → Other.
//   - The offset stored is the last record the consumer took; clients resume
//     at offset + 1. modified_time is in seconds since the epoch (Fluvio's
//     TimestampSecs).
//   - Fetch lists every stored offset of partitions that still exist; the
//     offsets of a deleted topic are dropped with it.
//
// Fluvio keeps them in the system topic `consumer-offset`; this node keeps
// them in `<dataDir>/metadata/consumer-offsets.json`, replaced atomically
// (write, fsync, rename) before a change is acknowledged, so they survive a
// restart or a crash.

import path from 'node:path';
import type { Logger } from 'pino';
import { Writer } from '../../protocol/index.js';
import { ErrorCode, type FluvioError } from '../../protocol/index.js';
import {
  decodeDeleteConsumerOffsetRequest,
  decodeFetchConsumerOffsetsRequest,
  decodeUpdateConsumerOffsetRequest,
  encodeDeleteConsumerOffsetResponse,
  encodeFetchConsumerOffsetsResponse,
  encodeUpdateConsumerOffsetResponse,
  type ConsumerOffset,
} from '../../protocol/index.js';
import type { Authorizer } from '../../auth/index.js';
import type { RequestContext, RequestHandler } from '../net/connection.js';
import { readJsonIfExists, SerialQueue, writeJsonAtomic } from '../../common/index.js';
import type { ReplicaManager } from './replica-manager.js';
import type { StreamFetchService } from './stream-fetch.js';

export interface StoredOffset {
  consumerId: string;
  topic: string;
  partition: number;
  offset: number;
  /** Seconds since the epoch. */
  modifiedTime: number;
}

/** Upper bound on stored (consumer, partition) pairs, so that a client cannot grow the file without end. */
export const MAX_STORED_CONSUMER_OFFSETS = 100_000;

function keyOf(consumerId: string, topic: string, partition: number): string {
  return JSON.stringify([consumerId, topic, partition]);
}

/** Where stored consumer offsets live: a JSON file in the data dir by default, a KV bucket on the JetStream backend. */
export interface ConsumerOffsetBackend {
  list(): Promise<StoredOffset[]>;
  put(consumerId: string, topic: string, partition: number, offset: number): Promise<void>;
  delete(consumerId: string, topic: string, partition: number): Promise<boolean>;
  dropPartition(topic: string, partition: number): Promise<void>;
}

/** The offsets, in memory and in one JSON file; writes are serialized and coalesced. */
export class ConsumerOffsetStore implements ConsumerOffsetBackend {
  private readonly file: string;
  private readonly offsets = new Map<string, StoredOffset>();
  private loaded: Promise<void> | undefined;
  private readonly writes = new SerialQueue();
  /** A write queued but not begun: whoever arrives meanwhile shares it (it reads the offsets as it begins). */
  private queuedWrite: Promise<void> | undefined;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'metadata', 'consumer-offsets.json');
  }

  private load(): Promise<void> {
    this.loaded ??= readJsonIfExists<{ offsets: StoredOffset[] }>(this.file).then((stored) => {
      for (const entry of stored?.offsets ?? []) this.offsets.set(keyOf(entry.consumerId, entry.topic, entry.partition), entry);
    });
    return this.loaded;
  }

  async list(): Promise<StoredOffset[]> {
    await this.load();
    return [...this.offsets.values()];
  }

  async put(consumerId: string, topic: string, partition: number, offset: number): Promise<void> {
    await this.load();
    const key = keyOf(consumerId, topic, partition);
    if (!this.offsets.has(key) && this.offsets.size >= MAX_STORED_CONSUMER_OFFSETS) {
      throw new Error(`this node stores at most ${MAX_STORED_CONSUMER_OFFSETS} consumer offsets`);
    }
    this.offsets.set(key, { consumerId, topic, partition, offset, modifiedTime: Math.floor(Date.now() / 1000) });
    await this.persist();
  }

  async delete(consumerId: string, topic: string, partition: number): Promise<boolean> {
    await this.load();
    const existed = this.offsets.delete(keyOf(consumerId, topic, partition));
    if (existed) await this.persist();
    return existed;
  }

  /** Drops every offset of a partition (its topic was deleted). */
  async dropPartition(topic: string, partition: number): Promise<void> {
    await this.load();
    let changed = false;
    for (const [key, entry] of this.offsets) {
      if (entry.topic === topic && entry.partition === partition) {
        this.offsets.delete(key);
        changed = true;
      }
    }
    if (changed) await this.persist();
  }

  /** Resolves once a write that includes every change made so far is on disk. */
  private persist(): Promise<void> {
    this.queuedWrite ??= this.writes.run(() => {
      this.queuedWrite = undefined;
      return this.write();
    });
    return this.queuedWrite;
  }

  private write(): Promise<void> {
    const offsets = [...this.offsets.values()].sort((a, b) => a.consumerId.localeCompare(b.consumerId) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
    return writeJsonAtomic(this.file, { offsets });
  }
}

function reply(ctx: RequestContext, encode: (w: Writer) => void): void {
  const writer = new Writer();
  encode(writer);
  ctx.connection.send(ctx.header.correlationId, writer);
}

function failure(err: unknown): FluvioError {
  return { code: ErrorCode.Other, message: (err as Error).message };
}

/** The three handlers, sharing one store per node. */
export function consumerOffsetHandlers(
  replicas: ReplicaManager,
  streams: StreamFetchService,
  log: Logger,
  store: ConsumerOffsetBackend = new ConsumerOffsetStore(replicas.dataDir),
  authorizer?: Authorizer,
): { update: RequestHandler; delete: RequestHandler; fetch: RequestHandler } {
  replicas.on('removed', (topic, partition) => {
    store.dropPartition(topic, partition).catch((err: unknown) => log.error({ err, topic, partition }, 'cannot drop consumer offsets'));
  });

  const update: RequestHandler = async (ctx) => {
    const request = decodeUpdateConsumerOffsetRequest(ctx.body, ctx.header.apiVersion);
    ctx.body.expectEnd('UpdateConsumerOffset request');
    const session = streams.session(ctx.connection, request.sessionId);
    let errorCode: FluvioError = { code: ErrorCode.None };
    if (!session) {
      errorCode = { code: ErrorCode.FetchSessionNotFoud };
    } else if (session.consumerId === undefined) {
      errorCode = { code: ErrorCode.Other, message: 'stream without consumer id' };
    } else if (authorizer && !authorizer.permits(ctx.connection.principal, 'read', 'group', session.consumerId)) {
      errorCode = { code: ErrorCode.PermissionDenied };
    } else if (request.offset < -1) {
      errorCode = { code: ErrorCode.Other, message: `invalid consumer offset ${request.offset}` };
    } else {
      try {
        await store.put(session.consumerId, session.topic, session.partition, request.offset);
      } catch (err) {
        log.error({ err }, 'cannot store a consumer offset');
        errorCode = failure(err);
      }
    }
    const offset = errorCode.code === ErrorCode.None ? request.offset : 0;
    reply(ctx, (w) => encodeUpdateConsumerOffsetResponse(w, { offset, errorCode }, ctx.header.apiVersion));
  };

  const remove: RequestHandler = async (ctx) => {
    const request = decodeDeleteConsumerOffsetRequest(ctx.body, ctx.header.apiVersion);
    ctx.body.expectEnd('DeleteConsumerOffset request');
    let errorCode: FluvioError = { code: ErrorCode.None };
    if (authorizer && !authorizer.permits(ctx.connection.principal, 'delete', 'group', request.consumerId)) {
      errorCode = { code: ErrorCode.PermissionDenied };
    } else {
      try {
        await store.delete(request.consumerId, request.replicaId.topic, request.replicaId.partition);
      } catch (err) {
        log.error({ err }, 'cannot delete a consumer offset');
        errorCode = failure(err);
      }
    }
    reply(ctx, (w) => encodeDeleteConsumerOffsetResponse(w, { errorCode }, ctx.header.apiVersion));
  };

  const fetch: RequestHandler = async (ctx) => {
    decodeFetchConsumerOffsetsRequest(ctx.body, ctx.header.apiVersion);
    ctx.body.expectEnd('FetchConsumerOffsets request');
    let consumers: ConsumerOffset[] = [];
    let errorCode: FluvioError = { code: ErrorCode.None };
    try {
      consumers = (await store.list())
        .filter((entry) => replicas.get(entry.topic, entry.partition) !== undefined)
        .filter((entry) => !authorizer || (authorizer.allows(ctx.connection.principal, 'describe', 'group', entry.consumerId) && authorizer.allows(ctx.connection.principal, 'describe', 'topic', entry.topic)))
        .map((entry) => ({
          consumerId: entry.consumerId,
          replicaId: { topic: entry.topic, partition: entry.partition },
          offset: entry.offset,
          modifiedTime: entry.modifiedTime,
        }));
    } catch (err) {
      log.error({ err }, 'cannot read consumer offsets');
      errorCode = failure(err);
    }
    reply(ctx, (w) => encodeFetchConsumerOffsetsResponse(w, { errorCode, consumers }, ctx.header.apiVersion));
  };

  return { update, delete: remove, fetch };
}
