// The load behind `freshet benchmark` (and bench/latency.ts): producers
// sending records of a size as fast as the node acknowledges them (or at a
// set rate), each record's time to acknowledgement recorded; or consumers
// tailing a topic while such a load runs, each record's time from send to
// arrival recorded (the send time travels in the record's first 8 bytes:
// producers and consumers are in this one process).

import type { Consumer, Freshet, Producer, ProducerOptions } from '../client/index.js';

/** How records are keyed (fluvio benchmark's --record-key-allocation-strategy). */
export type KeyStrategy = 'no-key' | 'all-share-same-key' | 'producer-worker-unique-key' | 'random-key';
export const KEY_STRATEGIES: readonly KeyStrategy[] = ['no-key', 'all-share-same-key', 'producer-worker-unique-key', 'random-key'];

export interface LoadSpec {
  /** Records each producer sends. */
  records: number;
  recordBytes: number;
  producers: number;
  /** Records per second per producer; undefined: as fast as acknowledgements allow. */
  rate?: number;
  keys: KeyStrategy;
  /** Bytes of records a producer keeps unacknowledged before it waits. */
  windowBytes: number;
  producerOptions: ProducerOptions;
}

export interface ConsumeSpec extends LoadSpec {
  /** Consumers that each read every record of the load. */
  consumers: number;
}

