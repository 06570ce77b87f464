import { Freshet, type ProducerOptions } from '../src/client/index.js';
import { percentile, throughput } from './fluvio-client.js';
import { withChildNode } from './child-node.js';

/**
 * Produce-to-consume latency at steady low rates, and produce throughput at
 * full rate, for the producer's default batching beside explicit linger
 * settings measured in the same run: `lingerMs: 0` (every batch at the next
 * turn of the event loop) and `lingerMs: 5` (always wait 5 ms: what the
 * default did before it lingered only while requests are in flight).
 *
 * A record carries its send time (performance.now(), 8 bytes at its start);
 * a tailing consumer in the same process takes the difference on arrival.
 * Sends are paced by a 1 ms timer, each tick sending what the schedule says is
 * due, so at 10,000 records/s about ten records leave per tick.
 */

const RECORD_BYTES = 1024;

interface Setting {
  name: string;
  options: ProducerOptions;
}

const SETTINGS: Setting[] = [
  { name: 'default', options: {} },
  { name: 'lingerMs 0', options: { lingerMs: 0 } },
  { name: 'lingerMs 5 (explicit)', options: { lingerMs: 5 } },
];

export interface RateLatency {
  setting: string;
  rate: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function latencyAtRate(freshet: Freshet, setting: Setting, rate: number, seconds: number): Promise<RateLatency> {
  const topic = `bench-latency-${rate}-${Date.now()}`;
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic, setting.options);
  const total = Math.round(rate * seconds);
  // The first half second warms up connections and code paths: not counted.
  const warmup = Math.round(rate / 2);
  const latencies: number[] = [];
  const consumer = await freshet.consumer(topic, { offset: 'beginning' });
  const consumed = (async () => {
    let seen = 0;
    for await (const record of consumer) {
      const latency = performance.now() - record.value.readDoubleLE(0);
      if (seen++ >= warmup) latencies.push(latency);
      if (seen === total) break;
    }
  })();
  const value = Buffer.alloc(RECORD_BYTES, 0x78);
  let failure: unknown;
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
    for (; sent < due; sent++) {
      const record = Buffer.from(value);
      record.writeDoubleLE(performance.now(), 0);
      producer.send(null, record).catch((err: unknown) => (failure ??= err));
    }
    await sleep(1);
  }
  await producer.flush();
  await consumed;
  if (failure) throw failure;
  await producer.close();
  await freshet.admin.deleteTopic(topic);
  latencies.sort((a, b) => a - b);
  return {
    setting: setting.name,
    rate,
    samples: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
  };
}

/** Records/s of 1 KiB sends not awaited one by one (up to 2 MiB of records unacknowledged), to the last ack. */
async function fullRate(freshet: Freshet, setting: Setting, records: number): Promise<number> {
  const topic = `bench-full-rate-${Date.now()}`;
  await freshet.admin.createTopic(topic);
  const producer = await freshet.producer(topic, setting.options);
  const value = Buffer.alloc(RECORD_BYTES, 0x78);
  const window = Math.floor((2 * 1024 * 1024) / RECORD_BYTES);
  let unacknowledged = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const settle = () => {
    if (--unacknowledged <= window / 2 && wake) wake();
  };
  const start = performance.now();
  for (let i = 0; i < records; i++) {
    unacknowledged++;
    producer.send(null, value).then(settle, (err: unknown) => {
      failure ??= err;
      settle();
    });
    if (unacknowledged >= window) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  await producer.flush();
  const seconds = (performance.now() - start) / 1000;
  if (failure) throw failure;
  await producer.close();
  await freshet.admin.deleteTopic(topic);
  return throughput(setting.name, records, RECORD_BYTES, seconds).recordsPerSecond;
}

/** The section for docs/benchmarks.md: latency at 1,000 and 10,000 records/s and full-rate throughput per setting. */
export async function benchLatency(endpoint: string, scale: number): Promise<string> {
  const freshet = await Freshet.connect({ endpoint });
  const rows: string[] = [];
  const rates: string[] = [];
  try {
    for (const rate of [1_000, 10_000]) {
      for (const setting of SETTINGS) {
        const r = await latencyAtRate(freshet, setting, rate, 5 * scale);
        rows.push(`| ${r.setting} | ${r.rate.toLocaleString('en-US')} | ${r.samples.toLocaleString('en-US')} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.p999Ms.toFixed(2)} |`);
      }
    }
    // Not counted: warms up the code paths of a producer at full rate, so the first setting measured is not the slowest.
    await fullRate(freshet, SETTINGS[0], 20_000);
    for (const setting of SETTINGS) {
      const perSecond = await fullRate(freshet, setting, 50_000 * scale);
      rates.push(`| ${setting.name} | ${(50_000 * scale).toLocaleString('en-US')} | ${Math.round(perSecond).toLocaleString('en-US')} | ${((perSecond * RECORD_BYTES) / 1e6).toFixed(1)} |`);
    }
  } finally {
    await freshet.close();
  }
  return [
    '### Produce → consume latency, 1 KiB records at a steady rate (bench/latency.ts)',
    '',
    '| producer | records/s | samples | p50 ms | p99 ms | p99.9 ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '| producer, full rate 1 KiB | records | records/s | MB/s |',
    '|---|---:|---:|---:|',
    ...rates,
    '',
  ].join('\n');
}

// `npx tsx bench/latency.ts [HOST:PORT]`: alone, against the node given or one started for the run.
if (import.meta.url === `file://${process.argv[1]}`) {
  const scale = Number(process.env.BENCH_SCALE ?? 1);
  if (process.argv[2]) process.stdout.write(await benchLatency(process.argv[2], scale));
  else process.stdout.write(await withChildNode((endpoint) => benchLatency(endpoint, scale), process.env.BENCH_NODE_ARGS?.split(' ') ?? []));
}
