import { Freshet } from '../src/client/index.js';
import { runConsumerBenchmark, type BenchmarkResult } from '../src/cli/benchmark.js';
import { startChildNode } from '../test/helpers/child-node.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';
import { mebibytes, openFileDescriptors, residentBytes } from './rss.js';

/**
 * A long steady run against a node started as its own process: one producer
 * sends 1 KiB records at a steady rate, two consumers tail the topic, and
 * every 10 s a short-lived client connects, produces, reads and leaves
 * (connection churn). Every 10 s the node's RSS and open file descriptors
 * (/proc/PID/fd) are sampled: both must stay flat. The topic keeps 60 s of
 * records in 8 MiB segments, so retention deletes segments all along (file
 * descriptors of deleted segments must be closed).
 *
 * Not part of the default `npm run bench` (30 minutes): `npm run bench -- --soak`,
 * or alone `npx tsx bench/soak.ts [minutes]`.
 */

const RECORD_BYTES = 1024;
const RATE = 2000;
const SAMPLE_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  seconds: number;
  rssBytes: number;
  fds: number;
}

/** A client that connects, sends a few records, reads them back and closes. */
async function churn(endpoint: string, topic: string): Promise<void> {
  const freshet = await Freshet.connect({ endpoint });
  try {
    const producer = await freshet.producer(topic);
    const offsets = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send(null, `churn-${i}`, { partition: 0 })));
    let read = 0;
    for await (const _record of await freshet.consumer(topic, { partition: 0, offset: { absolute: offsets[0] }, end: offsets[9] })) read++;
    if (read !== 10) throw new Error(`churn client read ${read} of 10 records`);
  } finally {
    await freshet.close();
  }
}

export async function benchSoak(minutes: number): Promise<string> {
  const dataDir = await tempDir('freshet-bench-soak-');
  const node = await startChildNode(dataDir);
  const pid = node.process.pid!;
  const samples: Sample[] = [];
  let result: BenchmarkResult;
  try {
    const freshet = await Freshet.connect({ endpoint: node.endpoint });
    const topic = 'soak';
    await freshet.admin.createTopic(topic, { partitions: 2, retentionSeconds: 60, segmentSize: 8 * 1024 * 1024 });
    // The churn clients write elsewhere: the consumers of `topic` count the steady load's records only.
    const churnTopic = 'soak-churn';
    await freshet.admin.createTopic(churnTopic, { retentionSeconds: 60, segmentSize: 1024 * 1024 });
    const seconds = minutes * 60;
    const start = performance.now();
    let running = true;
    const sampling = (async () => {
      while (running) {
        samples.push({ seconds: (performance.now() - start) / 1000, rssBytes: await residentBytes(pid), fds: await openFileDescriptors(pid) });
        await churn(node.endpoint, churnTopic);
        await sleep(SAMPLE_MS - ((performance.now() - start) % SAMPLE_MS));
      }
    })();
    const spec = { records: RATE * seconds, recordBytes: RECORD_BYTES, producers: 1, rate: RATE, keys: 'no-key' as const, windowBytes: 2 * 1024 * 1024, producerOptions: {}, consumers: 2 };
    try {
      result = await runConsumerBenchmark(freshet, topic, spec);
    } finally {
      running = false;
      await sampling;
      await freshet.close();
    }
    samples.push({ seconds: (performance.now() - start) / 1000, rssBytes: await residentBytes(pid), fds: await openFileDescriptors(pid) });
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
  return report(minutes, samples, result.records, result.latency.p99Ms);
}

function report(minutes: number, samples: Sample[], delivered: number, p99Ms: number): string {
  // One row a minute (and the last), from the 10 s samples.
  const rows = samples.filter((s, i) => i === samples.length - 1 || Math.floor(s.seconds / 60) !== Math.floor((samples[i - 1]?.seconds ?? -60) / 60));
  const settled = samples.filter((s) => s.seconds >= 60);
  const window = settled.length > 1 ? settled : samples;
  const rss = window.map((s) => mebibytes(s.rssBytes));
  const fds = window.map((s) => s.fds);
  // Flatness: the mean over the first settled minute against the mean over the last minute.
  const firstMinute = window.filter((s) => s.seconds < window[0].seconds + 60);
  const lastMinute = window.filter((s) => s.seconds > window[window.length - 1].seconds - 60);
  const mean = (list: Sample[], of: (s: Sample) => number) => list.reduce((sum, s) => sum + of(s), 0) / list.length;
  const trend =
    `Mean over the first settled minute → the last minute: RSS ${mebibytes(mean(firstMinute, (s) => s.rssBytes)).toFixed(0)} → ${mebibytes(mean(lastMinute, (s) => s.rssBytes)).toFixed(0)} MiB, ` +
    `open fds ${mean(firstMinute, (s) => s.fds).toFixed(0)} → ${mean(lastMinute, (s) => s.fds).toFixed(0)}.`;
  return [
    `### Soak: ${minutes} min at ${RATE.toLocaleString('en-US')} records/s of 1 KiB, 2 tailing consumers, a client connecting every 10 s (bench/soak.ts)`,
    '',
    `${delivered.toLocaleString('en-US')} records delivered to the consumers, send → arrival p99 ${p99Ms.toFixed(2)} ms. ` +
      `From minute 1 on: RSS ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MiB, open fds ${Math.min(...fds)}–${Math.max(...fds)}.`,
    trend,
    '',
    '| time | RSS MiB | open fds |',
    '|---:|---:|---:|',
    ...rows.map((s) => `| ${Math.round(s.seconds)} s | ${mebibytes(s.rssBytes).toFixed(0)} | ${s.fds} |`),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await benchSoak(Number(process.argv[2] ?? 30)));
}