export interface LatencySummary {
  samples: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface BenchmarkResult {
  /** Records acknowledged (producer) or received, summed over consumers (consumer). */
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  latency: LatencySummary;
}

/** The smallest record a consumer benchmark sends: it carries its send time. */
export const SEND_TIME_BYTES = 8;

/** Sorts the samples (in place) and summarises them. */
export function summarise(samples: Float64Array): LatencySummary {
  samples.sort();
  const n = samples.length;
  const at = (p: number) => (n === 0 ? 0 : samples[Math.min(n - 1, Math.floor((p / 100) * n))]);
  let sum = 0;
  for (const sample of samples) sum += sample;
  return {
    samples: n,
    minMs: n === 0 ? 0 : samples[0],
    meanMs: n === 0 ? 0 : sum / n,
    p50Ms: at(50),
    p95Ms: at(95),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs: n === 0 ? 0 : samples[n - 1],
  };
}

function result(records: number, recordBytes: number, seconds: number, latencies: Float64Array): BenchmarkResult {
  return {
    records,
    bytes: records * recordBytes,
    seconds,
    recordsPerSecond: seconds > 0 ? records / seconds : 0,
    megabytesPerSecond: seconds > 0 ? (records * recordBytes) / seconds / 1e6 : 0,
    latency: summarise(latencies),
  };
}

function keyOf(strategy: KeyStrategy, worker: number): () => string | null {
  switch (strategy) {
    case 'no-key':
      return () => null;
    case 'all-share-same-key':
      return () => 'benchmark';
    case 'producer-worker-unique-key':
      return () => `producer-${worker}`;
    case 'random-key':
      return () => Math.random().toString(36).slice(2, 12);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One producer's share of the load. `stamp` says to write the send time into
 * each record (a copy of the value per record); otherwise one value buffer
 * serves every send. `onAck(index, sentAt)` runs as each record is stored.
 */
async function sendLoad(producer: Producer, spec: LoadSpec, worker: number, stamp: boolean, onAck: (sentAt: number) => void): Promise<void> {
  const template = Buffer.alloc(spec.recordBytes, 0x78);
  const key = keyOf(spec.keys, worker);
  let unacknowledged = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const settled = (size: number) => {
    unacknowledged -= size;
    if (wake !== undefined && unacknowledged <= spec.windowBytes / 2) {
      const resume = wake;
      wake = undefined;
      resume();
    }
  };
  const start = performance.now();
  for (let i = 0; i < spec.records; i++) {
    if (spec.rate !== undefined) {
      while (i >= ((performance.now() - start) * spec.rate) / 1000) await sleep(1);
    }
    const sentAt = performance.now();
    let value = template;
    if (stamp) {
      value = Buffer.from(template);
      value.writeDoubleLE(sentAt, 0);
    }
    unacknowledged += spec.recordBytes;
    producer.send(key(), value).then(
      () => {
        onAck(sentAt);
        settled(spec.recordBytes);
      },
      (err: unknown) => {
        failure ??= err;
        settled(spec.recordBytes);
      },
    );
    if (failure !== undefined) break;
    if (unacknowledged >= spec.windowBytes) await new Promise<void>((resolve) => (wake = resolve));
  }
  await producer.flush();
  if (failure !== undefined) throw failure;
}

async function openProducers(freshet: Freshet, topic: string, spec: LoadSpec): Promise<Producer[]> {
  const options: ProducerOptions = { ...spec.producerOptions };
  // The producer's own buffer must hold the benchmark's window, or sends would queue inside it instead.
  options.maxBufferedBytes = Math.max(options.maxBufferedBytes ?? 0, spec.windowBytes + spec.recordBytes, 32 * 1024 * 1024);
  return Promise.all(Array.from({ length: spec.producers }, () => freshet.producer(topic, options)));
}

/** Producers send the load; latency is each record's send → acknowledgement. */
export async function runProducerBenchmark(freshet: Freshet, topic: string, spec: LoadSpec, onRecord?: () => void): Promise<BenchmarkResult> {
  const producers = await openProducers(freshet, topic, spec);
  const latencies = new Float64Array(spec.records * spec.producers);
  let acknowledged = 0;
  const start = performance.now();
  try {
    await Promise.all(
      producers.map((producer, worker) =>
        sendLoad(producer, spec, worker, false, (sentAt) => {
          latencies[acknowledged++] = performance.now() - sentAt;
          onRecord?.();
        }),
      ),
    );
  } finally {
    await Promise.allSettled(producers.map((producer) => producer.close()));
  }
  const seconds = (performance.now() - start) / 1000;
  return result(acknowledged, spec.recordBytes, seconds, latencies.subarray(0, acknowledged));
}

/**
 * Consumers tail the topic from its current end while producers send the
 * load; latency is each record's send → arrival at a consumer, throughput
 * what the consumers received from the first send to the last arrival.
 */
export async function runConsumerBenchmark(freshet: Freshet, topic: string, spec: ConsumeSpec, onRecord?: () => void): Promise<BenchmarkResult> {
  if (spec.recordBytes < SEND_TIME_BYTES) throw new RangeError(`a consumer benchmark's records carry their send time: at least ${SEND_TIME_BYTES} bytes, not ${spec.recordBytes}`);
  const total = spec.records * spec.producers;
  // Where each partition ends now: the consumers start there, before anything is sent.
  const partitions = await freshet.admin.listPartitions(topic);
  const readers: Consumer[][] = [];
  for (let c = 0; c < spec.consumers; c++) {
    readers.push(
      await Promise.all(partitions.map((p) => freshet.consumer(topic, { partition: p.partition, offset: { absolute: p.logEndOffset } }))),
    );
  }
  const latencies = new Float64Array(total * spec.consumers);
  let received = 0;
  let lastArrival = 0;
  const reading = readers.map(async (streams) => {
    let count = 0;
    await Promise.all(
      streams.map(async (stream) => {
        for await (const record of stream) {
          const now = performance.now();
          latencies[received++] = now - record.value.readDoubleLE(0);
          lastArrival = now;
          onRecord?.();
          if (++count === total) break;
        }
        // One consumer's streams end together: its last record may have come on another partition.
        await Promise.all(streams.map((other) => other.close()));
      }),
    );
  });
  const readersDone = Promise.all(reading);
  // Awaited after the load: a consumer failing before then must not go unhandled (and end the process).
  readersDone.catch(() => {});
  const producers = await openProducers(freshet, topic, spec);
  const start = performance.now();
  try {
    await Promise.all(producers.map((producer, worker) => sendLoad(producer, spec, worker, true, () => {})));
    await readersDone;
  } finally {
    await Promise.allSettled(producers.map((producer) => producer.close()));
    await Promise.allSettled(readers.flat().map((stream) => stream.close()));
  }
  return result(received, spec.recordBytes, (lastArrival - start) / 1000, latencies.subarray(0, received));
}
