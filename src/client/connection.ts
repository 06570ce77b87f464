// One TCP connection to an SC or an SPU, as Fluvio's client keeps it:
//
//   - the first frame is ApiVersions (v2); its answer lists the versions the
//     server speaks, and every later request is sent at the highest version
//     both sides support (negotiateVersion);
//   - after that, requests are multiplexed by correlation id: responses may
//     come in any order and are routed to their request; a streaming request
//     (StreamFetch, Watch) gets any number of frames with its correlation id;
//   - every serial request has a deadline; on expiry the connection is
//     considered stale and dropped (as Fluvio does), failing what was on it.
//
// A Connection never reconnects by itself; Link (below) does, lazily, with
// backoff, and is what the rest of the client holds.

import type net from 'node:net';
import os from 'node:os';
import { backoffDelay } from '../common/index.js';
import { Reader, Writer } from '../protocol/index.js';
import { encodeRequestHeader } from '../protocol/index.js';
import { negotiateVersion, type ApiVersionKey } from '../protocol/index.js';
import { decodeApiVersionsResponse, encodeApiVersionsRequest } from '../protocol/index.js';
import { ErrorCode } from '../protocol/index.js';
import { ConnectionError, FreshetError, NoNodeError, RequestTimeoutError, ServerError } from './errors.js';
import { explainTlsError, openSocket, type ClientTlsOptions } from './tls.js';

export const CLIENT_VERSION = '0.1.0';
const API_VERSIONS_KEY = 18;
const API_VERSIONS_VERSION = 2;

/** A request type: its key, the version range this client speaks, and its codecs. */
export interface ApiSpec<Req, Res> {
  name: string;
  key: number;
  minVersion: number;
  maxVersion: number;
  encode(w: Writer, req: Req, version: number): void;
  decode(r: Reader, version: number): Res;
}

export interface Address {
  host: string;
  port: number;
}

export function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parses `host:port` (or `[v6]:port`); the port defaults to `defaultPort`. */
export function parseEndpoint(endpoint: string, defaultPort = 9003): Address {
  const trimmed = endpoint.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (v6) return { host: v6[1], port: v6[2] === undefined ? defaultPort : Number(v6[2]) };
  const colon = trimmed.lastIndexOf(':');
  if (colon < 0) return { host: trimmed || '127.0.0.1', port: defaultPort };
  const port = Number(trimmed.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FreshetError('CONFIG', `invalid endpoint "${endpoint}": expected host:port`);
  }
  return { host: trimmed.slice(0, colon) || '127.0.0.1', port };
}

export interface ConnectionOptions {
  clientId?: string;
  connectTimeoutMs?: number;
  /** Default deadline for a serial request. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted. */
  maxFrameBytes?: number;
  /** Connection refused means "no node here": say how to start one (for the SC). */
  explainRefusal?: boolean;
  /** TLS for this connection (undefined: plain TCP). */
  tls?: ClientTlsOptions | undefined;
}

export const DEFAULT_CONNECTION_OPTIONS: Required<Omit<ConnectionOptions, 'tls'>> & Pick<ConnectionOptions, 'tls'> = {
  clientId: 'freshet',
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxFrameBytes: 128 * 1024 * 1024,
  explainRefusal: false,
  tls: undefined,
};

