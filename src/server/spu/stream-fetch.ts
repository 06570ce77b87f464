import type { Logger } from 'pino';
import { Writer } from '../../protocol/codec.js';
import { ErrorCode, type FluvioError } from '../../protocol/error-code.js';
import { parseBatchHeader } from '../../protocol/record-batch.js';
import {
  decodeStreamFetchRequest,
  encodeStreamFetchResponse,
  type StreamFetchRequest,
} from '../../protocol/messages/stream-fetch.js';
import { OffsetOutOfRangeError, type PartitionStore } from '../../storage/index.js';
import type { Connection, RequestContext } from '../net/connection.js';
import { ProtocolViolation } from '../net/connection.js';
import type { ServerLimits } from '../limits.js';
import type { ReplicaManager } from './replica-manager.js';
import { Wakeup } from './wakeup.js';

/**
 * Frames sent but not yet acknowledged by UpdateOffsets before a stream
 * pauses. One frame in flight is what Fluvio's SPU allows; a second keeps the
 * pipe full while the consumer works through the first.
 */
const MAX_UNACKED_FRAMES = 2;

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
      this.log.error({ err, topic: this.topic, partition: this.partition }, 'stream fetch failed');
      this.sendFrame([], { code: ErrorCode.StorageError });
    } finally {
      unsubscribe();
      this.connection.closed.removeEventListener('abort', onClose);
    }
  }

  private async sendAvailable(): Promise<void> {
    let result;
    try {
      result = await this.store.read(this.offset, this.maxBytes);
    } catch (err) {
      if (!(err instanceof OffsetOutOfRangeError)) throw err;
      // Retention removed what this consumer was about to read: continue at
      // the oldest record still stored rather than failing the stream.
      this.offset = Math.max(this.offset, err.logStartOffset);
      if (this.offset > this.store.highWatermark()) this.end({ code: ErrorCode.OffsetOutOfRange });
      return;
    }
    if (result.chunks.length === 0) return;
    const last = result.chunks[result.chunks.length - 1];
    const header = parseBatchHeader(last, 0);
    const end = header.baseOffset + header.lastOffsetDelta + 1;
    this.sendFrame(result.chunks, { code: ErrorCode.None });
    this.offset = end;
    this.unackedEnds.push(end);
  }

  private sendFrame(chunks: Buffer[], errorCode: FluvioError): void {
    const writer = new Writer();
    encodeStreamFetchResponse(
      writer,
      {
        topic: this.topic,
        streamId: this.streamId,
        partition: {
          partitionIndex: this.partition,
          errorCode,
          highWatermark: this.store.highWatermark(),
          nextFilterOffset: 0,
          logStartOffset: this.store.logStartOffset(),
          aborted: undefined,
          records: chunks,
        },
      },
      this.version,
    );
    this.connection.send(this.correlationId, writer);
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
  ) {
    replicas.on('removed', (topic, partition) => {
      for (const session of this.active) {
        if (session.topic === topic && session.partition === partition) session.end({ code: ErrorCode.TopicDeleted });
      }
    });
  }

  streamFetch = ({ header, body, connection }: RequestContext): void => {
    const request = decodeStreamFetchRequest(body, header.apiVersion);
    body.expectEnd('StreamFetch request');
    const streams = this.streamsOf(connection);
    const refuse = (code: number, message?: string) => {
      const writer = new Writer();
      encodeStreamFetchResponse(
        writer,
        {
          topic: request.topic,
          streamId: 0,
          partition: {
            partitionIndex: request.partition,
            errorCode: message === undefined ? { code } : { code, message },
            highWatermark: -1,
            nextFilterOffset: 0,
            logStartOffset: -1,
            aborted: undefined,
            records: [],
          },
        },
        header.apiVersion,
      );
      connection.send(header.correlationId, writer);
    };
    const store = this.replicas.get(request.topic, request.partition);
    if (!store) {
      return refuse(this.replicas.hasTopic(request.topic) ? ErrorCode.NotLeaderForPartition : ErrorCode.TopicNotFound);
    }
    if (request.smartmodules.length > 0) {
      return refuse(ErrorCode.Other, 'SmartModules are not supported by this node yet');
    }
    if (streams.sessions.size >= this.limits.maxStreamsPerConnection) {
      return refuse(ErrorCode.Other, `too many streams on one connection (limit ${this.limits.maxStreamsPerConnection})`);
    }
    if (request.fetchOffset < 0) throw new ProtocolViolation(`negative fetch offset ${request.fetchOffset}`);
    if (request.fetchOffset > store.highWatermark()) return refuse(ErrorCode.OffsetOutOfRange);
    const maxBytes = Math.min(Math.max(request.maxBytes, 1), this.limits.maxFetchBytes);
    const session = new StreamSession(
      streams.nextStreamId++,
      connection,
      header.correlationId,
      header.apiVersion,
      { ...request, fetchOffset: Math.max(request.fetchOffset, store.logStartOffset()) },
      store,
      maxBytes,
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
