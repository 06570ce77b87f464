import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pino from 'pino';
import { createTopic, removeDir, startTestNode, tempDir } from '../helpers/test-node.js';
import { kafkaBroker, kafkajs, run, startKafkaTestNode } from '../helpers/kafka.js';
import { RawKafka } from '../helpers/kafka-raw.js';
import { startKafkaListener } from '../../src/server/kafka/index.js';
import { KafkaApiKey } from '../../src/protocol/kafka/api-keys.js';
import { KafkaError } from '../../src/protocol/kafka/error-codes.js';
import { encodeKafkaBatch } from '../../src/protocol/kafka/records.js';

/**
 * A TCP proxy in front of the Kafka listener that lets the first Produce
 * request through and then cuts the connection before its response reaches
 * the client: the producer must retry a request that was in fact stored.
 */
async function cuttingProxy(upstreamPort: () => number): Promise<{ port: number; cuts: () => number; close: () => Promise<void> }> {
  let armed = true;
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort() });
    sockets.add(client).add(upstream);
    let cutting = false;
    let pending = Buffer.alloc(0);
    client.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 8 && pending.length >= 4 + pending.readInt32BE(0)) {
        const length = pending.readInt32BE(0);
        const apiKey = pending.readInt16BE(4);
        if (apiKey === KafkaApiKey.Produce && armed) {
          armed = false;
          cutting = true;
        }
        upstream.write(pending.subarray(0, 4 + length));
        pending = pending.subarray(4 + length);
      }
    });
    upstream.on('data', (data: Buffer) => {
      if (cutting) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(data);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cuts: () => cuts,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('an idempotent kafkajs producer whose connection is cut mid-request stores every record exactly once', async () => {
  const node = await startTestNode({ console: { enabled: false }, dataflows: { enabled: false }, kafka: { enabled: false } });
  // The listener advertises the proxy, so that every connection of the client goes through it.
  let listenerPort = 0;
  const proxy = await cuttingProxy(() => listenerPort);
  const listener = await startKafkaListener({
    host: '127.0.0.1',
    port: 0,
    advertisedPort: proxy.port,
    nodeId: 1,
    dataDir: node.dataDir,
    replicas: node.replicas,
    topics: node.topics,
    limits: node.config.limits,
    log: pino({ level: 'silent' }),
  });
  listenerPort = listener.port;
  try {
    await createTopic(node, 'exactly-once');
    const kafka = kafkajs(`127.0.0.1:${proxy.port}`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'exactly-once', messages: Array.from({ length: 10 }, (_, i) => ({ value: `first-${i}` })) });
    await producer.send({ topic: 'exactly-once', messages: Array.from({ length: 10 }, (_, i) => ({ value: `second-${i}` })) });
    await producer.disconnect();
    assert.equal(proxy.cuts(), 1, 'the first produce response was cut off');
    assert.equal(node.replicas.get('exactly-once', 0)!.highWatermark(), 20, 'the retried batch was not stored again');
  } finally {
    await proxy.close();
    await listener.close();
    await node.stop();
    await removeDir(node.dataDir);
  }
});

interface ProduceAnswer {
  responses: { partitionResponses: { errorCode: number; baseOffset: number }[] }[];
}

function idempotentBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  return encodeKafkaBatch(
    values.map((value) => ({ value: Buffer.from(value) })),
    { firstTimestamp: Date.now(), producerId, producerEpoch, baseSequence },
  );
}

async function produce(raw: RawKafka, topic: string, records: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const answer = await raw.request<ProduceAnswer>(KafkaApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const { errorCode, baseOffset } = answer.responses[0].partitionResponses[0];
  return { errorCode, baseOffset };
}

test('sequences: duplicates answered as stored, gaps refused, state kept across a restart', async () => {
  const dataDir = await tempDir();
  let node = await startKafkaTestNode({ dataDir });
  try {
    await createTopic(node, 'sequences');
    let raw = await RawKafka.connect(node.kafka!.port);
    const init = await raw.request<{ errorCode: number; producerId: number; producerEpoch: number }>(KafkaApiKey.InitProducerId, 1, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    });
    assert.equal(init.errorCode, KafkaError.None);
    const { producerId, producerEpoch } = init;

    assert.deepEqual(await produce(raw, 'sequences', idempotentBatch(producerId, producerEpoch, 0, ['a', 'b'])), { errorCode: 0, baseOffset: 0 });
    assert.deepEqual(await produce(raw, 'sequences', idempotentBatch(producerId, producerEpoch, 0, ['a', 'b'])), { errorCode: 0, baseOffset: 0 });
    const gap = await produce(raw, 'sequences', idempotentBatch(producerId, producerEpoch, 5, ['x']));
    assert.equal(gap.errorCode, KafkaError.OutOfOrderSequenceNumber);
    const unknown = await produce(raw, 'sequences', idempotentBatch(producerId + 1000, 0, 0, ['x']));
    assert.equal(unknown.errorCode, KafkaError.UnknownProducerId);
    raw.close();

    await node.stop();
    node = await startKafkaTestNode({ dataDir });
    raw = await RawKafka.connect(node.kafka!.port);
    assert.deepEqual(await produce(raw, 'sequences', idempotentBatch(producerId, producerEpoch, 0, ['a', 'b'])), { errorCode: 0, baseOffset: 0 });
    assert.deepEqual(await produce(raw, 'sequences', idempotentBatch(producerId, producerEpoch, 2, ['c'])), { errorCode: 0, baseOffset: 2 });
    raw.close();
    assert.equal(node.replicas.get('sequences', 0)!.highWatermark(), 3);

    // librdkafka with idempotence on (what Java-style clients default to).
    await run('kcat', ['-b', kafkaBroker(node), '-P', '-t', 'sequences', '-X', 'enable.idempotence=true'], 'd\ne\n');
    const out = await run('kcat', ['-b', kafkaBroker(node), '-C', '-t', 'sequences', '-o', 'beginning', '-e', '-f', '%s\n']);
    assert.deepEqual(out.trim().split('\n'), ['a', 'b', 'c', 'd', 'e']);
  } finally {
    await node.stop();
    await removeDir(dataDir);
  }
});
