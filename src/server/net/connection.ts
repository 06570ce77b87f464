import type { Socket } from 'node:net';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { Reader, Writer, DecodeError } from '../../protocol/index.js';
import { decodeRequestHeader, type RequestHeader } from '../../protocol/index.js';
import { FrameReader, FrameTooLargeError } from './frame-reader.js';
import type { ServerLimits } from '../limits.js';
import type { BudgetReader, RequestByteBudget } from './request-budget.js';
import { ANONYMOUS, type Principal } from '../../auth/index.js';

export interface RequestContext {
  header: RequestHeader;
  body: Reader;
  connection: Connection;
}

export type RequestHandler = (ctx: RequestContext) => Promise<void> | void;

/** Decides which handler serves an api key; undefined means the key is not served here. */
export type Router = (apiKey: number) => RequestHandler | undefined;

/** A request the peer sent that we refuse to serve; the connection is closed. */
export class ProtocolViolation extends Error {}

let nextConnectionId = 1;

/**
 * One client socket: frames in, requests dispatched concurrently, responses
 * written with the request's correlation id. Reading is held back while too
 * many requests are in flight, and while the peer leaves more than
 * maxQueuedResponseBytes of responses untaken, so a client that floods
 * requests, or never reads its responses, cannot grow our memory: frames
 * already received wait (in order) and the socket is paused, which in turn
 * stalls the peer through TCP flow control.
 */
