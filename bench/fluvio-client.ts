import { connectFluvio, Offset, take } from '../test/helpers/fluvio.js';

export interface ThroughputResult {
  name: string;
  records: number;
  recordBytes: number;
  seconds: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
}

export function throughput(name: string, records: number, recordBytes: number, seconds: number): ThroughputResult {
  return {
    name,
    records,
    recordBytes,
    seconds,
    recordsPerSecond: records / seconds,
    megabytesPerSecond: (records * recordBytes) / seconds / 1e6,
  };
}

/**
 * Produce then consume `records` values of `recordBytes` each through the real
 * @fluvio/client against the node at `endpoint`.
 */
export async function benchFluvioClient(endpoint: string, records: number, recordBytes: number): Promise<ThroughputResult[]> {
  const fluvio = await connectFluvio(endpoint);
  const topic = `bench-fluvio-${recordBytes}-${Date.now()}`;
  await (await fluvio.admin()).createTopic(topic);
  const producer = await fluvio.topicProducer(topic);
  const value = 'x'.repeat(recordBytes);
  const chunk = Math.max(1, Math.floor((4 * 1024 * 1024) / recordBytes));
  const produceStart = process.hrtime.bigint();
  for (let sent = 0; sent < records; sent += chunk) {
    const count = Math.min(chunk, records - sent);
    await producer.sendAll(Array.from({ length: count }, (): [string, string] => ['', value]));
  }
  await producer.flush();
  const produceSeconds = Number(process.hrtime.bigint() - produceStart) / 1e9;

  const consumer = await fluvio.partitionConsumer(topic, 0);
  const consumeStart = process.hrtime.bigint();
  const received = await take(await consumer.createStream(new Offset({ index: 0, from: 'beginning' })), records, 600_000);
  const consumeSeconds = Number(process.hrtime.bigint() - consumeStart) / 1e9;
  if (received.length !== records) throw new Error(`consumed ${received.length} of ${records}`);
  await (await fluvio.admin()).deleteTopic(topic);
  return [
    throughput(`@fluvio/client produce ${recordBytes} B`, records, recordBytes, produceSeconds),
    throughput(`@fluvio/client consume ${recordBytes} B`, records, recordBytes, consumeSeconds),
  ];
}

export interface LatencyResult {
  name: string;
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Produce-to-consume latency on a tailing stream: one record at a time, sent
 * and flushed, timed until the open stream yields it.
 */
export async function benchFluvioTailLatency(endpoint: string, samples: number): Promise<LatencyResult> {
  const fluvio = await connectFluvio(endpoint);
  const topic = `bench-tail-${Date.now()}`;
  await (await fluvio.admin()).createTopic(topic);
  const producer = await fluvio.topicProducer(topic);
  const consumer = await fluvio.partitionConsumer(topic, 0);
  const iterator = (await consumer.createStream(new Offset({ index: 0, from: 'end' })))[Symbol.asyncIterator]();
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    await producer.send('', String(i));
    await producer.flush();
    const next = await iterator.next();
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (next.value.valueString() !== String(i)) throw new Error(`expected ${i}, got ${next.value.valueString()}`);
  }
  await (await fluvio.admin()).deleteTopic(topic);
  latencies.sort((a, b) => a - b);
  return { name: '@fluvio/client produce → tailing consumer', samples, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
