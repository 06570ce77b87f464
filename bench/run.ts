import os from 'node:os';
import { startChildNode } from '../test/helpers/child-node.js';
import { tempDir, removeDir } from '../test/helpers/test-node.js';
import { benchHttpSourcePolling, benchHttpSourceStream } from './connectors.js';
import { benchFluvioClient, benchFluvioTailLatency, type LatencyResult, type ThroughputResult } from './fluvio-client.js';
import { benchDataflow } from './dataflow.js';
import { benchFreshetClient, benchFreshetTailLatency } from './freshet-client.js';
import { benchLatency } from './latency.js';
import { benchMemory } from './memory.js';
import { benchSoak } from './soak.js';
import { benchSmartModules } from './smartmodules.js';
import { benchKafka } from './kafka.js';
import { benchSqlSink } from './sql-sink.js';
import { benchJetStream } from './jetstream.js';
import { benchTls } from './tls.js';

/**
 * `npm run bench`: throughput figures against a node running as its own
 * process, as users run it. Sizes are chosen to finish in a couple of minutes
 * on a 2-core machine; set BENCH_SCALE=2 (or more) for longer runs.
 */
const scale = Number(process.env.BENCH_SCALE ?? 1);
/** `npm run bench -- --soak [minutes]`: also the long steady run of bench/soak.ts (30 minutes by default; never in CI). */
const soakAt = process.argv.indexOf('--soak');
const soakMinutes = soakAt < 0 ? undefined : Number(process.argv[soakAt + 1] ?? 30) || 30;

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

function table(results: ThroughputResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.records.toLocaleString('en-US')} | ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} | ${r.megabytesPerSecond.toFixed(1)} |`,
  );
  return ['| benchmark | records | records/s | MB/s |', '|---|---:|---:|---:|', ...rows].join('\n');
}

async function main(): Promise<void> {
  const dataDir = await tempDir('freshet-bench-');
  const node = await startChildNode(dataDir);
  const results: ThroughputResult[] = [];
  const latencies: LatencyResult[] = [];
  let dataflowSection: string;
  let sqlSinkSection: string;
  let smartModulesSection: string;
  let latencySection: string;
  let kafkaSection: string;
  let tlsSection: string;
  try {
    results.push(...(await benchFluvioClient(node.endpoint, 50_000 * scale, 1024)));
    results.push(...(await benchFluvioClient(node.endpoint, 200_000 * scale, 100)));
    latencies.push(await benchFluvioTailLatency(node.endpoint, 200 * scale));
    for (const [records, bytes] of [
      [50_000 * scale, 1024],
      [200_000 * scale, 100],
    ]) {
      const { results: freshet, latency } = await benchFreshetClient(node.endpoint, records, bytes);
      results.push(...freshet);
      latencies.push(latency);
    }
    latencies.push(await benchFreshetTailLatency(node.endpoint, 200 * scale));

    // Produce → consume latency at 1,000 and 10,000 records/s of 1 KiB, and full-rate produce, per linger setting (bench/latency.ts).
    latencySection = await benchLatency(node.endpoint, scale);

    results.push(await benchHttpSourcePolling(node.endpoint, 5 * scale));
    results.push(await benchHttpSourceStream(node.endpoint, 100_000 * scale, 100));

    // Dataflows (bench/dataflow.ts): keyed tumbling-window count over 10,000 keys, and produce → window result latency.
    dataflowSection = await benchDataflow(node.endpoint, scale);

    // SQL sinks (bench/sql-sink.ts): write() rows/s into SQLite, DuckDB and a durable Postgres (Debian's,
    // started for the run; skipped when not installed), and topic → sql-sink → Postgres through the runtime.
    sqlSinkSection = await benchSqlSink(node.endpoint, scale);

    // SmartModules (bench/smartmodules.ts): records/s through regex-filter and regex-filter → jolt (wasm) against
    // the same logic in plain JS, and consume with and without a SmartModule on the node.
    smartModulesSection = await benchSmartModules(node.endpoint, scale);

    // Kafka listener (bench/kafka.ts): kafkajs and @platformatic/kafka produce and consume (rows beside the
    // Fluvio and Freshet clients'), kafkajs reading Fluvio-produced records, and a 3-member group's rebalance.
    const kafkaEndpoint = /Kafka: (\S+)/.exec(node.stderr())?.[1];
    if (!kafkaEndpoint) throw new Error('the node did not report its Kafka listener');
    const kafka = await benchKafka(node.endpoint, kafkaEndpoint, scale);
    results.push(...kafka.results);
    kafkaSection = kafka.section;

    // TLS (bench/tls.ts): produce/consume over mutual TLS beside plain TCP, each on a node of its own, and connection set-up time.
    tlsSection = await benchTls(scale);
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
  // Memory (bench/memory.ts) and the soak (bench/soak.ts) start nodes of their own: a fresh process to measure.
  const memorySection = await benchMemory(scale);
  const soakSection = soakMinutes === undefined ? '' : `\n${await benchSoak(soakMinutes)}`;
  // JetStream backend (bench/jetstream.ts): R1/R3 produce and consume beside raw JetStream, and stream-leader fail-over.
  const jetStreamSection = await benchJetStream(scale);
  const latencyRows = latencies.map((l) => `| ${l.name} | ${l.samples} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} |`);
  const latencyTable = ['| latency | samples | p50 ms | p99 ms |', '|---|---:|---:|---:|', ...latencyRows].join('\n');
  process.stdout.write(
    `Machine: ${machine()}\nDate: ${new Date().toISOString()}\n\n${table(results)}\n\n${latencyTable}\n\n${latencySection}\n${dataflowSection}\n${sqlSinkSection}\n${smartModulesSection}\n${kafkaSection}\n${tlsSection}\n${memorySection}${soakSection}\n${jetStreamSection}\n`,
  );
}

await main();