export class Connection implements BudgetReader {
  readonly id = nextConnectionId++;
  readonly peer: string;
  /** Who is asking, set by the listener when the connection is accepted (and by a SASL exchange). */
  principal: Principal = ANONYMOUS;
  private readonly frames: FrameReader;
  private readonly closeController = new AbortController();
  private inFlight = 0;
  private inFlightBytes = 0;
  /** Reading is held back: too many requests (or request bytes) are unanswered. */
  private heldForRequests = false;
  /** Reading is held back: the peer is not taking its responses. */
  private heldForOutput = false;
  /** Reading is held back: the node's request byte budget is spent. */
  private heldForBudget = false;
  /** Bytes received and counted in the budget that no request is serving yet (partial frame, backlog). */
  private unservedBytes = 0;
  private paused = false;
  /** Set by close(): nothing more is dispatched or served, even before the socket reports its close. */
  private closing = false;
  /** Complete frames received while reading was held back, dispatched in order once it resumes. */
  private backlog: Buffer[] = [];
  private backlogHead = 0;
  private drainWaiters: (() => void)[] = [];
  /** Runs while a partial frame waits for its rest (see ServerLimits.frameTimeoutMs). */
  private frameTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly router: Router,
    private readonly limits: ServerLimits,
    readonly log: Logger,
    private readonly budget: RequestByteBudget,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.frames = new FrameReader(limits.maxFrameBytes);
    // Every stream and watch of this connection listens for its close; their
    // number is bounded by the limits, not by the EventTarget default of 10.
    setMaxListeners(limits.maxStreamsPerConnection + limits.maxWatchesPerConnection + 16, this.closeController.signal);
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('drain', () => {
      this.releaseDrainWaiters();
      if (this.heldForOutput) {
        this.heldForOutput = false;
        this.pump();
      }
    });
    socket.on('error', (err) => this.log.debug({ err, peer: this.peer }, 'socket error'));
    socket.on('close', () => {
      this.closing = true;
      this.backlog = [];
      this.stopFrameTimer();
      this.dropUnserved();
      this.closeController.abort();
      this.releaseDrainWaiters();
    });
    const handshake = setTimeout(
      () => this.close('no complete request within the handshake timeout'),
      limits.handshakeTimeoutMs,
    );
    handshake.unref();
    this.firstFrameSeen = () => clearTimeout(handshake);
  }

  private firstFrameSeen: () => void;

  /** Aborted when the socket closes; streams and watches stop on it. */
  get closed(): AbortSignal {
    return this.closeController.signal;
  }

  get isClosed(): boolean {
    return this.closeController.signal.aborted;
  }

  /** Bytes written to the socket but not yet flushed to the kernel. */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /** Sends one response frame: i32 length, correlation id, body. */
  send(correlationId: number, body: Writer): void {
    if (this.isClosed) return;
    const chunks = body.finishChunks();
    let length = 4;
    for (const chunk of chunks) length += chunk.length;
    const head = Buffer.allocUnsafe(8);
    head.writeInt32BE(length, 0);
    head.writeInt32BE(correlationId, 4);
    this.socket.cork();
    this.socket.write(head);
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
    // writableNeedDrain: a 'drain' event is coming to lift the hold.
    if (!this.heldForOutput && this.socket.writableLength > this.limits.maxQueuedResponseBytes && this.socket.writableNeedDrain) {
      this.heldForOutput = true;
      this.updateReading();
    }
  }

  /** Resolves once queued output is below the limit (or the connection closed). */
  async writable(): Promise<void> {
    while (!this.isClosed && this.socket.writableLength > this.limits.maxQueuedResponseBytes) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  close(reason: string): void {
    if (this.closing || this.isClosed) return;
    this.closing = true;
    this.backlog = [];
    this.stopFrameTimer();
    this.dropUnserved();
    this.log.info({ peer: this.peer, reason }, 'closing connection');
    this.socket.destroy();
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The budget has room again (or it is this connection's turn to read on alone). */
  resumeReading(): void {
    this.heldForBudget = false;
    this.pump();
  }

  private dropUnserved(): void {
    this.heldForBudget = false;
    this.budget.drop(this.unservedBytes, this);
    this.unservedBytes = 0;
  }

  private onData(data: Buffer): void {
    if (this.closing) return;
    this.budget.receive(data.length);
    this.unservedBytes += data.length;
    let frames: Buffer[];
    try {
      frames = this.frames.push(data);
    } catch (err) {
      if (err instanceof FrameTooLargeError) return this.close(err.message);
      throw err;
    }
    if (frames.length > 0) {
      this.firstFrameSeen();
      // The next frame has its own deadline.
      this.frameTimer?.refresh();
    }
    for (const frame of frames) this.backlog.push(frame);
    if (!this.closing && !this.budget.mayRead(this)) this.heldForBudget = true;
    this.pump();
  }

  /** Keeps the frame deadline running exactly while a partial frame waits and the socket is read. */
  private watchPartialFrame(): void {
    if (this.frames.pendingBytes === 0 || this.paused || this.closing) return this.stopFrameTimer();
    if (this.frameTimer !== undefined) return;
    const timeoutMs = this.limits.frameTimeoutMs;
    this.frameTimer = setTimeout(() => this.close(`stalled mid-frame: ${this.frames.pendingBytes} bytes of a frame, not complete within ${timeoutMs} ms`), timeoutMs);
    this.frameTimer.unref();
  }

  private stopFrameTimer(): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  /** Dispatches received frames until a hold applies, then pauses or resumes the socket to match. */
  private pump(): void {
    while (this.backlogHead < this.backlog.length && !this.closing && !this.heldForRequests && !this.heldForOutput) {
      this.dispatch(this.backlog[this.backlogHead++]);
    }
    if (this.backlogHead >= this.backlog.length) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    this.updateReading();
  }

  private updateReading(): void {
    if (this.closing) return;
    const hold = this.heldForRequests || this.heldForOutput || this.heldForBudget || this.backlogHead < this.backlog.length;
    if (hold && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!hold && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.watchPartialFrame();
  }

  private dispatch(frame: Buffer): void {
    if (this.closing) return;
    let header: RequestHeader;
    const body = new Reader(frame);
    try {
      header = decodeRequestHeader(body);
    } catch (err) {
      return this.close(`malformed request header: ${(err as Error).message}`);
    }
    const handler = this.router(header.apiKey);
    if (!handler) return this.close(`unsupported api key ${header.apiKey}`);
    const budgetBytes = 4 + frame.length;
    this.unservedBytes -= budgetBytes;
    this.budget.serve(budgetBytes, this);
    this.inFlight++;
    this.inFlightBytes += frame.length;
    if (this.inFlight >= this.limits.maxInFlightRequests || this.inFlightBytes >= this.limits.maxInFlightRequestBytes) {
      this.heldForRequests = true;
    }
    Promise.resolve()
      // A request that arrived behind one that closed the connection is not served.
      .then(() => (this.closing ? undefined : handler({ header, body, connection: this })))
      .catch((err: unknown) => {
        if (err instanceof DecodeError || err instanceof ProtocolViolation) {
          this.close(`malformed request (api key ${header.apiKey} v${header.apiVersion}): ${(err as Error).message}`);
        } else {
          this.log.error({ err, apiKey: header.apiKey, peer: this.peer }, 'request handler failed');
          this.close('internal error while serving a request');
        }
      })
      .finally(() => {
        this.budget.served(budgetBytes);
        this.inFlight--;
        this.inFlightBytes -= frame.length;
        if (
          this.heldForRequests &&
          this.inFlight < this.limits.maxInFlightRequests / 2 &&
          this.inFlightBytes < this.limits.maxInFlightRequestBytes / 2
        ) {
          this.heldForRequests = false;
          this.pump();
        }
      });
  }
}
