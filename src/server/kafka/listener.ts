import { listenOn } from '../net/listen.js';
import net from 'node:net';
import type { Logger } from 'pino';
import { kafka, DecodeError } from '../../protocol/index.js';
import { FrameReader, FrameTooLargeError } from '../net/frame-reader.js';
import type { ServerLimits } from '../limits.js';

const { KafkaReader, KafkaWriter, decodeRequestHeaderStart, encodeResponseHeader, isFlexible, kafkaApi, responseHeaderIsFlexible, decodeMessage, encodeMessage } = kafka;
type KafkaRequestHeader = kafka.KafkaRequestHeader;
type KafkaApi = kafka.KafkaApi;
type AnyField = kafka.AnyField;
type EncodableOf<F extends readonly kafka.AnyField[]> = kafka.EncodableOf<F>;

/** What a handler learns about the request besides its body. */
export interface KafkaRequestContext {
  header: KafkaRequestHeader;
  api: KafkaApi;
  /** Aborted when the connection closes: long polls stop on it. */
  closed: AbortSignal;
  /** `host` of the peer, for DescribeGroups' client_host. */
  peerHost: string;
}

/** The response body, or undefined for a request that gets none (Produce with acks = 0). */
export type KafkaHandler = (request: Record<string, unknown>, ctx: KafkaRequestContext) => Promise<object | undefined> | object | undefined;

/**
 * Answers a request whose api key or version is not served; undefined closes
 * the connection (there is no layout the client could read the error in).
 */
export type UnsupportedHandler = (header: KafkaRequestHeader, api: KafkaApi | undefined) => { api: KafkaApi; version: number; body: object } | undefined;

export interface KafkaRouting {
  handler(apiKey: number): KafkaHandler | undefined;
  unsupported: UnsupportedHandler;
}

/** Frames queued on one connection before reading pauses (requests are served one at a time, in order). */
const MAX_QUEUED_REQUESTS = 64;

/**
 * One Kafka client socket. Requests are served one at a time, in arrival
 * order, as Kafka brokers do: responses come back in request order (which
 * clients rely on) and a producer's requests reach the log in the order sent.
 */
class KafkaConnection {
  private readonly frames: FrameReader;
  private readonly queue: Buffer[] = [];
  private serving = false;
  private paused = false;
  private closing = false;
  private readonly abort = new AbortController();
  readonly peer: string;

  constructor(
    private readonly socket: net.Socket,
    private readonly routing: KafkaRouting,
    private readonly limits: ServerLimits,
    private readonly log: Logger,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.frames = new FrameReader(limits.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('drain', () => this.updateReading());
    socket.on('error', (err) => this.log.debug({ err, peer: this.peer }, 'kafka socket error'));
    socket.on('close', () => {
      this.closing = true;
      this.queue.length = 0;
      this.abort.abort();
      clearTimeout(handshake);
    });
    const handshake = setTimeout(() => this.close('no complete request within the handshake timeout'), limits.handshakeTimeoutMs);
    handshake.unref();
    this.firstFrame = () => clearTimeout(handshake);
  }

  private firstFrame: () => void;

  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.queue.length = 0;
    this.log.info({ peer: this.peer, reason }, 'closing kafka connection');
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(data);
    } catch (err) {
      if (err instanceof FrameTooLargeError) return this.close(err.message);
      throw err;
    }
    if (frames.length === 0) return;
    this.firstFrame();
    this.queue.push(...frames);
    this.updateReading();
    void this.serve();
  }

  private updateReading(): void {
    if (this.closing) return;
    const hold = this.queue.length >= MAX_QUEUED_REQUESTS || this.socket.writableLength > this.limits.maxQueuedResponseBytes;
    if (hold !== this.paused) {
      this.paused = hold;
      if (hold) this.socket.pause();
      else this.socket.resume();
    }
  }

  private async serve(): Promise<void> {
    if (this.serving) return;
    this.serving = true;
    try {
      while (!this.closing && this.queue.length > 0) {
        const frame = this.queue.shift() as Buffer;
        this.updateReading();
        await this.handle(frame);
      }
    } finally {
      this.serving = false;
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    const r = new KafkaReader(frame);
    let header: KafkaRequestHeader;
    try {
      header = decodeRequestHeaderStart(r);
    } catch (err) {
      return this.close(`malformed request header: ${(err as Error).message}`);
    }
    const api = kafkaApi(header.apiKey);
    const handler = this.routing.handler(header.apiKey);
    if (!api || !handler || header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
      const answer = this.routing.unsupported(header, api);
      if (!answer) {
        const what = api ? `${api.name} v${header.apiVersion} (served: v${api.minVersion}-${api.maxVersion})` : `api key ${header.apiKey}`;
        return this.close(`unsupported request: ${what}`);
      }
      this.log.info({ peer: this.peer, apiKey: header.apiKey, apiVersion: header.apiVersion }, 'unsupported kafka request version answered');
      return this.respond(header.correlationId, answer.api, answer.version, answer.body);
    }
    let request: Record<string, unknown>;
    try {
      if (isFlexible(api, header.apiVersion)) r.skipTaggedFields('request header tagged fields');
      request = decodeMessage(api.request, r, header.apiVersion) as Record<string, unknown>;
      r.expectEnd(`${api.name} v${header.apiVersion} request`);
    } catch (err) {
      if (err instanceof DecodeError) return this.close(`malformed ${api.name} v${header.apiVersion} request: ${err.message}`);
      throw err;
    }
    let response: object | undefined;
    try {
      response = await handler(request, { header, api, closed: this.abort.signal, peerHost: this.socket.remoteAddress ?? '' });
    } catch (err) {
      if (err instanceof DecodeError) return this.close(`malformed ${api.name} v${header.apiVersion} request: ${err.message}`);
      this.log.error({ err, api: api.name, peer: this.peer }, 'kafka request handler failed');
      return this.close(`internal error while serving ${api.name}`);
    }
    if (response !== undefined) this.respond(header.correlationId, api, header.apiVersion, response);
  }

  private respond(correlationId: number, api: KafkaApi, version: number, body: object): void {
    if (this.closing) return;
    const w = new KafkaWriter();
    w.i32(0);
    encodeResponseHeader(w, correlationId, responseHeaderIsFlexible(api, version));
    encodeMessage(api.response, w, version, body as EncodableOf<readonly AnyField[]>);
    const chunks = w.finishChunks();
    let length = -4;
    for (const chunk of chunks) length += chunk.length;
    chunks[0].writeInt32BE(length, 0);
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
    this.updateReading();
  }
}

/** The Kafka listener's TCP server; owns its connections and closes them on stop. */
export class KafkaListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(routing: KafkaRouting, limits: ServerLimits, log: Logger) {
    this.server = net.createServer((socket) => {
      if (this.sockets.size >= limits.maxConnections) {
        log.warn({ listener: 'kafka', limit: limits.maxConnections }, 'connection limit reached; refusing');
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      new KafkaConnection(socket, routing, limits, log.child({ listener: 'kafka' }));
    });
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port, 'kafka listener');
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
