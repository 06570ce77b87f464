// Dataflow figures for `npm run bench` (docs/benchmarks.md "Dataflows"):
//
// - engine: events/s of a keyed tumbling-window count over 100,000 keys in
//   the engine alone (JSON decode, key and event time from expressions,
//   window state, dense steps closing), no network; beside it, in the same
//   run, the reference floor: the same events only decoded (JSON.parse) and
//   counted in a Map;
// - end to end: the same dataflow against the node — events pre-produced to
//   a 2-partition topic, read from the beginning, results produced to the
//   output topic, checkpoints on; events/s from start to the last input
//   record processed;
// - replay: `--from beginning --until end` over the same topic (read to the
//   end, every window closed, results acknowledged), events/s;
// - closing one step with correlations within groups: 1,000 groups of 100
//   keys (4,950,000 pairs) with top 10 per group, and one group of 1,000 keys
//   (499,500 pairs): ms and heap for the close (results taken and dropped);
// - state memory per key: heap per key with a series and a correlation ring;
// - latency: produce → window result on a consumer of the output topic,
//   one event at a time (p50/p99).
//
//   npx tsx bench/dataflow.ts            # starts its own node
//   BENCH_SCALE=2 npx tsx bench/dataflow.ts

import os from 'node:os';
import path from 'node:path';
import { Freshet } from '../src/client/index.js';
import { count, dataflow, last, tumbling } from '../src/dataflow/builder.js';
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

const KEYS = 100_000;
const PER_WINDOW = 5 * KEYS;
const BASE = 1_700_000_000_000;

function spec(input: string, output: string | undefined, name = 'bench-count') {
  const service = dataflow(name).source(input, { offset: 'beginning' }).assignTimestamp('$.ts').assignKey('$.k').window(tumbling('1s')).aggregate({ n: count() }).history(1);
  return (output === undefined ? service : service.sink(output)).checkpoint({ interval: '2s', records: 500_000 }).build();
}

/** Event i: key i mod 100,000; 500,000 events per 1 s window (5 per key). */
function eventText(i: number): string {
  return `{"k":"k${i % KEYS}","ts":${BASE + Math.floor((i / PER_WINDOW) * 1000)}}`;
}

const BATCH = 10_000;

