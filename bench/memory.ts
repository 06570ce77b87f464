import { Freshet } from '../src/client/index.js';
import { runProducerBenchmark } from '../src/cli/benchmark.js';
import { startChildNode } from '../test/helpers/child-node.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';
import { mebibytes, residentBytes, RssSampler } from './rss.js';

/**
 * Resident memory of a node started as its own process (`freshet cluster
 * start`, as users run it), read from /proc/PID/status: idle after start-up,
 * while one producer sends 1 KiB records as fast as the node acknowledges
 * them, while 8 consumers read those records from the beginning at once, and
 * idle again afterwards. Sampled every 100 ms; the figure is the largest
 * sample of the phase (and the mean beside it).
 */

const RECORD_BYTES = 1024;
const CONSUMERS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Phase {
  name: string;
  maxBytes: number;
  meanBytes: number;
}

async function sampled(pid: number, name: string, work: () => Promise<unknown>): Promise<Phase> {
  const sampler = new RssSampler(pid);
  await work();
  return { name, ...(await sampler.stop()) };
}

/** Reads every record of the topic from the beginning to its end, as `consumers` consumers at once. */
async function readAll(freshet: Freshet, topic: string, consumers: number, expected: number): Promise<void> {
  await Promise.all(
    Array.from({ length: consumers }, async () => {
      let received = 0;
      for await (const _record of await freshet.consumer(topic, { offset: 'beginning', continuous: false })) received++;
      if (received !== expected) throw new Error(`a consumer read ${received} of ${expected} records`);
    }),
  );
}

export async function benchMemory(scale: number, nodeArgs: readonly string[] = []): Promise<string> {
  const dataDir = await tempDir('freshet-bench-memory-');
  const node = await startChildNode(dataDir, nodeArgs);
  const pid = node.process.pid!;
  const phases: Phase[] = [];
  const records = 200_000 * scale;
  try {
    // Start-up work (recovery, timers, the console) settles first.
    await sleep(3000);
    phases.push(await sampled(pid, 'idle, 3 s after start', () => sleep(2000)));
    const freshet = await Freshet.connect({ endpoint: node.endpoint });
    const topic = 'bench-memory';
    await freshet.admin.createTopic(topic);
    const load = { records, recordBytes: RECORD_BYTES, producers: 1, keys: 'no-key' as const, windowBytes: 2 * 1024 * 1024, producerOptions: {} };
    phases.push(await sampled(pid, `1 producer, ${records.toLocaleString('en-US')} × 1 KiB at full rate`, () => runProducerBenchmark(freshet, topic, load)));
    phases.push(await sampled(pid, `${CONSUMERS} consumers reading them from the beginning`, () => readAll(freshet, topic, CONSUMERS, records)));
    await freshet.close();
    await sleep(5000);
    phases.push({ name: 'idle again, 5 s later', maxBytes: await residentBytes(pid), meanBytes: await residentBytes(pid) });
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
  const rows = phases.map((p) => `| ${p.name} | ${mebibytes(p.maxBytes).toFixed(0)} | ${mebibytes(p.meanBytes).toFixed(0)} |`);
  return ['### Node memory, RSS (bench/memory.ts)', '', '| phase | max MiB | mean MiB |', '|---|---:|---:|', ...rows, ''].join('\n');
}

// `npx tsx bench/memory.ts`: alone (BENCH_NODE_ARGS adds flags to `cluster start`).
if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await benchMemory(Number(process.env.BENCH_SCALE ?? 1), process.env.BENCH_NODE_ARGS?.split(' ') ?? []));
}
