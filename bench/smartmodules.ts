// SmartModule figures for `npm run bench` (docs/benchmarks.md "SmartModules"):
//
// - engine: records/s of JSON records (1 KiB and 100 B), 100 per batch,
//   through SmartChain.process with each built-in (regex-filter, jolt,
//   array-map-json, json-sql) and the regex-filter → jolt chain, against the
//   same logic as a plain JavaScript function over the same records, measured
//   in alternating rounds in one run (best round of each reported). The wasm
//   side gets each batch's records section as the node has it (bytes) and
//   hands back the output section the SPU sends (bytes; also timed with the
//   output decoded into JS records); the JS side gets decoded records and
//   returns records. Every wasm output is checked against the JS output first.
// - end to end: consume (continuous: false, from the beginning) of N 1 KiB
//   records through the Freshet client, without and with the regex-filter
//   SmartModule (run on the node), records/s of records read from the topic.
//
// The built-ins are built ahead (npm run build:builtins) or compiled before
// any timing.
//
//   npx tsx bench/smartmodules.ts            # starts its own node
//   BENCH_SCALE=2 npx tsx bench/smartmodules.ts

import os from 'node:os';
import { Freshet } from '../src/client/index.js';
import { builtinSmartModule } from '../src/smartengine/builtins.js';
import { encodeRecords, SmartEngine, type SmartChain, type SmartRecord } from '../src/smartengine/index.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';

const RECORD_BYTES = 1024;
const BATCH = 100;
/** Matches one record in four (the `level` field cycles through four values). */
const REGEX = '"level":"error"';
const JOLT_SPEC = JSON.stringify([{ operation: 'shift', spec: { id: 'event.id', level: 'event.level', user: { name: 'who' } } }]);
const SQL_MAPPING = JSON.stringify({
  table: 'events',
  'map-columns': {
    id: { 'json-key': 'id', value: { type: 'int8', required: true } },
    level: { 'json-key': 'level', value: { type: 'text' } },
    who: { 'json-key': 'user.name', value: { type: 'text' } },
  },
});
const LEVELS = ['info', 'warn', 'error', 'debug'];
const FILL = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A deterministic JSON object of exactly `bytes` bytes (at least ~90). */
function recordText(i: number, bytes = RECORD_BYTES): string {
  const head = { id: i, level: LEVELS[i % LEVELS.length], ts: 1_700_000_000_000 + i, user: { name: `user-${i % 997}`, region: `r${i % 7}` }, msg: '' };
  const base = JSON.stringify(head).length;
  head.msg = FILL.repeat(Math.ceil(bytes / FILL.length)).slice(0, Math.max(0, bytes - base));
  return JSON.stringify(head);
}

