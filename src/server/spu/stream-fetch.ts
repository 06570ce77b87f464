import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { Writer } from '../../protocol/index.js';
import { ErrorCode, type FluvioError } from '../../protocol/index.js';
import { kafka, parseBatchHeader } from '../../protocol/index.js';
import {
  decodeStreamFetchRequest,
  encodeStreamFetchResponse,
  type StreamFetchRequest,
  type StreamFetchResponse,
} from '../../protocol/index.js';
import { OffsetOutOfRangeError, type PartitionStore } from '../../storage/index.js';
import type { Connection, RequestContext } from '../net/connection.js';
import { ProtocolViolation } from '../net/connection.js';
import type { ServerLimits } from '../limits.js';
import type { Authorizer } from '../../auth/index.js';
import type { ReplicaManager } from './replica-manager.js';
import { Wakeup } from './wakeup.js';
import { SmartModuleError, type SmartChain } from '../../smartengine/index.js';
import { OutputBatchBuilder, processBatchFrom, type SmartModuleService } from './smartmodules.js';

/**
 * Frames sent but not yet acknowledged by UpdateOffsets before a stream
 * pauses. One frame in flight is what Fluvio's SPU allows; a second keeps the
 * pipe full while the consumer works through the first.
 */
const MAX_UNACKED_FRAMES = 2;

/** The offset after a stored batch's last record. */
function batchEnd(batch: Buffer, header = parseBatchHeader(batch, 0)): number {
  return header.baseOffset + header.lastOffsetDelta + 1;
}

function sendStreamFrame(connection: Connection, correlationId: number, version: number, response: StreamFetchResponse): void {
  const writer = new Writer();
  encodeStreamFetchResponse(writer, response, version);
  connection.send(correlationId, writer);
}

/** One StreamFetch: pushes batches from `offset` on as they are appended. */
class StreamSession {
  private offset: number;
  private acked: number;
  private readonly unackedEnds: number[] = [];
  private readonly wakeup = new Wakeup();
  private ended = false;
  private endError: FluvioError | undefined;

  constructor(
    readonly streamId: number,
    private readonly connection: Connection,
    private readonly correlationId: number,
    private readonly version: number,
    private readonly request: StreamFetchRequest,
    private readonly store: PartitionStore,
    private readonly maxBytes: number,
    private readonly readBytes: number,
    private readonly chain: SmartChain | undefined,
    private readonly log: Logger,
  ) {
    this.offset = request.fetchOffset;
    this.acked = request.fetchOffset;
  }

  get topic(): string {
    return this.request.topic;
  }

  get partition(): number {
    return this.request.partition;
  }

  /** The named consumer of StreamFetch v23, whose offsets UpdateConsumerOffset stores. */
  get consumerId(): string | undefined {
    return this.request.consumerId;
  }

  acknowledge(offset: number): void {
    this.acked = Math.max(this.acked, offset);
    while (this.unackedEnds.length > 0 && this.unackedEnds[0] <= this.acked) this.unackedEnds.shift();
    this.wakeup.notify();
  }

  /** Ends the stream, telling the consumer why with one last frame. */
  end(error?: FluvioError): void {
    this.ended = true;
    this.endError = error;
    this.wakeup.notify();
  }

  async run(): Promise<void> {
    const unsubscribe = this.store.onAppend(this.wakeup.notify);
    const onClose = () => this.end();
    this.connection.closed.addEventListener('abort', onClose);
    try {
      while (!this.ended) {
        if (this.offset >= this.store.highWatermark() || this.unackedEnds.length >= MAX_UNACKED_FRAMES) {
          await this.wakeup.wait();
          continue;
        }
        await this.connection.writable();
        if (this.ended) break;
        await this.sendAvailable();
      }
      if (this.endError) this.sendFrame([], this.endError);
    } catch (err) {
      if (this.endError?.code === ErrorCode.TopicDeleted) {
        // The store closed under a read in flight: the consumer hears why.
        this.sendFrame([], this.endError);
      } else {
        this.log.error({ err, topic: this.topic, partition: this.partition }, 'stream fetch failed');
        this.sendFrame([], { code: ErrorCode.StorageError });
      }
    } finally {
      unsubscribe();
      this.connection.closed.removeEventListener('abort', onClose);
      this.chain?.close();
    }
  }