interface Serial {
  kind: 'serial';
  what: string;
  decode(r: Reader): unknown;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface Streaming {
  kind: 'stream';
  decode(r: Reader): unknown;
  onFrame(value: unknown): void;
  onEnd(err: Error): void;
}

export interface StreamHandle {
  readonly correlationId: number;
  /** Stops routing frames to this stream (the server ends it when the connection closes). */
  cancel(): void;
}

export class Connection {
  private readonly pending = new Map<number, Serial | Streaming>();
  private nextCorrelationId = 1;
  private closedError: Error | undefined;
  private readonly closeListeners = new Set<(err: Error) => void>();
  // frame reading state
  private readonly lengthBytes = Buffer.alloc(4);
  private lengthFilled = 0;
  private frame: Buffer | undefined;
  private frameFilled = 0;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: Address,
    private readonly options: typeof DEFAULT_CONNECTION_OPTIONS,
    public versions: readonly ApiVersionKey[] = [],
    public platformVersion = '',
  ) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (err) => {
      const tlsReason = options.tls ? explainTlsError(err, formatAddress(address)) : undefined;
      this.fail(
        new ConnectionError(`connection to ${formatAddress(address)} failed: ${tlsReason ?? err.message}`, { cause: err, ...(tlsReason ? { code: 'TLS' as const } : {}) }),
      );
    });
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${formatAddress(address)} closed`)));
  }

  /** Opens a socket and performs the ApiVersions handshake. */
  static async open(address: Address, options: ConnectionOptions = {}): Promise<Connection> {
    const opts = { ...DEFAULT_CONNECTION_OPTIONS, ...options };
    const endpoint = formatAddress(address);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const { socket: s, ready } = openSocket(address.host, address.port, opts.tls);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(`connecting to ${endpoint} timed out after ${opts.connectTimeoutMs} ms`, { code: 'TIMEOUT' }));
      }, opts.connectTimeoutMs);
      s.once(ready, () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        s.destroy();
        if (opts.explainRefusal && (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EADDRNOTAVAIL')) {
          reject(new NoNodeError(endpoint, err));
        } else if (opts.tls && explainTlsError(err, endpoint)) {
          reject(new ConnectionError(`cannot connect to ${endpoint}: ${explainTlsError(err, endpoint)}`, { cause: err, code: 'TLS' }));
        } else {
          reject(new ConnectionError(`cannot connect to ${endpoint}: ${err.message}`, { cause: err }));
        }
      });
    });
    const connection = new Connection(socket, address, opts);
    try {
      const response = await connection.send(
        {
          name: 'ApiVersions',
          key: API_VERSIONS_KEY,
          minVersion: API_VERSIONS_VERSION,
          maxVersion: API_VERSIONS_VERSION,
          encode: (w, req: { clientVersion: string; clientOs: string; clientArch: string }, version) =>
            encodeApiVersionsRequest(w, req, version),
          decode: (r, version) => decodeApiVersionsResponse(r, version),
        },
        { clientVersion: CLIENT_VERSION, clientOs: os.platform(), clientArch: os.arch() },
        { version: API_VERSIONS_VERSION, timeoutMs: opts.connectTimeoutMs },
      );
      if (response.errorCode.code !== ErrorCode.None) throw new ServerError(response.errorCode, `ApiVersions at ${endpoint}`);
      connection.versions = response.apiKeys;
      connection.platformVersion = response.platformVersion;
    } catch (err) {
      connection.close();
      throw err;
    }
    return connection;
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  /** Called once when the connection ends (by either side); immediately if it already has. */
  onClose(listener: (err: Error) => void): () => void {
    if (this.closedError) {
      listener(this.closedError);
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** The version a request type goes out at; throws when the server and we share none. */
  versionOf(api: ApiSpec<unknown, unknown>): number {
    const version = negotiateVersion(this.versions, api.key, api.minVersion, api.maxVersion);
    if (version === undefined) {
      const server = this.versions.find((key) => key.apiKey === api.key);
      throw new FreshetError(
        'UNSUPPORTED',
        `${formatAddress(this.address)} does not support ${api.name} (key ${api.key}) at versions ${api.minVersion}..${api.maxVersion}` +
          (server ? ` (it speaks ${server.minVersion}..${server.maxVersion})` : ''),
      );
    }
    return version;
  }

  /** A serial request: one response, within the deadline. */
  send<Req, Res>(api: ApiSpec<Req, Res>, req: Req, opts: { timeoutMs?: number; version?: number } = {}): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    let version: number;
    try {
      version = opts.version ?? this.versionOf(api as ApiSpec<unknown, unknown>);
    } catch (err) {
      return Promise.reject(err);
    }
    const correlationId = this.allocateCorrelationId();
    const timeoutMs = opts.timeoutMs ?? this.options.requestTimeoutMs;
    return new Promise<Res>((resolve, reject) => {
      const entry: Serial = {
        kind: 'serial',
        what: `${api.name} to ${formatAddress(this.address)}`,
        decode: (r) => api.decode(r, version),
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
      };
      entry.timer = setTimeout(() => {
        this.pending.delete(correlationId);
        const err = new RequestTimeoutError(entry.what, timeoutMs);
        reject(err);
        // Fluvio marks a socket stale when a request times out; so do we.
        this.destroy(err);
      }, timeoutMs);
      this.pending.set(correlationId, entry);
      try {
        this.write(api, req, version, correlationId);
      } catch (err) {
        clearTimeout(entry.timer);
        this.pending.delete(correlationId);
        reject(err);
      }
    });
  }

  /** A streaming request: `onFrame` for every response frame, `onEnd` once if the connection ends. */
  stream<Req, Res>(api: ApiSpec<Req, Res>, req: Req, onFrame: (res: Res) => void, onEnd: (err: Error) => void): StreamHandle {
    if (this.closedError) throw this.closedError;
    const version = this.versionOf(api as ApiSpec<unknown, unknown>);
    const correlationId = this.allocateCorrelationId();
    this.pending.set(correlationId, {
      kind: 'stream',
      decode: (r) => api.decode(r, version),
      onFrame: onFrame as (value: unknown) => void,
      onEnd,
    });
    this.write(api, req, version, correlationId);
    return {
      correlationId,
      cancel: () => {
        this.pending.delete(correlationId);
      },
    };
  }

  close(): void {
    this.destroy(new ConnectionError(`connection to ${formatAddress(this.address)} closed by the client`));
  }

  private destroy(err: Error): void {
    this.fail(err);
    this.socket.destroy();
  }

  private allocateCorrelationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    return id;
  }

  private write<Req>(api: ApiSpec<Req, unknown>, req: Req, version: number, correlationId: number): void {
    const w = new Writer();
    encodeRequestHeader(w, { apiKey: api.key, apiVersion: version, correlationId, clientId: this.options.clientId });
    api.encode(w, req, version);
    const chunks = w.finishChunks();
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(length, 0);
    this.socket.cork();
    this.socket.write(prefix);
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) {
      if (entry.kind === 'serial') {
        clearTimeout(entry.timer);
        entry.reject(err);
      } else {
        entry.onEnd(err);
      }
    }
    for (const listener of this.closeListeners) listener(err);
    this.closeListeners.clear();
  }

  private onData(data: Buffer): void {
    let pos = 0;
    while (pos < data.length && !this.closedError) {
      if (this.frame === undefined) {
        const take = Math.min(4 - this.lengthFilled, data.length - pos);
        data.copy(this.lengthBytes, this.lengthFilled, pos, pos + take);
        this.lengthFilled += take;
        pos += take;
        if (this.lengthFilled < 4) return;
        const length = this.lengthBytes.readInt32BE(0);
        this.lengthFilled = 0;
        if (length < 4 || length > this.options.maxFrameBytes) {
          this.destroy(new ConnectionError(`${formatAddress(this.address)} sent a frame of ${length} bytes (limit ${this.options.maxFrameBytes})`));
          return;
        }
        // A frame that arrives whole in this chunk is used in place.
        if (data.length - pos >= length) {
          const frame = data.subarray(pos, pos + length);
          pos += length;
          this.dispatch(frame);
          continue;
        }
        this.frame = Buffer.allocUnsafe(length);
        this.frameFilled = 0;
      }
      const take = Math.min(this.frame.length - this.frameFilled, data.length - pos);
      data.copy(this.frame, this.frameFilled, pos, pos + take);
      this.frameFilled += take;
      pos += take;
      if (this.frameFilled === this.frame.length) {
        const frame = this.frame;
        this.frame = undefined;
        this.dispatch(frame);
      }
    }
  }

  private dispatch(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const entry = this.pending.get(correlationId);
    if (!entry) return; // a stream we cancelled, or an answer after its timeout
    const reader = new Reader(frame, 4);
    let value: unknown;
    try {
      value = entry.decode(reader);
    } catch (err) {
      this.destroy(new ConnectionError(`undecodable response from ${formatAddress(this.address)}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (entry.kind === 'serial') {
      this.pending.delete(correlationId);
      clearTimeout(entry.timer);
      entry.resolve(value);
    } else {
      entry.onFrame(value);
    }
  }
}

