import { Freshet, type ProducerOptions } from '../src/client/index.js';
import { runConsumerBenchmark, runProducerBenchmark, type LoadSpec } from '../src/cli/benchmark.js';
import { withChildNode } from './child-node.js';

/**
 * Produce-to-consume latency at steady low rates, and produce throughput at
 * full rate, for the producer's default batching beside explicit linger
 * settings measured in the same run: `lingerMs: 0` (every batch at the next
 * turn of the event loop) and `lingerMs: 5` (always wait 5 ms: what the
 * default did before it lingered only while requests are in flight).
 *
 * The load is `freshet benchmark`'s (src/cli/benchmark.ts): a record carries
 * its send time, a tailing consumer in the same process takes the difference
 * on arrival; sends are paced by a 1 ms timer, each tick sending what the
 * schedule says is due (about ten records per tick at 10,000 records/s).
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

function load(setting: Setting, records: number, rate?: number): LoadSpec {
  return { records, recordBytes: RECORD_BYTES, producers: 1, rate, keys: 'no-key', windowBytes: 2 * 1024 * 1024, producerOptions: setting.options };
}

/** Runs `work` on a topic of its own, deleted afterwards. */
async function onFreshTopic<T>(freshet: Freshet, work: (topic: string) => Promise<T>): Promise<T> {
  const topic = `bench-latency-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await freshet.admin.createTopic(topic);
  try {
    return await work(topic);
  } finally {
    await freshet.admin.deleteTopic(topic);
  }
}

/** The section for docs/benchmarks.md: latency at 1,000 and 10,000 records/s and full-rate throughput per setting. */
export async function benchLatency(endpoint: string, scale: number): Promise<string> {
  const freshet = await Freshet.connect({ endpoint });
  const rows: string[] = [];
  const rates: string[] = [];
  try {
    // Not counted: warms up the code paths (JIT) and connections, so the first setting measured is not the slowest.
    await onFreshTopic(freshet, (topic) => runConsumerBenchmark(freshet, topic, { ...load(SETTINGS[0], 20_000), consumers: 1 }));
    for (const rate of [1_000, 10_000]) {
      for (const setting of SETTINGS) {
        const { latency: l } = await onFreshTopic(freshet, (topic) => runConsumerBenchmark(freshet, topic, { ...load(setting, rate * 5 * scale, rate), consumers: 1 }));
        rows.push(`| ${setting.name} | ${rate.toLocaleString('en-US')} | ${l.samples.toLocaleString('en-US')} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} | ${l.p999Ms.toFixed(2)} |`);
      }
    }
    for (const setting of SETTINGS) {
      const r = await onFreshTopic(freshet, (topic) => runProducerBenchmark(freshet, topic, load(setting, 50_000 * scale)));
      rates.push(`| ${setting.name} | ${r.records.toLocaleString('en-US')} | ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} | ${r.megabytesPerSecond.toFixed(1)} |`);
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