  private async sendAvailable(): Promise<void> {
    let result;
    try {
      result = await this.store.read(this.offset, this.chain ? this.readBytes : this.maxBytes);
    } catch (err) {
      if (!(err instanceof OffsetOutOfRangeError)) throw err;
      // Retention removed what this consumer was about to read: continue at
      // the oldest record still stored rather than failing the stream.
      this.offset = Math.max(this.offset, err.logStartOffset);
      if (this.offset > this.store.highWatermark()) this.end({ code: ErrorCode.OffsetOutOfRange });
      return;
    }
    if (result.chunks.length === 0) return;
    const end = batchEnd(result.chunks[result.chunks.length - 1]);
    this.checkRead(result.chunks[0], end, result.highWatermark);
    // Batches stored by the Kafka listener hold Kafka records: converted here, for Fluvio readers only.
    const chunks = await kafka.asFluvioBatches(result.chunks);
    if (this.chain) return this.sendTransformed(this.chain, chunks);
    this.sendFrame(chunks, { code: ErrorCode.None });
    this.offset = end;
    this.unackedEnds.push(end);
  }

  /**
   * What a stream sends goes on from where it stopped, without a gap, and
   * never past the high watermark (O(1): the first and last batch).
   */
  private checkRead(first: Buffer, end: number, highWatermark: number): void {
    const firstBase = parseBatchHeader(first, 0).baseOffset;
    if (firstBase > this.offset || end <= this.offset || end > highWatermark) {
      assert.fail(
        `stream of ${this.topic}-${this.partition} at offset ${this.offset} read offsets [${firstBase}, ${end}) with the high watermark at ${highWatermark}`,
      );
    }
  }

  /**
   * Runs stored batches through the stream's chain and sends their outputs
   * merged into one batch, with next_filter_offset telling the consumer where
   * to resume. A batch the chain filters out entirely sends nothing; a module
   * error sends the partial output with the error and ends the stream.
   */
  private sendTransformed(chain: SmartChain, chunks: Buffer[]): void {
    const output = new OutputBatchBuilder();
    let next = this.offset;
    let error: FluvioError | undefined;
    for (const chunk of chunks) {
      const header = parseBatchHeader(chunk, 0);
      const end = batchEnd(chunk, header);
      if (end <= next) continue;
      const result = processBatchFrom(chain, chunk, header, next);
      output.add(header, result);
      next = end;
      if (result.error) {
        this.log.info({ topic: this.topic, partition: this.partition, error: result.error.message }, 'SmartModule error ends a stream');
        error = result.error.fluvioError;
        break;
      }
      if (output.bytes >= this.maxBytes) break;
    }
    this.offset = next;
    const batch = output.build();
    if (batch) {
      this.sendFrame([batch], error ?? { code: ErrorCode.None }, next);
      this.unackedEnds.push(next);
    }
    if (error) this.end(batch ? undefined : error);
  }

  private sendFrame(chunks: Buffer[], errorCode: FluvioError, nextFilterOffset = 0): void {
    sendStreamFrame(this.connection, this.correlationId, this.version, {
      topic: this.topic,
      streamId: this.streamId,
      partition: {
        partitionIndex: this.partition,
        errorCode,
        highWatermark: this.store.highWatermark(),
        nextFilterOffset,
        logStartOffset: this.store.logStartOffset(),
        aborted: undefined,
        records: chunks,
      },
    });
  }

}

/** The streams of one connection, by stream id (the UpdateOffsets session id). */
class ConnectionStreams {
  nextStreamId = 1;
  readonly sessions = new Map<number, StreamSession>();
}

/**
 * StreamFetch (1003) and UpdateOffsets (1005). Streams are woken by appends
 * (no polling) and paced by the consumer's acknowledgements, so a slow
 * consumer holds at most a couple of frames of memory.
 */
export class StreamFetchService {
  private readonly byConnection = new WeakMap<Connection, ConnectionStreams>();
  private readonly active = new Set<StreamSession>();

  constructor(
    private readonly replicas: ReplicaManager,
    private readonly limits: ServerLimits,
    private readonly log: Logger,
    private readonly smartmodules?: SmartModuleService,
    private readonly authorizer?: Authorizer,
  ) {
    replicas.on('removed', (topic, partition) => {
      for (const session of this.active) {
        if (session.topic === topic && session.partition === partition) session.end({ code: ErrorCode.TopicDeleted });
      }
    });
  }