export interface LinkOptions extends ConnectionOptions {
  /** How long idempotent requests keep retrying on a broken connection. */
  retryTimeoutMs?: number;
}

/** Retries of idempotent requests and stream reconnects. */
export const RECONNECT_BACKOFF = { minMs: 50, maxMs: 1000 };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A server address the client talks to: holds at most one live Connection,
 * opens a new one on demand after the old one broke (concurrent callers share
 * the attempt), and retries idempotent requests across reconnects.
 */
export class Link {
  private current: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private closed = false;

  constructor(
    readonly address: Address,
    private readonly options: LinkOptions = {},
  ) {}

  get endpoint(): string {
    return formatAddress(this.address);
  }

  /** The live connection, or a new one. */
  connection(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ConnectionError(`link to ${this.endpoint} is closed`));
    if (this.current && !this.current.isClosed) return Promise.resolve(this.current);
    this.connecting ??= Connection.open(this.address, this.options)
      .then((connection) => {
        if (this.closed) {
          connection.close();
          throw new ConnectionError(`link to ${this.endpoint} is closed`);
        }
        this.current = connection;
        return connection;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  /** A serial request; with `idempotent`, transport failures are retried on a new connection. */
  async send<Req, Res>(api: ApiSpec<Req, Res>, req: Req, opts: { idempotent?: boolean; timeoutMs?: number } = {}): Promise<Res> {
    const deadline = Date.now() + (opts.idempotent ? (this.options.retryTimeoutMs ?? 10_000) : 0);
    for (let attempt = 0; ; attempt++) {
      try {
        const connection = await this.connection();
        return await connection.send(api, req, { timeoutMs: opts.timeoutMs });
      } catch (err) {
        if (!(err instanceof ConnectionError) || this.closed || Date.now() >= deadline) throw err;
        await sleep(backoffDelay(attempt, RECONNECT_BACKOFF));
      }
    }
  }

  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = undefined;
  }
}
