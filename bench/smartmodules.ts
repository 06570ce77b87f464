// SmartModule figures for `npm run bench` (docs/benchmarks.md "SmartModules"):
//
// - engine: records/s of 1 KiB JSON records, 100 per batch, through
//   SmartChain.process with the built-in infinyon/regex-filter, and with
//   regex-filter + infinyon/jolt (a small shift spec), against the same logic
//   as a plain JavaScript function (RegExp test on the value string; then
//   JSON.parse, reshape, JSON.stringify), no network;
// - end to end: consume (continuous: false, from the beginning) of N 1 KiB
//   records through the Freshet client, without and with the regex-filter
//   SmartModule (run on the node), records/s of records read from the topic.
//
// The built-ins compile from AssemblyScript on first use (cached on disk
// under the OS temp directory): that is done before any timing.
//
//   npx tsx bench/smartmodules.ts            # starts its own node
//   BENCH_SCALE=2 npx tsx bench/smartmodules.ts

import os from 'node:os';
import { Freshet } from '../src/client/index.js';
import { builtinSmartModule } from '../src/smartengine/builtins.js';
import { SmartEngine, type SmartChain, type SmartRecord } from '../src/smartengine/index.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';

const RECORD_BYTES = 1024;
const BATCH = 100;
/** Matches one record in four (the `level` field cycles through four values). */
const REGEX = '"level":"error"';
const JOLT_SPEC = JSON.stringify([{ operation: 'shift', spec: { id: 'event.id', level: 'event.level', user: { name: 'who' } } }]);
const LEVELS = ['info', 'warn', 'error', 'debug'];

/** A deterministic JSON object of exactly RECORD_BYTES bytes. */
function recordText(i: number): string {
  const head = { id: i, level: LEVELS[i % LEVELS.length], ts: 1_700_000_000_000 + i, user: { name: `user-${i % 997}`, region: `r${i % 7}` }, msg: '' };
  const base = JSON.stringify(head).length;
  const fill = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let msg = '';
  while (msg.length < RECORD_BYTES - base) msg += fill;
  head.msg = msg.slice(0, RECORD_BYTES - base);
  return JSON.stringify(head);
}

export interface SmartModuleBenchRow {
  name: string;
  records: number;
  recordsPerSecond: number;
  note: string;
}

function batches(records: number): SmartRecord[][] {
  const out: SmartRecord[][] = [];
  for (let b = 0; b * BATCH < records; b++) {
    out.push(
      Array.from({ length: Math.min(BATCH, records - b * BATCH) }, (_, i) => ({
        attributes: 0,
        timestampDelta: 0,
        offsetDelta: i,
        key: null,
        value: Buffer.from(recordText(b * BATCH + i)),
        headers: 0,
      })),
    );
  }
  return out;
}

/** Runs `body` over every batch (one warm-up pass over a tenth first); records/s and records kept. */
function timeBatches(input: SmartRecord[][], body: (batch: SmartRecord[], baseOffset: number) => number): { perSecond: number; kept: number } {
  for (let b = 0; b < Math.max(1, Math.floor(input.length / 10)); b++) body(input[b], b * BATCH);
  let kept = 0;
  let total = 0;
  const started = process.hrtime.bigint();
  for (let b = 0; b < input.length; b++) {
    kept += body(input[b], b * BATCH);
    total += input[b].length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: total / seconds, kept };
}

function wasmRun(chain: SmartChain): (batch: SmartRecord[], baseOffset: number) => number {
  return (batch, baseOffset) => {
    const out = chain.process(batch, { baseOffset });
    if (out.error) throw new Error(`chain failed: ${out.error.message}`);
    return out.records.length; // decode the output, as a consumer of the chain would
  };
}

function jsFilter(): (batch: SmartRecord[]) => number {
  const re = new RegExp(REGEX);
  return (batch) => {
    const out: SmartRecord[] = [];
    for (const r of batch) if (r.value !== null && re.test(Buffer.from(r.value).toString('utf8'))) out.push(r);
    return out.length;
  };
}

function jsFilterMap(): (batch: SmartRecord[]) => number {
  const re = new RegExp(REGEX);
  return (batch) => {
    const out: SmartRecord[] = [];
    for (const r of batch) {
      if (r.value === null) continue;
      const text = Buffer.from(r.value).toString('utf8');
      if (!re.test(text)) continue;
      const v = JSON.parse(text) as { id: number; level: string; user: { name: string } };
      out.push({ ...r, value: Buffer.from(JSON.stringify({ event: { id: v.id, level: v.level }, who: v.user.name })) });
    }
    return out.length;
  };
}

