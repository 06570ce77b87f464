import net from 'node:net';
import { kafka } from '../../protocol/index.js';

const { KafkaReader, KafkaWriter, encodeRequestHeader, isFlexible, kafkaApi, responseHeaderIsFlexible, decodeMessage, encodeMessage } = kafka;
type AnyField = kafka.AnyField;
type EncodableOf<F extends readonly kafka.AnyField[]> = kafka.EncodableOf<F>;

/** Versions our client speaks: each node serves them (src/protocol/kafka/api-keys.ts). */
export const CLIENT_KAFKA_VERSIONS = {
  Produce: 7,
  Fetch: 11,
  ListOffsets: 5,
  Metadata: 8,
  OffsetCommit: 7,
  OffsetFetch: 7,
  JoinGroup: 5,
  Heartbeat: 3,
  LeaveGroup: 3,
  SyncGroup: 3,
  DescribeGroups: 5,
  ListGroups: 4,
  InitProducerId: 1,
} as const;

export class KafkaLinkError extends Error {
  override name = 'KafkaLinkError';
}

/** The default Kafka endpoint of a node: FRESHET_KAFKA_ENDPOINT, else the SC's host on port 9092. */
export function defaultKafkaEndpoint(scEndpoint: string): string {
  if (process.env.FRESHET_KAFKA_ENDPOINT) return process.env.FRESHET_KAFKA_ENDPOINT;
  const host = scEndpoint.slice(0, scEndpoint.lastIndexOf(':')) || '127.0.0.1';
  return `${host}:9092`;
}

/**
 * One connection to a node's Kafka listener: requests in, responses matched
 * by correlation id (the listener answers in order). A closed or failed
 * socket fails every request in flight; the owner opens a new link.
 */
export class KafkaLink {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve: (frame: Buffer) => void; reject: (err: Error) => void }>();
  private nextCorrelationId = 1;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly endpoint: string,
    private readonly clientId: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    const fail = (err?: Error) => {
      this.failure ??= new KafkaLinkError(`connection to ${endpoint} closed${err ? `: ${err.message}` : ''}`);
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  static connect(endpoint: string, clientId = 'freshet', timeoutMs = 10_000): Promise<KafkaLink> {
    const colon = endpoint.lastIndexOf(':');
    const host = endpoint.slice(0, colon);
    const port = Number(endpoint.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(port)) return Promise.reject(new KafkaLinkError(`invalid Kafka endpoint "${endpoint}" (use host:port)`));
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaLinkError(`cannot connect to the Kafka listener at ${endpoint} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new KafkaLink(socket, endpoint, clientId));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new KafkaLinkError(`cannot connect to the Kafka listener at ${endpoint}: ${err.message}`));
      });
    });
  }

  get isClosed(): boolean {
    return this.failure !== undefined;
  }

  async request<T>(apiKey: number, version: number, body: object): Promise<T> {
    if (this.failure) throw this.failure;
    const api = kafkaApi(apiKey);
    if (!api) throw new RangeError(`unknown Kafka api key ${apiKey}`);
    const correlationId = this.nextCorrelationId++;
    const w = new KafkaWriter();
    w.i32(0);
    encodeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: this.clientId }, isFlexible(api, version));
    encodeMessage(api.request, w, version, body as EncodableOf<readonly AnyField[]>);
    const chunks = w.finishChunks();
    let length = -4;
    for (const chunk of chunks) length += chunk.length;
    chunks[0].writeInt32BE(length, 0);
    const frame = new Promise<Buffer>((resolve, reject) => this.pending.set(correlationId, { resolve, reject }));
    this.socket.cork();
    for (const chunk of chunks) this.socket.write(chunk);
    this.socket.uncork();
    const r = new KafkaReader(await frame);
    r.i32('correlation id');
    if (responseHeaderIsFlexible(api, version)) r.skipTaggedFields();
    return decodeMessage(api.response, r, version) as T;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    while (this.buffered.length >= 4) {
      const length = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + length) break;
      const frame = this.buffered.subarray(4, 4 + length);
      this.buffered = this.buffered.subarray(4 + length);
      const correlationId = frame.readInt32BE(0);
      const waiter = this.pending.get(correlationId);
      this.pending.delete(correlationId);
      waiter?.resolve(frame);
    }
  }
}