  streamFetch = async ({ header, body, connection }: RequestContext): Promise<void> => {
    const request = decodeStreamFetchRequest(body, header.apiVersion);
    body.expectEnd('StreamFetch request');
    const streams = this.streamsOf(connection);
    const refuse = (error: FluvioError | number, message?: string) =>
      sendStreamFrame(connection, header.correlationId, header.apiVersion, {
        topic: request.topic,
        streamId: 0,
        partition: {
          partitionIndex: request.partition,
          errorCode: typeof error !== 'number' ? error : message === undefined ? { code: error } : { code: error, message },
          highWatermark: -1,
          nextFilterOffset: 0,
          logStartOffset: -1,
          aborted: undefined,
          records: [],
        },
      });

    const who = connection.principal;
    if (this.authorizer && !this.authorizer.permits(who, 'read', 'topic', request.topic)) return refuse(ErrorCode.PermissionDenied);
    if (this.authorizer && request.consumerId !== undefined && !this.authorizer.permits(who, 'read', 'group', request.consumerId)) {
      return refuse(ErrorCode.PermissionDenied);
    }
    const store = this.replicas.get(request.topic, request.partition);
    if (!store) {
      return refuse(this.replicas.hasTopic(request.topic) ? ErrorCode.NotLeaderForPartition : ErrorCode.TopicNotFound);
    }
    if (request.wasmModule?.length || request.smartmodule || request.derivedstream) {
      return refuse(ErrorCode.Other, 'legacy SmartModule fields (api_version < 18) are not supported; use the smartmodules list');
    }
    if (streams.sessions.size >= this.limits.maxStreamsPerConnection) {
      return refuse(ErrorCode.Other, `too many streams on one connection (limit ${this.limits.maxStreamsPerConnection})`);
    }
    if (request.fetchOffset < 0) throw new ProtocolViolation(`negative fetch offset ${request.fetchOffset}`);
    if (request.fetchOffset > store.highWatermark()) return refuse(ErrorCode.OffsetOutOfRange);
    const maxBytes = Math.min(Math.max(request.maxBytes, 1), this.limits.maxFetchBytes);
    let chain: SmartChain | undefined;
    if (request.smartmodules.length > 0) {
      if (!this.smartmodules) return refuse(ErrorCode.Other, 'SmartModules are not enabled on this node');
      try {
        chain = await this.smartmodules.startChain(request.smartmodules, header.apiVersion, store);
      } catch (err) {
        // The topic went while the chain started (its look-back read may have failed for that).
        if (!this.replicas.holds(store)) return refuse(ErrorCode.TopicDeleted);
        if (!(err instanceof SmartModuleError)) throw err;
        this.log.info({ topic: request.topic, partition: request.partition, error: err.message }, 'SmartModule chain refused');
        return refuse(err.fluvioError);
      }
      if (connection.isClosed) return chain.close();
      if (!this.replicas.holds(store)) {
        chain.close();
        return refuse(ErrorCode.TopicDeleted);
      }
    }
    const session = new StreamSession(
      streams.nextStreamId++,
      connection,
      header.correlationId,
      header.apiVersion,
      { ...request, fetchOffset: Math.max(request.fetchOffset, store.logStartOffset()) },
      store,
      maxBytes,
      this.limits.maxFetchBytes,
      chain,
      this.log,
    );
    streams.sessions.set(session.streamId, session);
    this.active.add(session);
    void session.run().finally(() => {
      streams.sessions.delete(session.streamId);
      this.active.delete(session);
    });
  };

  /** Stream fetch sessions still running, on all connections (a read-only gauge). */
  get activeStreamCount(): number {
    return this.active.size;
  }

  private streamsOf(connection: Connection): ConnectionStreams {
    let streams = this.byConnection.get(connection);
    if (!streams) {
      streams = new ConnectionStreams();
      this.byConnection.set(connection, streams);
    }
    return streams;
  }

  /** What a running stream of this connection reads (for UpdateConsumerOffset), if it has that session. */
  session(connection: Connection, sessionId: number): { topic: string; partition: number; consumerId?: string } | undefined {
    const session = this.byConnection.get(connection)?.sessions.get(sessionId);
    if (!session) return undefined;
    const { topic, partition, consumerId } = session;
    return consumerId === undefined ? { topic, partition } : { topic, partition, consumerId };
  }

  /** The ack for a stream this connection does not have is answered with an error, not a disconnect. */
  acknowledge(connection: Connection, sessionId: number, offset: number): boolean {
    const session = this.byConnection.get(connection)?.sessions.get(sessionId);
    if (!session) return false;
    session.acknowledge(offset);
    return true;
  }
}