/** Input records in batches made before the clock starts, as the runner receives them. */
function batches(events: number) {
  const out = [];
  for (let from = 0; from < events; from += BATCH) {
    out.push(Array.from({ length: Math.min(BATCH, events - from) }, (_, j) => ({ topic: 'in', partition: 0, offset: from + j, timestamp: 0, key: null, value: Buffer.from(eventText(from + j)) })));
  }
  return out;
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export function engineOnly(events: number): DataflowBenchRow[] {
  const input = batches(events);
  // Reference floor, same events: decode and count per key, nothing else.
  let started = process.hrtime.bigint();
  const counts = new Map<string, number>();
  for (const batch of input) {
    for (const r of batch) {
      const v = JSON.parse(r.value.toString('utf8')) as { k: string };
      counts.set(v.k, (counts.get(v.k) ?? 0) + 1);
    }
  }
  const floor = events / seconds(started);
  const engine = new ServiceEngine('bench', spec('in', 'out').services[0]);
  engine.registerInput('in', 0);
  started = process.hrtime.bigint();
  let results = 0;
  for (const batch of input) {
    for (const r of batch) engine.process(r);
    results += engine.takeOutputs().length;
  }
  const rate = events / seconds(started);
  return [
    { name: `engine only: keyed 1 s tumbling count, ${KEYS.toLocaleString('en-US')} keys`, events, eventsPerSecond: rate, note: `${results.toLocaleString('en-US')} window results` },
    { name: 'reference (same run): JSON.parse + count per key in a Map', events, eventsPerSecond: floor, note: 'the floor of any JSON dataflow on this core' },
  ];
}

async function produceInput(client: Freshet, topic: string, events: number): Promise<void> {
  if ((await client.admin.listTopics()).some((t) => t.name === topic)) return;
  await client.admin.createTopic(topic, { partitions: 2 });
  const producer = await client.producer(topic, { lingerMs: 5, batchSize: 256 * 1024 });
  for (let i = 0; i < events; i++) {
    const sent = producer.send(null, eventText(i), { partition: i % 2 });
    if (i % 20_000 === 19_999) await sent;
  }
  await producer.flush();
  await producer.close();
}

export async function endToEnd(endpoint: string, events: number, replay: boolean): Promise<DataflowBenchRow> {
  const client = await Freshet.connect({ endpoint });
  const stateDir = await tempDir('freshet-bench-df-');
  try {
    await produceInput(client, 'bench-df-in', events);
    const out = replay ? 'bench-df-replay' : 'bench-df-out';
    const started = process.hrtime.bigint();
    const runtime = await DataflowRuntime.start(spec('bench-df-in', out), { client, stateDir: path.join(stateDir, 'state'), replay });
    if (replay) await runtime.done;
    else {
      while (runtime.status().services[0].metrics.records < events) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const took = seconds(started);
    await runtime.stop();
    const status = runtime.status().services[0];
    return {
      name: replay ? 'replay (--from beginning --until end): topic → dataflow → results topic, every window closed' : 'end to end: topic (2 partitions) → dataflow → results topic',
      events,
      eventsPerSecond: events / took,
      note: `${status.metrics.windowResults.toLocaleString('en-US')} results produced${replay ? ' and acknowledged' : `; final checkpoint ${(status.checkpoint.bytes / 1e6).toFixed(1)} MB in ${status.checkpoint.ms} ms`}`,
    };
  } finally {
    await client.close();
    await removeDir(stateDir);
  }
}

export interface CloseCost {
  name: string;
  pairs: number;
  closeMs: number;
  heapMB: number;
  results: number;
}

/** One step's close with correlations within groups: `groups` × `size` keys, counts over 12 steps. */
export function closeCost(groups: number, size: number, top: number | undefined): CloseCost {
  const keys = groups * size;
  const s = dataflow('close')
    .source('in')
    .assignTimestamp('$.ts')
    .assignKey('$.k')
    .group('$.g')
    .window(tumbling(1000))
    .aggregate({ n: count() })
    .correlate({ x: 'n', windows: 12, withinGroups: true, ...(top !== undefined ? { top } : {}) })
    .limits({ maxPairs: 10_000_000, maxKeys: 2_000_000 })
    .history(1)
    .build().services[0];
  const engine = new ServiceEngine('bench', s);
  engine.registerInput('in', 0);
  let offset = 0;
  const feed = (step: number) => {
    // 1–3 events per key and step, varying by key and step.
    for (let k = 0; k < keys; k++) {
      const n = 1 + ((k * 7 + step * 3 + ((k * step) % 5)) % 3);
      for (let j = 0; j < n; j++) engine.process({ topic: 'in', partition: 0, offset: offset++, timestamp: 0, key: null, value: `{"k":"k${k}","g":"g${k % groups}","ts":${step * 1000 + j}}` });
    }
  };
  // 12 steps of history (closing each as the next begins), results dropped as they come.
  for (let step = 0; step < 12; step++) {
    feed(step);
    engine.takeOutputs();
  }
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  engine.finish(); // closes step 11: the timed close
  const closeMs = seconds(started) * 1000;
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  const results = engine.takeOutputs().filter((o) => o.kind === 'correlation').length;
  const pairs = (groups * size * (size - 1)) / 2;
  return { name: `${groups.toLocaleString('en-US')} group${groups > 1 ? 's' : ''} of ${size.toLocaleString('en-US')} keys${top !== undefined ? `, top ${top} per group` : ''}`, pairs, closeMs, heapMB, results };
}

/** Heap per key with state: a series (delta, rolling mean over 12) and a correlation ring, history 1. */
export function memoryPerKey(keys: number): number {
  const s = dataflow('mem')
    .source('in')
    .assignTimestamp('$.ts')
    .assignKey('$.k')
    .group('$.g')
    .window(tumbling(1000))
    .aggregate({ n: count(), price: last('$.p') })
    .series({ of: 'n', delta: true, rollingMean: 12 })
    .correlate({ x: 'price', y: 'n', windows: 12, sameKey: true })
    .history(1)
    .build().services[0];
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const engine = new ServiceEngine('bench', s);
  engine.registerInput('in', 0);
  for (let step = 0; step < 3; step++) {
    for (let k = 0; k < keys; k++) engine.process({ topic: 'in', partition: 0, offset: 0, timestamp: 0, key: null, value: `{"k":"k${k}","g":"g${k % 100}","p":${k % 97},"ts":${step * 1000}}` });
    engine.takeOutputs();
  }
  engine.process({ topic: 'in', partition: 0, offset: 0, timestamp: 0, key: null, value: `{"k":"k0","g":"g0","p":1,"ts":3000}` });
  engine.takeOutputs();
  global.gc?.();
  const bytes = (process.memoryUsage().heapUsed - before) / keys;
  if (engine.keys().length !== keys) throw new Error('memory bench: keys lost');
  return bytes;
}

async function latency(endpoint: string, samples: number): Promise<DataflowLatency> {
  const client = await Freshet.connect({ endpoint });
  const stateDir = await tempDir('freshet-bench-df-');
  try {
    await client.admin.createTopic('bench-lat-in', { partitions: 1 });
    await client.admin.createTopic('bench-lat-out', { partitions: 1 });
    // One key: each step's result is the one event of the previous step (dense steps would add nothing here).
    const runtime = await DataflowRuntime.start(spec('bench-lat-in', 'bench-lat-out'), { client, stateDir: path.join(stateDir, 'state') });
    const producer = await client.producer('bench-lat-in', { lingerMs: 0 });
    const consumer = await client.consumer('bench-lat-out', { offset: 'end' });
    const results = consumer[Symbol.asyncIterator]();
    const times: number[] = [];
    await producer.send(null, `{"k":"k0","ts":${BASE}}`);
    for (let i = 1; i <= samples + 10; i++) {
      const started = process.hrtime.bigint();
      await producer.send(null, `{"k":"k0","ts":${BASE + i * 1000}}`);
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

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Runs the measurements against a node; returns a markdown section. */
export async function benchDataflow(endpoint: string, scale = 1): Promise<string> {
  const events = 1_000_000 * scale;
  const rows = [...engineOnly(2 * events), await endToEnd(endpoint, events, false), await endToEnd(endpoint, events, true)];
  const closes = [closeCost(1000, 100, 10), closeCost(1, 1000, undefined), closeCost(1, 1000, 100)];
  const perKey = memoryPerKey(100_000);
  const lat = await latency(endpoint, 200 * scale);
  const replay = rows[3];
  const table = [
    '| dataflow | events | events/s | notes |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.events)} | ${fmt(r.eventsPerSecond)} | ${r.note} |`),
  ].join('\n');
  const closeTable = [
    '| closing one step, correlations within groups (12 steps) | pairs | close ms | heap MB | correlation results |',
    '|---|---:|---:|---:|---:|',
    ...closes.map((c) => `| ${c.name} | ${fmt(c.pairs)} | ${fmt(c.closeMs)} | ${c.heapMB.toFixed(0)} | ${fmt(c.results)} |`),
  ].join('\n');
  const latTable = ['| dataflow latency | samples | p50 ms | p99 ms |', '|---|---:|---:|---:|', `| ${lat.name} | ${lat.samples} | ${lat.p50Ms.toFixed(2)} | ${lat.p99Ms.toFixed(2)} |`].join('\n');
  const extrapolated = `Replay of 10,000,000 events at the measured rate: ~${fmt(10_000_000 / replay.eventsPerSecond)} s (extrapolated from ${fmt(replay.events)}).`;
  return `${table}\n\n${closeTable}\n\nState memory per key (count + last price, series with delta and a 12-step rolling mean, a 12-step correlation ring, history 1): ${fmt(perKey)} bytes${global.gc ? '' : ' (without --expose-gc: approximate)'}.\n\n${extrapolated}\n\n${latTable}\n`;
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
