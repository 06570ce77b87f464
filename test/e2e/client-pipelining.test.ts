// The producer with several Produce requests in flight per leader, through a
// frame-level proxy in front of a real node's SPU that can hold answers, lose
// them, reorder them, rewrite them, and cut the connection: requests are
// pipelined up to maxInFlightRequests, and across a transport failure or a
// "not leader" answer the records are sent again in order, so the offsets a
// partition's sends resolve with increase in the order of the sends.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { decodeRequestHeader } from '../../src/protocol/header.js';
import { decodeProduceRequest, decodeProduceResponse, encodeProduceResponse } from '../../src/protocol/messages/produce.js';
import { ErrorCode } from '../../src/protocol/error-code.js';
import { decodeRecords, splitRecordSet } from '../../src/protocol/record-batch.js';
import { decodeBatch } from '../../src/protocol/compression.js';
import { Link, type Address } from '../../src/client/connection.js';
import type { ClientContext } from '../../src/client/context.js';
import type { MetadataClient, TopicInfo } from '../../src/client/metadata.js';
import { Producer, type ProducerOptions } from '../../src/client/producer.js';
import { Freshet } from '../../src/client/index.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let freshet: Freshet;

before(async () => {
  node = await startTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
});

after(async () => {
  await freshet.close();
  await node.stop();
  await removeDir(node.dataDir);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Splits a byte stream into length-prefixed frames (the prefix included). */
class Framer {
  private pending = Buffer.alloc(0);
  push(data: Buffer): Buffer[] {
    this.pending = Buffer.concat([this.pending, data]);
    const frames: Buffer[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + length) break;
      frames.push(this.pending.subarray(0, 4 + length));
      this.pending = this.pending.subarray(4 + length);
    }
    return frames;
  }
}

interface ProduceSeen {
  correlationId: number;
  version: number;
  /** Record values of the request, in order. */
  values: string[];
}

/** One client connection through the proxy. */
class Piped {
  readonly produces: ProduceSeen[] = [];
  /** Produce answers held back (by correlation id), when the proxy holds them. */
  readonly held = new Map<number, Buffer>();
  private readonly versions = new Map<number, number>();

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    private readonly proxy: Proxy,
    readonly index: number,
  ) {
    const fromClient = new Framer();
    const fromServer = new Framer();
    client.on('data', (data: Buffer) => {
      for (const frame of fromClient.push(data)) {
        const r = new Reader(frame, 4);
        const header = decodeRequestHeader(r);
        if (header.apiKey === 0) {
          this.versions.set(header.correlationId, header.apiVersion);
          const request = decodeProduceRequest(r, header.apiVersion);
          const values = request.topics.flatMap((topic) =>
            topic.partitions.flatMap((partition) =>
              splitRecordSet(partition.records).flatMap((batch) => decodeRecords(batch).map((record) => record.value.toString())),
            ),
          );
          this.produces.push({ correlationId: header.correlationId, version: header.apiVersion, values });
        }
        upstream.write(frame);
      }
    });
    upstream.on('data', (data: Buffer) => {
      for (const frame of fromServer.push(data)) {
        const correlationId = frame.readInt32BE(4);
        const version = this.versions.get(correlationId);
        if (version === undefined) {
          client.write(frame);
          continue;
        }
        const answer = this.proxy.rewrite ? this.proxy.rewrite(this, correlationId, frame, version) : frame;
        if (this.proxy.holdProduce(this)) this.held.set(correlationId, answer);
        else client.write(answer);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  /** Sends the held answer of one request to the client. */
  release(correlationId: number): void {
    const frame = this.held.get(correlationId);
    assert.ok(frame, `no held answer for request ${correlationId}`);
    this.held.delete(correlationId);
    this.client.write(frame);
  }

  releaseAll(): void {
    for (const correlationId of [...this.held.keys()]) this.release(correlationId);
  }

  cut(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}

class Proxy {
  readonly connections: Piped[] = [];
  holdProduce: (connection: Piped) => boolean = () => false;
  rewrite: ((connection: Piped, correlationId: number, frame: Buffer, version: number) => Buffer) | undefined;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: number): Promise<Proxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new Proxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => {
      client.pause();
      const upstream = net.connect({ host: '127.0.0.1', port: target }, () => client.resume());
      proxy.connections.push(new Piped(client, upstream, proxy, proxy.connections.length));
    });
    return proxy;
  }

  get produces(): ProduceSeen[] {
    return this.connections.flatMap((connection) => connection.produces);
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A producer whose only leader is the proxy (metadata answered here; the leaders refresh is counted). */
async function proxiedProducer(proxy: Proxy, topic: string, options: ProducerOptions) {
  const address: Address = { host: '127.0.0.1', port: proxy.port };
  const link = new Link(address);
  let refreshes = 0;
  const metadata = {
    leaders: async () => {
      refreshes++;
      return { topic: { name: topic, partitions: 1, compression: 'any' } as TopicInfo, leaders: [address] };
    },
  } as unknown as MetadataClient;
  const context: ClientContext = {
    sc: link,
    metadata,
    spuLink: () => link,
    linkOptions: {},
    isClosed: false,
  };
  const producer = await Producer.create(context, topic, options);
  return { producer, link, refreshes: () => refreshes - 1 };
}

async function storedValues(topic: string): Promise<string[]> {
  const store = node.replicas.get(topic, 0)!;
  const { chunks } = await store.read(0, 64 * 1024 * 1024);
  const batches = chunks.flatMap((chunk) => splitRecordSet(chunk));
  return (await Promise.all(batches.map((batch) => decodeBatch(batch)))).flat().map((record) => record.value.toString());
}

/** Sends each value in its own batch (lingerMs 0: a batch closes at the next turn of the event loop). */
async function sendApart(producer: Producer, values: string[]): Promise<Promise<number>[]> {
  const sends: Promise<number>[] = [];
  for (const value of values) {
    sends.push(producer.send(null, value));
    await nextTurn();
  }
  return sends;
}

test('up to maxInFlightRequests produce requests are in flight at once; answers resolve the sends in order', async () => {
  const topic = 'pipelined';
  await freshet.admin.createTopic(topic);
  const proxy = await Proxy.start(node.spuPort);
  proxy.holdProduce = () => true;
  const { producer, link } = await proxiedProducer(proxy, topic, { maxInFlightRequests: 3, lingerMs: 0 });
  const values = Array.from({ length: 10 }, (_, i) => `r${i}`);
  const sends = await sendApart(producer, values);
  await until(() => proxy.produces.length === 3, 'three requests');
  await sleep(100);
  assert.equal(proxy.produces.length, 3, 'no fourth request while three are unanswered');
  assert.deepEqual(proxy.produces.map((p) => p.values), [['r0'], ['r1'], ['r2']]);

  // Answer the second first: nothing resolves before the first is answered.
  await until(() => proxy.connections[0].held.size === 3, 'the three answers');
  const [first, second] = proxy.connections[0].produces;
  let resolved = 0;
  for (const send of sends) void send.then(() => resolved++);
  proxy.connections[0].release(second.correlationId);
  await sleep(50);
  assert.equal(resolved, 0);
  proxy.holdProduce = () => false;
  proxy.connections[0].release(first.correlationId);
  proxy.connections[0].releaseAll();
  assert.deepEqual(await Promise.all(sends), [...values.keys()]);
  // The seven records that waited went together.
  assert.deepEqual(proxy.produces.slice(3).flatMap((p) => p.values), values.slice(3));
  assert.equal(producer.requestCount, proxy.produces.length);
  assert.deepEqual(await storedValues(topic), values);
  await producer.close();
  link.close();
  await proxy.close();
});

test('a transport failure with requests in flight: all of them go again, in order, and offsets increase in send order', async () => {
  const topic = 'pipelined-cut';
  await freshet.admin.createTopic(topic);
  const proxy = await Proxy.start(node.spuPort);
  // The first connection holds the produce answers; later ones pass them.
  proxy.holdProduce = (connection) => connection.index === 0;
  const { producer, link } = await proxiedProducer(proxy, topic, { maxInFlightRequests: 3, lingerMs: 0, retryBackoffMs: 20 });
  const sends = await sendApart(producer, ['a', 'b', 'c']);
  const first = proxy.connections[0];
  await until(() => first.held.size === 3, 'three stored and answered requests');
  // The node stored a, b and c. The client gets the answers for b and c, loses a's with the connection.
  first.release(first.produces[1].correlationId);
  first.release(first.produces[2].correlationId);
  await sleep(20);
  first.cut();
  const offsets = await Promise.all(sends);
  // b and c were stored, but a is sent again, and they after it: their first copies are not the ones named.
  assert.deepEqual(await storedValues(topic), ['a', 'b', 'c', 'a', 'b', 'c']);
  assert.deepEqual(offsets, [3, 4, 5]);
  assert.deepEqual(proxy.connections[1].produces.flatMap((p) => p.values), ['a', 'b', 'c']);
  assert.equal(await producer.send(null, 'd'), 6);
  await producer.flush();
  await producer.close();
  link.close();
  await proxy.close();
});

test('"not leader" with requests in flight: the leaders are read again and the batches go again, in order', async () => {
  const topic = 'pipelined-moved';
  await freshet.admin.createTopic(topic);
  const proxy = await Proxy.start(node.spuPort);
  proxy.holdProduce = () => true;
  let rewritten = 0;
  proxy.rewrite = (_connection, _correlationId, frame, version) => {
    if (rewritten++ > 0) return frame;
    // The first answer says "not leader" (as if the partition had moved).
    const r = new Reader(frame, 8);
    const response = decodeProduceResponse(r, version);
    response.responses[0].partitions[0].errorCode = { code: ErrorCode.NotLeaderForPartition };
    const w = new Writer();
    encodeProduceResponse(w, response, version);
    const body = w.finish();
    const out = Buffer.alloc(8 + body.length);
    out.writeInt32BE(4 + body.length, 0);
    frame.copy(out, 4, 4, 8);
    body.copy(out, 8);
    return out;
  };
  const { producer, link, refreshes } = await proxiedProducer(proxy, topic, { maxInFlightRequests: 3, lingerMs: 0 });
  const sends = await sendApart(producer, ['x', 'y', 'z']);
  await until(() => proxy.connections[0]?.held.size === 3, 'three answered requests');
  proxy.holdProduce = () => false;
  proxy.connections[0].releaseAll();
  const offsets = await Promise.all(sends);
  assert.equal(refreshes(), 1);
  assert.deepEqual(await storedValues(topic), ['x', 'y', 'z', 'x', 'y', 'z']);
  assert.deepEqual(offsets, [3, 4, 5]);
  assert.deepEqual(proxy.produces.map((p) => p.values).flat(), ['x', 'y', 'z', 'x', 'y', 'z']);
  await producer.close();
  link.close();
  await proxy.close();
});

test('maxInFlightRequests: 1 waits for each answer before the next request', async () => {
  const topic = 'one-at-a-time';
  await freshet.admin.createTopic(topic);
  const proxy = await Proxy.start(node.spuPort);
  proxy.holdProduce = () => true;
  const { producer, link } = await proxiedProducer(proxy, topic, { maxInFlightRequests: 1, lingerMs: 0 });
  const sends = await sendApart(producer, ['p', 'q', 'r']);
  await until(() => proxy.produces.length === 1, 'one request');
  await sleep(100);
  assert.equal(proxy.produces.length, 1);
  proxy.holdProduce = () => false;
  proxy.connections[0].releaseAll();
  assert.deepEqual(await Promise.all(sends), [0, 1, 2]);
  assert.deepEqual(proxy.produces.map((p) => p.values), [['p'], ['q', 'r']]);
  await assert.rejects(
    async () => proxiedProducer(proxy, topic, { maxInFlightRequests: 0 }),
    /maxInFlightRequests must be a positive integer/,
  );
  await producer.close();
  link.close();
  await proxy.close();
});

test('zstd (compressed asynchronously) with many batches in flight: the order of the sends holds', async () => {
  const topic = 'pipelined-zstd';
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic, { compression: 'zstd', batchSize: 256, lingerMs: 0 });
  const values = Array.from({ length: 600 }, (_, i) => `z${i}-${'x'.repeat(i % 50)}`);
  const offsets = await Promise.all(values.map((value) => producer.send(null, value)));
  assert.deepEqual(offsets, [...values.keys()]);
  assert.ok(producer.requestCount > 1, `${producer.requestCount} requests`);
  assert.deepEqual(await storedValues(topic), values);
  await producer.close();
});

test('a record with a timestamp that is not an integer is refused alone; keys and values are strings or bytes', async () => {
  const topic = 'pipelined-refusals';
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic);
  const good = producer.send('k', 'before');
  await assert.rejects(producer.send(null, 'x', { timestamp: 1.5 }), RangeError);
  await assert.rejects(producer.send(null, 'x', { timestamp: Number.NaN }), RangeError);
  await assert.rejects(producer.send(null, 42 as unknown as string), TypeError);
  await assert.rejects(producer.sendRecord({ key: {} as unknown as string, value: 'x' }), TypeError);
  const bytes = producer.sendRecord({ key: new Uint8Array([1, 2]), value: new Uint8Array([3, 4, 5]), timestamp: 1_000 });
  assert.equal(await good, 0);
  assert.deepEqual(await bytes, { topic, partition: 0, offset: 1 });
  await producer.flush();
  assert.equal(producer.bufferedBytes, 0);
  await producer.close();
});
