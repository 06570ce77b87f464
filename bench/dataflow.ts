// Dataflow figures for `npm run bench` (docs/benchmarks.md "Dataflows"):
//
// - engine: events/s of a keyed tumbling-window count over 10,000 keys in
//   the engine alone (JSON decode, key and event time from expressions,
//   window state), no network;
// - end to end: the same dataflow run against the node — events pre-produced
//   to a 2-partition topic, then read from the beginning, counted, results
//   (10,000 per closed window) produced to the output topic, checkpoints on;
//   events/s from start to the last input record processed;
// - latency: produce → window result on a consumer of the output topic,
//   one event at a time: each event closes the previous window, whose result
//   is awaited before the next (p50/p99).
//
//   npx tsx bench/dataflow.ts            # starts its own node
//   BENCH_SCALE=2 npx tsx bench/dataflow.ts

import os from 'node:os';
import path from 'node:path';
import { Freshet } from '../src/client/index.js';
import { count, dataflow, tumbling } from '../src/dataflow/builder.js';
import { ServiceEngine } from '../src/dataflow/engine.js';
import { DataflowRuntime } from '../src/dataflow/runner.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';

export interface DataflowBenchRow {
  name: string;
  events: number;
  eventsPerSecond: number;
  note: string;
}

export interface DataflowLatency {
  name: string;
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

const KEYS = 10_000;
const BASE = 1_700_000_000_000;

function spec(input: string, output: string | undefined, name = 'bench-count') {
  const service = dataflow(name).source(input, { offset: 'beginning' }).assignTimestamp('$.ts').assignKey('$.k').window(tumbling('1s')).aggregate({ n: count() }).history(1);
  return (output === undefined ? service : service.sink(output)).checkpoint({ interval: '2s', records: 200_000 }).build();
}

/** Event i: key i mod 10,000; 50,000 events per 1 s window (5 per key). */
function eventText(i: number): string {
  return `{"k":"k${i % KEYS}","ts":${BASE + Math.floor(i / 50) }}`;
}

function engineOnly(events: number): DataflowBenchRow {
  const s = spec('in', 'out').services[0];
  const engine = new ServiceEngine('bench', s);
  engine.registerInput('in', 0);
  const records = Array.from({ length: events }, (_, i) => ({ topic: 'in', partition: 0, offset: i, timestamp: 0, key: null, value: Buffer.from(eventText(i)) }));
  const started = process.hrtime.bigint();
  let results = 0;
  for (const r of records) {
    engine.process(r);
    if (engine.pendingOutputs > 0) results += engine.takeOutputs().length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name: 'engine only: keyed 1 s tumbling count, 10,000 keys', events, eventsPerSecond: events / seconds, note: `${results.toLocaleString('en-US')} window results` };
}

async function endToEnd(endpoint: string, events: number, sink: boolean): Promise<DataflowBenchRow> {
  const client = await Freshet.connect({ endpoint });
  const stateDir = await tempDir('freshet-bench-df-');
  try {
    if (!(await client.admin.listTopics()).some((t) => t.name === 'bench-df-in')) {
      await client.admin.createTopic('bench-df-in', { partitions: 2 });
      await client.admin.createTopic('bench-df-out', { partitions: 1 });
      const producer = await client.producer('bench-df-in', { lingerMs: 5, batchSize: 256 * 1024 });
      for (let i = 0; i < events; i++) {
        const sent = producer.send(null, eventText(i), { partition: i % 2 });
        if (i % 10_000 === 9_999) await sent;
      }
      await producer.flush();
    }
    const started = process.hrtime.bigint();
    const runtime = await DataflowRuntime.start(spec('bench-df-in', sink ? 'bench-df-out' : undefined, sink ? 'bench-count' : 'bench-count-query'), {
      client,
      stateDir: path.join(stateDir, 'state'),
    });
    for (;;) {
      const status = runtime.status().services[0];
      if (status.metrics.records >= events) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await runtime.stop(); // writes a last checkpoint: its size and time go in the notes
    const status = runtime.status().services[0];
    return {
      name: sink ? 'end to end: topic (2 partitions) → dataflow → results topic' : 'end to end, query only (no sink): topic (2 partitions) → dataflow',
      events,
      eventsPerSecond: events / seconds,
      note: `${status.metrics.windowResults.toLocaleString('en-US')} results${sink ? ' produced' : ''}; final checkpoint ${(status.checkpoint.bytes / 1e6).toFixed(1)} MB in ${status.checkpoint.ms} ms`,
    };
  } finally {
    await client.close();
    await removeDir(stateDir);
  }
}

async function latency(endpoint: string, samples: number): Promise<DataflowLatency> {
  const client = await Freshet.connect({ endpoint });
  const stateDir = await tempDir('freshet-bench-df-');
  try {
    await client.admin.createTopic('bench-lat-in', { partitions: 1 });
    await client.admin.createTopic('bench-lat-out', { partitions: 1 });
    const runtime = await DataflowRuntime.start(spec('bench-lat-in', 'bench-lat-out'), { client, stateDir: path.join(stateDir, 'state') });
    const producer = await client.producer('bench-lat-in', { lingerMs: 0 });
    const consumer = await client.consumer('bench-lat-out', { offset: 'end' });
    const results = consumer[Symbol.asyncIterator]();
    const times: number[] = [];
    await producer.send(null, `{"k":"k0","ts":${BASE}}`);
    for (let i = 1; i <= samples + 10; i++) {
      const started = process.hrtime.bigint();
      await producer.send(null, `{"k":"k${i % KEYS}","ts":${BASE + i * 1000}}`);
      await results.next();
      if (i > 10) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    await consumer.close();
    await runtime.stop();
    times.sort((a, b) => a - b);
    return { name: 'produce → window result (tailing consumer of the output topic)', samples, p50Ms: times[Math.floor(samples * 0.5)], p99Ms: times[Math.min(samples - 1, Math.floor(samples * 0.99))] };
  } finally {
    await client.close();
    await removeDir(stateDir);
  }
}

/** Runs the three measurements against a node; returns a markdown section. */
export async function benchDataflow(endpoint: string, scale = 1): Promise<string> {
  const rows = [engineOnly(500_000 * scale), await endToEnd(endpoint, 500_000 * scale, true), await endToEnd(endpoint, 500_000 * scale, false)];
  const lat = await latency(endpoint, 200 * scale);
  const table = [
    '| dataflow | events | events/s | notes |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${r.events.toLocaleString('en-US')} | ${Math.round(r.eventsPerSecond).toLocaleString('en-US')} | ${r.note} |`),
  ].join('\n');
  const latTable = ['| dataflow latency | samples | p50 ms | p99 ms |', '|---|---:|---:|---:|', `| ${lat.name} | ${lat.samples} | ${lat.p50Ms.toFixed(2)} | ${lat.p99Ms.toFixed(2)} |`].join('\n');
  return `${table}\n\n${latTable}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { startChildNode } = await import('../test/helpers/child-node.js');
  const dataDir = await tempDir('freshet-bench-');
  const node = await startChildNode(dataDir);
  try {
    const scale = Number(process.env.BENCH_SCALE ?? 1);
    process.stdout.write(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n\n${await benchDataflow(node.endpoint, scale)}`);
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
}
