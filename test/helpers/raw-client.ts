// A raw Fluvio-protocol test client on node:net: it sends request frames
// built with src/protocol's encoders (or arbitrary bytes) and routes response
// frames by correlation id. It trusts nothing and hides nothing: tests use it
// to misbehave on purpose, and to check afterwards that the server still
// answers a well-behaved client.

import net from 'node:net';
import assert from 'node:assert/strict';
import * as p from '../../src/protocol/index.js';

export const CLIENT_ID = 'fluvio';

/** One response frame: its correlation id and a Reader over the rest of the body. */
export interface ResponseFrame {
  correlationId: number;
  body: p.Reader;
}

/** Builds a whole request frame (length prefix included). */
export function requestFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  encodeBody: (w: p.Writer) => void = () => {},
  clientId = CLIENT_ID,
): Buffer {
  const w = new p.Writer();
  p.encodeRequestHeader(w, { apiKey, apiVersion, correlationId, clientId });
  encodeBody(w);
  return p.encodeFrameBuffer(w);
}

/** A length prefix followed by `body` as is. */
export function frameOf(body: Buffer): Buffer {
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

interface Waiter {
  resolve(frame: ResponseFrame): void;
  reject(err: Error): void;
}

export class RawClient {
  private nextCorrelationId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private readonly waiters = new Map<number, Waiter>();
  private readonly streams = new Map<number, (frame: ResponseFrame) => void>();
  /** Frames nobody waited for. */
  readonly unexpected: ResponseFrame[] = [];
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>;
  private isClosedFlag = false;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.isClosedFlag = true;
      const err = new Error('connection closed by the server');
      for (const waiter of this.waiters.values()) waiter.reject(err);
      this.waiters.clear();
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5_000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new RawClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get isClosed(): boolean {
    return this.isClosedFlag;
  }

  /** Bytes as they are: the test decides whether they make a frame. */
  sendRaw(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** The next correlation id this client would use. */
  allocateCorrelationId(): number {
    return this.nextCorrelationId++;
  }

  /** Sends one request and resolves with its (single) response. */
  request(apiKey: number, apiVersion: number, encodeBody: (w: p.Writer) => void, timeoutMs = 10_000): Promise<ResponseFrame> {
    return this.requestRaw(requestFrame(apiKey, apiVersion, this.allocateCorrelationId(), encodeBody), timeoutMs);
  }

  /**
   * Sends a request frame built by the caller (its correlation id, at byte 8,
   * is used to match the response). The buffer must stay unchanged until the
   * response arrives.
   */
  requestRaw(frame: Buffer, timeoutMs = 10_000): Promise<ResponseFrame> {
    const answer = this.response(frame.readInt32BE(8), timeoutMs);
    if (!this.isClosedFlag) this.socket.write(frame);
    return answer;
  }

  /** Resolves with the response to `correlationId`, for a request the test writes itself (in parts, with sendRaw). */
  response(correlationId: number, timeoutMs = 10_000): Promise<ResponseFrame> {
    return new Promise<ResponseFrame>((resolve, reject) => {
      if (this.isClosedFlag) return reject(new Error('connection already closed'));
      const timer = setTimeout(() => {
        this.waiters.delete(correlationId);
        reject(new Error(`no response to correlation id ${correlationId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(correlationId, {
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  /** Sends a streaming request (StreamFetch, Watch); every response frame goes to `onFrame`. */
  openStream(apiKey: number, apiVersion: number, encodeBody: (w: p.Writer) => void, onFrame: (frame: ResponseFrame) => void): number {
    const correlationId = this.allocateCorrelationId();
    this.streams.set(correlationId, onFrame);
    this.socket.write(requestFrame(apiKey, apiVersion, correlationId, encodeBody));
    return correlationId;
  }

  /** True if the server closes the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.closed.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes our side and waits for the socket to be gone. */
  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  private onData(data: Buffer): void {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32BE(0);
      if (length < 4) throw new Error(`server sent a frame of length ${length}`);
      if (this.pending.length < 4 + length) break;
      const frame = this.pending.subarray(4, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      const body = new p.Reader(frame);
      const correlationId = p.decodeResponseCorrelationId(body);
      const response = { correlationId, body };
      const stream = this.streams.get(correlationId);
      if (stream) {
        stream(response);
        continue;
      }
      const waiter = this.waiters.get(correlationId);
      if (waiter) {
        this.waiters.delete(correlationId);
        waiter.resolve(response);
      } else {
        this.unexpected.push(response);
      }
    }
  }
}

// --- typed requests -----------------------------------------------------------

export const PRODUCE_VERSION = 23;
export const FETCH_OFFSETS_VERSION = 23;
export const STREAM_FETCH_VERSION = 23;
export const UPDATE_OFFSETS_VERSION = 0;
export const API_VERSIONS_VERSION = 2;
export const SC_OBJECT_VERSION = 16;

export async function apiVersions(client: RawClient): Promise<p.ApiVersionsResponse> {
  const response = await client.request(p.ApiKey.ApiVersions, API_VERSIONS_VERSION, (w) =>
    p.encodeApiVersionsRequest(w, { clientVersion: '0.14.9', clientOs: 'linux', clientArch: 'x86_64' }, API_VERSIONS_VERSION),
  );
  const decoded = p.decodeApiVersionsResponse(response.body, API_VERSIONS_VERSION);
  response.body.expectEnd('ApiVersions response');
  return decoded;
}

export interface ProduceEntry {
  partition: number;
  /** Concatenated batches (the RecordSet without its length prefix). */
  records: Buffer;
}

export function encodeProduceBody(w: p.Writer, topic: string, entries: readonly ProduceEntry[]): void {
  p.encodeProduceRequest(
    w,
    {
      isolation: p.Isolation.ReadUncommitted,
      timeoutMs: 1500,
      topics: [{ name: topic, partitions: entries.map((entry) => ({ partitionIndex: entry.partition, records: entry.records })) }],
      smartmodules: [],
    },
    PRODUCE_VERSION,
  );
}

export async function produce(client: RawClient, topic: string, entries: readonly ProduceEntry[]): Promise<p.ProduceResponse> {
  const response = await client.request(p.SpuApiKey.Produce, PRODUCE_VERSION, (w) => encodeProduceBody(w, topic, entries));
  const decoded = p.decodeProduceResponse(response.body, PRODUCE_VERSION);
  response.body.expectEnd('Produce response');
  return decoded;
}

/** Produces one batch of string values to one partition; returns the partition response. */
export async function produceValues(
  client: RawClient,
  topic: string,
  partition: number,
  values: readonly string[],
): Promise<p.PartitionProduceResponse> {
  const batch = p.encodeBatch(values.map((value) => ({ key: null, value: Buffer.from(value) })));
  const response = await produce(client, topic, [{ partition, records: batch }]);
  return response.responses[0].partitions[0];
}

export async function fetchOffsets(client: RawClient, topic: string, partition: number): Promise<p.FetchOffsetPartitionResponse> {
  const response = await client.request(p.SpuApiKey.FetchOffsets, FETCH_OFFSETS_VERSION, (w) =>
    p.encodeFetchOffsetsRequest(w, { topics: [{ name: topic, partitions: [{ partitionIndex: partition }] }] }, FETCH_OFFSETS_VERSION),
  );
  const decoded = p.decodeFetchOffsetsResponse(response.body, FETCH_OFFSETS_VERSION);
  response.body.expectEnd('FetchOffsets response');
  return decoded.topics[0].partitions[0];
}

export function encodeStreamFetchBody(w: p.Writer, topic: string, partition: number, fetchOffset: number, maxBytes = 1_048_890): void {
  p.encodeStreamFetchRequest(
    w,
    { topic, partition, fetchOffset, maxBytes, isolation: p.Isolation.ReadUncommitted, smartmodules: [] },
    STREAM_FETCH_VERSION,
  );
}

/** Opens a stream fetch; each decoded response frame goes to `onResponse`. Returns the correlation id. */
export function streamFetch(
  client: RawClient,
  topic: string,
  partition: number,
  fetchOffset: number,
  onResponse: (response: p.StreamFetchResponse) => void,
  maxBytes?: number,
): number {
  return client.openStream(
    p.SpuApiKey.StreamFetch,
    STREAM_FETCH_VERSION,
    (w) => encodeStreamFetchBody(w, topic, partition, fetchOffset, maxBytes),
    (frame) => onResponse(p.decodeStreamFetchResponse(frame.body, STREAM_FETCH_VERSION)),
  );
}

export async function updateOffsets(client: RawClient, sessionId: number, offset: number): Promise<p.UpdateOffsetsResponse> {
  const response = await client.request(p.SpuApiKey.UpdateOffsets, UPDATE_OFFSETS_VERSION, (w) =>
    p.encodeUpdateOffsetsRequest(w, { offsets: [{ offset, sessionId }] }, UPDATE_OFFSETS_VERSION),
  );
  return p.decodeUpdateOffsetsResponse(response.body, UPDATE_OFFSETS_VERSION);
}

/** The records of a stream fetch response frame (values as strings). */
export function recordsOf(response: p.StreamFetchResponse): { offset: number; value: string }[] {
  const records = Buffer.isBuffer(response.partition.records)
    ? response.partition.records
    : Buffer.concat(response.partition.records as Buffer[]);
  return p
    .splitRecordSetLenient(records)
    .flatMap((batch) => p.decodeRecords(batch))
    .map((record) => ({ offset: record.offset, value: record.value.toString() }));
}

export async function listTopics(client: RawClient): Promise<string[]> {
  const response = await client.request(p.ScApiKey.List, SC_OBJECT_VERSION, (w) =>
    p.encodeListRequest(w, { kind: 'Topic', nameFilters: [], summary: false, system: false }, SC_OBJECT_VERSION),
  );
  const decoded = p.decodeListResponse(response.body, SC_OBJECT_VERSION);
  assert.equal(decoded.kind, 'Topic');
  return decoded.kind === 'Topic' ? decoded.items.map((item) => item.name) : [];
}

// --- health checks ------------------------------------------------------------

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

let healthSequence = 0;

/**
 * A well-behaved raw client on a fresh SPU connection: handshake, produce one
 * record, FetchOffsets, stream it back from its offset. Throws if any step fails.
 */
export async function assertSpuServes(spuPort: number, topic: string, partition = 0): Promise<void> {
  const client = await RawClient.connect(spuPort);
  try {
    const versions = await apiVersions(client);
    assert.equal(versions.errorCode.code, p.ErrorCode.None);
    const value = `health-${process.pid}-${++healthSequence}-${Date.now()}`;
    const produced = await produceValues(client, topic, partition, [value]);
    assert.equal(produced.errorCode.code, p.ErrorCode.None, `health produce failed: ${JSON.stringify(produced.errorCode)}`);
    const offsets = await fetchOffsets(client, topic, partition);
    assert.equal(offsets.errorCode.code, p.ErrorCode.None);
    assert.ok(offsets.lastStableOffset > produced.baseOffset);
    const received = new Promise<string>((resolve, reject) => {
      streamFetch(client, topic, partition, produced.baseOffset, (response) => {
        if (response.partition.errorCode.code !== p.ErrorCode.None) {
          reject(new Error(`health stream failed: ${JSON.stringify(response.partition.errorCode)}`));
          return;
        }
        const record = recordsOf(response).find((r) => r.offset === produced.baseOffset);
        if (record) resolve(record.value);
      });
    });
    assert.equal(await withDeadline(received, 10_000, 'health stream fetch'), value);
  } finally {
    await client.close();
  }
}

/** A well-behaved raw client on a fresh SC connection: handshake and List Topic. */
export async function assertScServes(scPort: number, expectTopic?: string): Promise<void> {
  const client = await RawClient.connect(scPort);
  try {
    const versions = await apiVersions(client);
    assert.equal(versions.errorCode.code, p.ErrorCode.None);
    const topics = await listTopics(client);
    if (expectTopic !== undefined) assert.ok(topics.includes(expectTopic), `topic ${expectTopic} not listed`);
  } finally {
    await client.close();
  }
}