async function engineRows(records: number): Promise<SmartModuleBenchRow[]> {
  const [filterWasm, joltWasm] = await Promise.all([builtinSmartModule('infinyon/regex-filter'), builtinSmartModule('infinyon/jolt')]);
  if (!filterWasm || !joltWasm) throw new Error('built-in SmartModules not found');
  const engine = new SmartEngine();
  const filter = await engine.buildChain([{ wasm: filterWasm, name: 'infinyon/regex-filter', kind: 'filter', params: { regex: REGEX } }]);
  const chain = await engine.buildChain([
    { wasm: filterWasm, name: 'infinyon/regex-filter', kind: 'filter', params: { regex: REGEX } },
    { wasm: joltWasm, name: 'infinyon/jolt', kind: 'map', params: { spec: JOLT_SPEC } },
  ]);
  // The wasm map's output must match the JS reshape (jolt's key order may differ: compare parsed).
  const sample = chain.process(batches(BATCH)[0], { baseOffset: 0 }).records[0];
  const expected = { event: { id: 2, level: 'error' }, who: 'user-2' };
  const got = sample?.value ? (JSON.parse(Buffer.from(sample.value).toString('utf8')) as unknown) : undefined;
  if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`jolt output ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);

  const input = batches(records);
  const note = `1 KiB JSON, ${BATCH} per batch, 1 in 4 kept`;
  const rows: SmartModuleBenchRow[] = [];
  const add = (name: string, r: { perSecond: number; kept: number }) => rows.push({ name, records, recordsPerSecond: r.perSecond, note: `${note} (${r.kept.toLocaleString('en-US')})` });
  add('filter: regex-filter (wasm, SmartChain.process)', timeBatches(input, wasmRun(filter)));
  add('filter: plain JS (RegExp.test on the value string)', timeBatches(input, jsFilter()));
  add('filter + map: regex-filter → jolt shift (wasm)', timeBatches(input, wasmRun(chain)));
  add('filter + map: plain JS (RegExp.test, JSON.parse, reshape, JSON.stringify)', timeBatches(input, jsFilterMap()));
  filter.close();
  chain.close();
  return rows;
}

async function endToEnd(endpoint: string, records: number): Promise<SmartModuleBenchRow[]> {
  // compiled (or loaded) by this process first: the node finds it in the shared disk cache
  await builtinSmartModule('infinyon/regex-filter');
  const client = await Freshet.connect({ endpoint });
  const topic = `bench-sm-${Date.now()}`;
  try {
    await client.admin.createTopic(topic);
    const producer = await client.producer(topic, { lingerMs: 5 });
    for (let i = 0; i < records; i++) {
      const sent = producer.send(null, recordText(i));
      if (i % 5_000 === 4_999) await sent;
    }
    await producer.flush();
    const rows: SmartModuleBenchRow[] = [];
    for (const withModule of [false, true, false, true]) {
      const started = process.hrtime.bigint();
      let received = 0;
      const consumer = await client.consumer(topic, {
        offset: 'beginning',
        continuous: false,
        ...(withModule ? { smartmodules: [{ name: 'infinyon/regex-filter', params: { regex: REGEX } }] } : {}),
      });
      for await (const _record of consumer) received++;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const expected = withModule ? Math.floor((records + 1) / 4) : records;
      if (received !== expected) throw new Error(`consumed ${received}, expected ${expected}`);
      const name = withModule ? 'consume with regex-filter (on the node), records read/s' : 'consume, no SmartModule';
      // first round is a warm-up (node page cache, module instantiation); the second is reported
      const existing = rows.findIndex((r) => r.name === name);
      const row = { name, records, recordsPerSecond: records / seconds, note: `1 KiB JSON, ${received.toLocaleString('en-US')} delivered; ${(records / seconds / 1024).toFixed(1)} MiB/s read` };
      if (existing >= 0) rows[existing] = row;
      else rows.push(row);
    }
    await client.admin.deleteTopic(topic);
    return rows;
  } finally {
    await client.close();
  }
}

/** Runs the engine and end-to-end measurements against a node; returns a markdown section. */
export async function benchSmartModules(endpoint: string, scale = 1): Promise<string> {
  // sized for the wasm rows (~5,000 records/s on a 2-core machine): ~30 s in all after the compile
  const rows = [...(await engineRows(20_000 * scale)), ...(await endToEnd(endpoint, 30_000 * scale))];
  const table = [
    '| SmartModules | records | records/s | notes |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${r.records.toLocaleString('en-US')} | ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} | ${r.note} |`),
  ].join('\n');
  return `${table}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { startChildNode } = await import('../test/helpers/child-node.js');
  // compile the built-ins before the node starts, so that neither waits for the other
  await Promise.all([builtinSmartModule('infinyon/regex-filter'), builtinSmartModule('infinyon/jolt')]);
  const dataDir = await tempDir('freshet-bench-');
  const node = await startChildNode(dataDir);
  try {
    const scale = Number(process.env.BENCH_SCALE ?? 1);
    process.stdout.write(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n\n${await benchSmartModules(node.endpoint, scale)}`);
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
}
