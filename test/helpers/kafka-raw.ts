import net from 'node:net';
import { KafkaReader, KafkaWriter } from '../../src/protocol/kafka/codec.js';
import { encodeRequestHeader } from '../../src/protocol/kafka/header.js';
import { isFlexible, kafkaApi, responseHeaderIsFlexible } from '../../src/protocol/kafka/api-keys.js';
import { decodeMessage, encodeMessage, type AnyField, type EncodableOf } from '../../src/protocol/kafka/schema.js';

/** A bare Kafka connection speaking our codec: for requests no real client would send. */
export class RawKafka {
  private buffered = Buffer.alloc(0);
  private waiters: ((frame: Buffer) => void)[] = [];
  private nextCorrelationId = 1;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const length = this.buffered.readInt32BE(0);
        const frame = this.buffered.subarray(4, 4 + length);
        this.buffered = this.buffered.subarray(4 + length);
        this.waiters.shift()?.(frame);
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(port: number): Promise<RawKafka> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawKafka(socket)));
      socket.once('error', reject);
    });
  }

  /** The bytes of one request frame. */
  frame(apiKey: number, version: number, body: object): Buffer {
    const api = kafkaApi(apiKey);
    if (!api) throw new Error(`unknown api key ${apiKey}`);
    const w = new KafkaWriter();
    encodeRequestHeader(w, { apiKey, apiVersion: version, correlationId: this.nextCorrelationId++, clientId: 'raw' }, isFlexible(api, version));
    encodeMessage(api.request, w, version, body as EncodableOf<readonly AnyField[]>);
    const payload = Buffer.from(w.finish());
    const length = Buffer.alloc(4);
    length.writeInt32BE(payload.length);
    return Buffer.concat([length, payload]);
  }

  /** Sends raw bytes and resolves with the next response frame (correlation id first). */
  sendBytes(bytes: Buffer): Promise<Buffer> {
    const response = new Promise<Buffer>((resolve) => this.waiters.push(resolve));
    this.socket.write(bytes);
    return response;
  }

  async request<T = Record<string, unknown>>(apiKey: number, version: number, body: object): Promise<T> {
    const api = kafkaApi(apiKey)!;
    const frame = await this.sendBytes(this.frame(apiKey, version, body));
    const r = new KafkaReader(frame);
    r.i32('correlation id');
    if (responseHeaderIsFlexible(api, version)) r.skipTaggedFields();
    return decodeMessage(api.response, r, version) as T;
  }

  close(): void {
    this.socket.destroy();
  }
}
