import { spawn } from 'node:child_process';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Consumer as PlatformaticConsumer, Producer as PlatformaticProducer } from '@platformatic/kafka';
import { Freshet } from '../src/client/index.js';
import { encodeBatch } from '../src/protocol/record-batch.js';
import { asFluvioBatches, asKafkaBatches } from '../src/protocol/kafka/records.js';
import { throughput, type ThroughputResult } from './fluvio-client.js';
import { repoRoot } from '../test/helpers/child-node.js';

/**
 * The Kafka listener (src/server/kafka/) through real Kafka clients, against
 * the same child node as the Fluvio client benchmarks (their rows sit beside
 * these in the table): kafkajs and @platformatic/kafka produce and consume,
 * kafkajs reading records our Fluvio-protocol client produced (the per-record
 * conversion on the read path), and the time a 3-member kafkajs group takes
 * to give a killed member's partitions to the others.
 */
export async function benchKafka(endpoint: string, kafkaEndpoint: string, scale: number): Promise<{ results: ThroughputResult[]; section: string }> {
  const results: ThroughputResult[] = [];
  for (const [records, bytes] of [
    [20_000 * scale, 1024],
    [100_000 * scale, 100],
  ]) {
    results.push(...(await benchKafkajs(kafkaEndpoint, records, bytes)));
    results.push(...(await benchPlatformatic(kafkaEndpoint, records, bytes)));
  }
  results.push(await benchConvertedConsume(endpoint, kafkaEndpoint, 100_000 * scale, 100));
  results.push(...(await benchConversion(100_000 * scale, 100)));
  const rebalance = await benchRebalance(kafkaEndpoint);
  const section =
    `Kafka group rebalance (3 kafkajs members over 6 partitions, session timeout ${rebalance.sessionTimeoutMs} ms): ` +
    `a member killed (SIGKILL) → the survivors rejoined ${rebalance.killedMs.toFixed(0)} ms later (the rest of its session timeout after its last heartbeat, then the rebalance); ` +
    `a member leaving (LeaveGroup) → ${rebalance.leftMs.toFixed(0)} ms.\n`;
  return { results, section };
}

const quiet = { logLevel: logLevel.NOTHING };