/** A JSON array of small objects, about `bytes` long. */
function arrayText(i: number, bytes: number): string {
  const items: unknown[] = [];
  let length = 2;
  for (let k = 0; length < bytes - 40; k++) {
    const item = { id: i * 100 + k, sku: `p-${(i + k) % 1000}`, qty: k % 5 };
    length += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return JSON.stringify(items);
}

export interface SmartModuleBenchRow {
  name: string;
  records: number;
  recordsPerSecond: number;
  note: string;
}

function makeBatches(records: number, text: (i: number) => string): SmartRecord[][] {
  const out: SmartRecord[][] = [];
  for (let b = 0; b * BATCH < records; b++) {
    out.push(
      Array.from({ length: Math.min(BATCH, records - b * BATCH) }, (_, i) => ({
        attributes: 0,
        timestampDelta: 0,
        offsetDelta: i,
        key: null,
        value: Buffer.from(text(b * BATCH + i)),
        headers: 0,
      })),
    );
  }
  return out;
}

type Transform = (batch: SmartRecord[], raw: Buffer, baseOffset: number) => SmartRecord[];

/** Records/s of one pass of `body` over every batch, repeated until 80 ms have gone by. */
function timePasses(input: SmartRecord[][], raws: Buffer[], body: Transform): number {
  let total = 0;
  const started = process.hrtime.bigint();
  let elapsed: number;
  do {
    for (let b = 0; b < input.length; b++) {
      body(input[b], raws[b], b * BATCH);
      total += input[b].length;
    }
    elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  } while (elapsed < 0.08);
  return total / elapsed;
}

/** The chain over a batch's bytes; `decode`: the output as records (a JS consumer), else as the bytes the SPU sends. */
function wasmTransform(chain: SmartChain, decode: boolean): Transform {
  return (_batch, raw, baseOffset) => {
    const out = chain.process(raw, { baseOffset });
    if (out.error) throw new Error(`chain failed: ${out.error.message}`);
    if (decode) return out.records;
    if (out.count > 0 && out.recordsBytes === null) throw new Error('the chain output is not canonical');
    return NO_RECORDS;
  };
}

const NO_RECORDS: SmartRecord[] = [];

function valueText(r: SmartRecord): string {
  return r.value.toString('utf8');
}

const jsRegexFilter = (): Transform => {
  const re = new RegExp(REGEX);
  return (batch) => batch.filter((r) => re.test(valueText(r)));
};

function reshape(text: string): string {
  const v = JSON.parse(text) as { id: number; level: string; user: { name: string } };
  return JSON.stringify({ event: { id: v.id, level: v.level }, who: v.user.name });
}

const jsJolt = (): Transform => (batch) => batch.map((r) => ({ ...r, value: Buffer.from(reshape(valueText(r))) }));

const jsFilterJolt = (): Transform => {
  const re = new RegExp(REGEX);
  return (batch) => batch.filter((r) => re.test(valueText(r))).map((r) => ({ ...r, value: Buffer.from(reshape(valueText(r))) }));
};

const jsArrayMap = (): Transform => (batch) => {
  const out: SmartRecord[] = [];
  for (const r of batch) {
    for (const item of JSON.parse(valueText(r)) as unknown[]) {
      out.push({ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Buffer.from(JSON.stringify(item)), headers: 0 });
    }
  }
  return out;
};

const jsJsonSql = (): Transform => (batch) =>
  batch.map((r) => {
    const v = JSON.parse(valueText(r)) as { id: number; level?: string; user?: { name?: string } };
    if (typeof v.id !== 'number') throw new Error('id missing');
    const values = [
      { column: 'id', raw_value: String(v.id), type: 'BigInt' },
      { column: 'level', raw_value: v.level ?? '', type: 'Text' },
      { column: 'who', raw_value: v.user?.name ?? '', type: 'Text' },
    ];
    return { ...r, value: Buffer.from(JSON.stringify({ Insert: { table: 'events', values } })) };
  });

interface EngineCase {
  name: string;
  modules: { name: string; params?: Record<string, string> }[];
  js: () => Transform;
  jsNote: string;
  /** The records of the case at this record size. */
  text: (bytes: number) => (i: number) => string;
}

const CASES: EngineCase[] = [
  { name: 'regex-filter', modules: [{ name: 'infinyon/regex-filter', params: { regex: REGEX } }], js: jsRegexFilter, jsNote: 'RegExp.test on the value string', text: (n) => (i) => recordText(i, n) },
  { name: 'jolt (shift)', modules: [{ name: 'infinyon/jolt', params: { spec: JOLT_SPEC } }], js: jsJolt, jsNote: 'JSON.parse, reshape, JSON.stringify', text: (n) => (i) => recordText(i, n) },
  {
    name: 'regex-filter → jolt',
    modules: [
      { name: 'infinyon/regex-filter', params: { regex: REGEX } },
      { name: 'infinyon/jolt', params: { spec: JOLT_SPEC } },
    ],
    js: jsFilterJolt,
    jsNote: 'RegExp.test, then JSON.parse, reshape, JSON.stringify',
    text: (n) => (i) => recordText(i, n),
  },
  { name: 'array-map-json', modules: [{ name: 'infinyon/array-map-json' }], js: jsArrayMap, jsNote: 'JSON.parse, JSON.stringify of each element', text: (n) => (i) => arrayText(i, n) },
  { name: 'json-sql', modules: [{ name: 'infinyon/json-sql', params: { mapping: SQL_MAPPING } }], js: jsJsonSql, jsNote: 'JSON.parse, the model object, JSON.stringify', text: (n) => (i) => recordText(i, n) },
];

/** Outputs must be the same JSON (key order aside) before anything is timed. */
function checkSame(name: string, wasm: SmartRecord[], js: SmartRecord[]): void {
  const norm = (rs: SmartRecord[]) => rs.map((r) => JSON.stringify(sortKeys(JSON.parse(valueText(r)))));
  const a = norm(wasm);
  const b = norm(js);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new Error(`${name}: wasm output ${a[0]} (${a.length}) differs from JS ${b[0]} (${b.length})`);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

/** Alternating rounds per side; the best of each is reported (the machine is shared). */
const ROUNDS = 9;

/** `only`: the names of the cases to run (default all). */
export async function engineRows(records: number, only?: readonly string[]): Promise<SmartModuleBenchRow[]> {
  const engine = new SmartEngine();
  const rows: SmartModuleBenchRow[] = [];
  for (const bytes of [1024, 100]) {
    for (const c of CASES.filter((x) => only === undefined || only.includes(x.name))) {
      const input = makeBatches(records, c.text(bytes));
      const raws = input.map((b) => encodeRecords(b));
      const configs = [];
      for (const m of c.modules) {
        const wasm = await builtinSmartModule(m.name);
        if (!wasm) throw new Error(`${m.name} is not a built-in`);
        configs.push({ wasm, name: m.name, ...(m.params ? { params: m.params } : {}) });
      }
      const chain = await engine.buildChain(configs);
      const wasmBytes = wasmTransform(chain, false);
      const wasmRecords = wasmTransform(chain, true);
      const jsRun = c.js();
      checkSame(c.name, wasmRecords(input[0], raws[0], 0), jsRun(input[0], raws[0], 0));
      let bestWasm = 0;
      let bestDecoded = 0;
      let bestJs = 0;
      for (let round = 0; round < ROUNDS; round++) {
        bestWasm = Math.max(bestWasm, timePasses(input, raws, wasmBytes));
        bestJs = Math.max(bestJs, timePasses(input, raws, jsRun));
        bestDecoded = Math.max(bestDecoded, timePasses(input, raws, wasmRecords));
      }
      chain.close();
      const size = bytes === 1024 ? '1 KiB' : '100 B';
      const percent = (rate: number) => `${Math.round((rate / bestJs) * 100)} %`;
      rows.push({
        name: `${c.name}, ${size} (wasm)`,
        records,
        recordsPerSecond: bestWasm,
        note: `**${percent(bestWasm)} of plain JS**; output decoded to JS records: ${Math.round(bestDecoded).toLocaleString('en-US')}/s (${percent(bestDecoded)})`,
      });
      rows.push({ name: `${c.name}, ${size} (plain JS)`, records, recordsPerSecond: bestJs, note: c.jsNote });
    }
  }
  engine.close();
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
    // alternating reads, the best of each kind reported; the first pair warms up (page cache, module instantiation)
    for (const withModule of [false, true, false, true, false, true, false, true]) {
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
      const existing = rows.findIndex((r) => r.name === name);
      const row = { name, records, recordsPerSecond: records / seconds, note: `1 KiB JSON, ${received.toLocaleString('en-US')} delivered; ${(records / seconds / 1024).toFixed(1)} MiB/s read` };
      if (existing < 0) rows.push({ ...row, recordsPerSecond: 0 }); // the warm-up
      else if (row.recordsPerSecond > rows[existing].recordsPerSecond) rows[existing] = row;
    }
    const [plain, filtered] = rows;
    filtered.note += `; ${Math.round((filtered.recordsPerSecond / plain.recordsPerSecond) * 100)} % of the read without`;
    await client.admin.deleteTopic(topic);
    return rows;
  } finally {
    await client.close();
  }
}

/** Runs the engine and end-to-end measurements against a node; returns a markdown section. */
export async function benchSmartModules(endpoint: string, scale = 1): Promise<string> {
  // each engine row: 9 rounds of ≥ 80 ms per side; end to end: 8 reads of the topic
  const rows = [...(await engineRows(10_000 * scale)), ...(await endToEnd(endpoint, 30_000 * scale))];
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