async function benchKafkajs(broker: string, records: number, bytes: number): Promise<ThroughputResult[]> {
  const kafka = new Kafka({ clientId: 'bench', brokers: [broker], ...quiet });
  const topic = `bench-kafkajs-${bytes}-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(bytes, 0x78);
  const produceSeconds = await produceInRequests(records, bytes, (count) => producer.send({ topic, messages: Array.from({ length: count }, () => ({ value })) }));
  await producer.disconnect();

  const consumeSeconds = await consumeWithKafkajs(kafka, topic, records);
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  return [throughput(`kafkajs produce ${bytes} B (Kafka listener)`, records, bytes, produceSeconds), throughput(`kafkajs consume ${bytes} B (Kafka listener)`, records, bytes, consumeSeconds)];
}

async function benchPlatformatic(broker: string, records: number, bytes: number): Promise<ThroughputResult[]> {
  const topic = `bench-platformatic-${bytes}-${Date.now()}`;
  const producer = new PlatformaticProducer({ clientId: 'bench', bootstrapBrokers: [broker], autocreateTopics: true });
  const value = Buffer.alloc(bytes, 0x78);
  const produceSeconds = await produceInRequests(records, bytes, (count) => producer.send({ messages: Array.from({ length: count }, () => ({ topic, value })) }));
  await producer.close();

  const consumer = new PlatformaticConsumer({ groupId: `${topic}-reader`, clientId: 'bench', bootstrapBrokers: [broker] });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true, maxWaitTime: 100 });
  // consume() resolves once the member has joined its group: the clock starts there.
  const consumeStart = process.hrtime.bigint();
  let received = 0;
  for await (const _message of stream) if (++received >= records) break;
  const consumeSeconds = Number(process.hrtime.bigint() - consumeStart) / 1e9;
  await stream.close();
  await consumer.close(true);
  return [
    throughput(`@platformatic/kafka produce ${bytes} B (Kafka listener)`, records, bytes, produceSeconds),
    throughput(`@platformatic/kafka consume ${bytes} B (Kafka listener)`, records, bytes, consumeSeconds),
  ];
}

/** kafkajs reading records stored by the Fluvio protocol: every batch is converted to Kafka records on the way out. */
async function benchConvertedConsume(endpoint: string, broker: string, records: number, bytes: number): Promise<ThroughputResult> {
  const freshet = await Freshet.connect({ endpoint });
  const topic = `bench-converted-${Date.now()}`;
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic);
  const value = Buffer.alloc(bytes, 0x78);
  for (let i = 0; i < records; i++) void producer.send(null, value);
  await producer.flush();
  const kafka = new Kafka({ clientId: 'bench', brokers: [broker], ...quiet });
  const seconds = await consumeWithKafkajs(kafka, topic, records);
  await freshet.admin.deleteTopic(topic);
  await freshet.close();
  return throughput(`kafkajs consume ${bytes} B produced by the Freshet client (converted)`, records, bytes, seconds);
}

/** Sends `records` in requests of 512 KiB of records, four in flight; the seconds it took. */
async function produceInRequests(records: number, bytes: number, send: (count: number) => Promise<unknown>): Promise<number> {
  const perRequest = Math.max(1, Math.floor((512 * 1024) / bytes));
  const start = process.hrtime.bigint();
  const inflight: Promise<unknown>[] = [];
  for (let sent = 0; sent < records; sent += perRequest) {
    inflight.push(send(Math.min(perRequest, records - sent)));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** A kafkajs group member reading the whole topic from the beginning: seconds from joining the group to the last record. */
async function consumeWithKafkajs(kafka: Kafka, topic: string, records: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
  // The clock starts when the member has joined its group: the first fetch is part of the figure.
  let start = 0n;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    start = process.hrtime.bigint();
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let received = 0;
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        received += batch.messages.length;
        if (received >= records) resolve();
      },
    });
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await consumer.disconnect();
  return seconds;
}

/** The record conversion alone, in this process: Fluvio batches as the Freshet producer makes them (16 KiB), to Kafka and back. */
async function benchConversion(records: number, bytes: number): Promise<ThroughputResult[]> {
  const perBatch = Math.max(1, Math.floor(16_384 / (bytes + 8)));
  const value = Buffer.alloc(bytes, 0x78);
  const batches = [];
  for (let base = 0; base < records; base += perBatch) {
    batches.push(encodeBatch(Array.from({ length: Math.min(perBatch, records - base) }, () => ({ value })), { baseOffset: base, firstTimestamp: Date.now() }));
  }
  const start = process.hrtime.bigint();
  const kafka = await asKafkaBatches(batches);
  const middle = process.hrtime.bigint();
  await asFluvioBatches(kafka);
  const end = process.hrtime.bigint();
  return [
    throughput(`convert ${bytes} B records Fluvio → Kafka (in process)`, records, bytes, Number(middle - start) / 1e9),
    throughput(`convert ${bytes} B records Kafka → Fluvio (in process)`, records, bytes, Number(end - middle) / 1e9),
  ];
}

const SESSION_TIMEOUT_MS = 3000;

/** Time from a member's death (or leave) until the survivors have joined the next generation. */
async function benchRebalance(broker: string): Promise<{ sessionTimeoutMs: number; killedMs: number; leftMs: number }> {
  const kafka = new Kafka({ clientId: 'bench', brokers: [broker], ...quiet });
  const topic = `bench-rebalance-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
  const group = `${topic}-group`;
  const joins: number[] = [];
  const members = await Promise.all(
    [0, 1].map(async () => {
      const consumer = kafka.consumer({ groupId: group, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
      consumer.on(consumer.events.GROUP_JOIN, () => joins.push(performance.now()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
      return consumer;
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/helpers/kafka-group-member.ts'), broker, topic, group], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (data: Buffer) => data.toString().includes('join') && resolve()));
  await settle(joins);
  const killedAt = performance.now();
  child.kill('SIGKILL');
  const killedMs = (await nextJoins(joins, killedAt, 2)) - killedAt;
  // A third member joins, then leaves cleanly.
  const third = kafka.consumer({ groupId: group, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
  await third.connect();
  await third.subscribe({ topic, fromBeginning: true });
  await third.run({ eachMessage: async () => {} });
  await settle(joins);
  const leftAt = performance.now();
  await third.disconnect();
  const leftMs = (await nextJoins(joins, leftAt, 2)) - leftAt;
  for (const member of members) await member.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  return { sessionTimeoutMs: SESSION_TIMEOUT_MS, killedMs, leftMs };
}

/** Waits until no member has joined for a second (the group is stable). */
async function settle(joins: number[]): Promise<void> {
  for (;;) {
    const before = joins.length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (joins.length === before) return;
  }
}

/** The time by which `count` joins happened after `since`. */
async function nextJoins(joins: number[], since: number, count: number): Promise<number> {
  for (;;) {
    const after = joins.filter((t) => t > since);
    if (after.length >= count) return after[count - 1];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
