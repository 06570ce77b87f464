// `npx tsx bench/smartengine.ts`: what the SmartModule engine's time limit
// costs, measured on our AssemblyScript SmartModules (test/fixtures/smartmodules
// and the reference filter, built with asc by test/unit/smartengine/asc.ts and
// cached under the OS temp directory):
//
//   plain     the module as built, called with the Fluvio convention (alloc,
//             copy the input in, call, copy the output out): the floor
//   metered   the same harness on the instrumented module (fuel counter in
//             every function and loop, guarded memory.grow): what our limit costs
//   engine    SmartChain.process on the metered module (input framing and
//             the output scan included): what the SPU pays per batch;
//             "engine overhead" is engine − metered
//
// The built-in regex-filter (1 KiB and 100 B JSON, 100 per batch) comes
// first. Each kind is called in turn and its median call reported: the
// machine is shared, and a preempted call then moves only its own sample.
//   worker    the plain module in a worker_thread, one message round trip per
//             batch (input transferred, output posted back): the other way to
//             stop a runaway call (Worker.terminate)
//
// Also the fuel rate of a runaway loop (fuel units per second), which turns
// the fuel limit into a time bound.

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { builtinSmartModule } from '../src/smartengine/builtins.js';
import { encodeExtraParams, encodeRecords, SmartEngine, type SmartRecord } from '../src/smartengine/index.js';
import { instrument } from '../src/smartengine/instrument.js';
import { asModule, type AsModuleName } from '../test/unit/smartengine/asc.js';
import { i32c, syntheticModule } from '../test/unit/smartengine/helpers.js';

const VERSION = 22;

function records(n: number, make: (i: number) => string): SmartRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    attributes: 0,
    timestampDelta: 0,
    offsetDelta: i,
    key: null,
    value: Buffer.from(make(i)),
    headers: 0,
  }));
}

/** SmartModuleInput at v22 around an encoded record list. */
function input(raw: Buffer): Buffer {
  const out = Buffer.alloc(12 + raw.length + 2 + 1 + 4 + 8);
  out.writeBigInt64BE(0n, 0);
  out.writeUInt32BE(raw.length, 8);
  raw.copy(out, 12);
  return out;
}

interface Harness {
  call(bytes: Buffer): Buffer;
}

async function harness(wasm: Uint8Array, fn: string, metered: boolean, params?: Record<string, string>): Promise<Harness> {
  const bytes = metered ? instrument(wasm).bytes : wasm;
  let out: [number, number] = [0, 0];
  const { instance } = (await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, {
    env: { copy_records: (p: number, l: number) => (out = [p, l]) },
  })) as unknown as { instance: WebAssembly.Instance };
  const ex = instance.exports as Record<string, unknown>;
  const memory = ex.memory as WebAssembly.Memory;
  const alloc = ex.alloc as (n: number) => number;
  const f = ex[fn] as (p: number, l: number, v: number) => number;
  const fuel = ex.__freshet_fuel as WebAssembly.Global | undefined;
  if (params !== undefined) {
    if (fuel) fuel.value = 1n << 40n;
    const init = encodeExtraParams(new Map(Object.entries(params)), undefined, VERSION);
    const p = alloc(init.length);
    new Uint8Array(memory.buffer).set(init, p);
    if ((ex.init as (p: number, l: number, v: number) => number)(p, init.length, VERSION) !== 0) throw new Error('init failed');
  }
  return {
    call(buf: Buffer): Buffer {
      if (fuel) fuel.value = 1n << 40n;
      const p = alloc(buf.length);
      new Uint8Array(memory.buffer).set(buf, p);
      const rc = f(p, buf.length, VERSION);
      if (rc < 0) throw new Error(`rc ${rc}`);
      return Buffer.from(new Uint8Array(memory.buffer, out[0], out[1]));
    },
  };
}

/** Median µs per call of each body, called in turn `iterations` times after a warm-up. */
function medians(iterations: number, bodies: (() => void)[]): number[] {
  const samples = bodies.map(() => new Float64Array(iterations));
  for (let i = 0; i < 50; i++) for (const body of bodies) body();
  for (let i = 0; i < iterations; i++) {
    bodies.forEach((body, k) => {
      const t = process.hrtime.bigint();
      body();
      samples[k][i] = Number(process.hrtime.bigint() - t) / 1000;
    });
  }
  return samples.map((s) => s.sort()[Math.floor(iterations / 2)]);
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let out = [0, 0];
const { instance } = { instance: new WebAssembly.Instance(new WebAssembly.Module(workerData.wasm), { env: { copy_records: (p, l) => (out = [p, l]) } }) };
const ex = instance.exports;
parentPort.on('message', (buf) => {
  const p = ex.alloc(buf.byteLength);
  new Uint8Array(ex.memory.buffer).set(new Uint8Array(buf), p);
  ex[workerData.fn](p, buf.byteLength, ${VERSION});
  const result = new Uint8Array(ex.memory.buffer, out[0], out[1]).slice();
  parentPort.postMessage(result.buffer, [result.buffer]);
});
`;

async function workerRoundTrip(wasm: Buffer, fn: string, buf: Buffer, iterations: number): Promise<number> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { wasm, fn } });
  const once = () =>
    new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      const copy = new Uint8Array(buf).buffer; // a fresh copy of the batch, transferred
      worker.postMessage(copy, [copy]);
    });
  for (let i = 0; i < 50; i++) await once();
  const t = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await once();
  const us = Number(process.hrtime.bigint() - t) / 1000 / iterations;
  await worker.terminate();
  return us;
}

async function main(): Promise<void> {
  const regexFilter = (await builtinSmartModule('infinyon/regex-filter')) as Uint8Array;
  const json = (i: number, bytes: number) => {
    const head = JSON.stringify({ id: i, level: ['info', 'warn', 'error', 'debug'][i % 4], user: { name: `user-${i}` }, msg: '' });
    return head.replace('"msg":""', `"msg":"${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(40).slice(0, Math.max(0, bytes - head.length))}"`);
  };
  const cases: { name: string; module: AsModuleName | Uint8Array; fn: string; recs: SmartRecord[]; params?: Record<string, string> }[] = [
    { name: 'built-in regex-filter, 1 KiB JSON', module: regexFilter, fn: 'filter', recs: records(100, (i) => json(i, 1024)), params: { regex: '"level":"error"' } },
    { name: 'built-in regex-filter, 100 B JSON', module: regexFilter, fn: 'filter', recs: records(100, (i) => json(i, 100)), params: { regex: '"level":"error"' } },
    { name: 'filter (contains "a", UTF-8 checked)', module: 'filter-on-a', fn: 'filter', recs: records(200, (i) => `value number ${i} ${'x'.repeat(80)}`) },
    { name: 'filter (reference AS filter)', module: 'assemblyscript-filter', fn: 'filter', recs: records(200, (i) => `value number ${i} ${'x'.repeat(80)}`) },
    { name: 'map (upper-case)', module: 'map-upper', fn: 'map', recs: records(200, (i) => `value number ${i} ${'x'.repeat(80)}`) },
    { name: 'filter_map (parse int)', module: 'filter-map', fn: 'filter_map', recs: records(200, (i) => String(i * 7)) },
    { name: 'array_map (JSON arrays)', module: 'array-map', fn: 'array_map', recs: records(50, (i) => JSON.stringify([`a${i}`, `b${i}`, `c${i}`, `d${i}`])) },
  ];
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}\n`);
  console.log('| module | batch | plain µs | metered µs | metering cost | engine µs | engine overhead µs | worker µs | fuel/batch |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const wasm = c.module instanceof Uint8Array ? c.module : await asModule(c.module);
    const raw = encodeRecords(c.recs);
    const buf = input(raw);
    const iterations = 500;
    const engine = new SmartEngine();
    const chain = await engine.buildChain([{ wasm, name: c.name, version: VERSION, ...(c.params ? { params: c.params } : {}) }]);
    // one call of each in turn, median per kind: the machine is shared, and a
    // preempted call then moves only its own sample (fresh instances, since a
    // module that leaks its outputs, as Rust SDK modules do, grows with calls)
    const plainHarness = await harness(wasm, c.fn, false, c.params);
    const meteredHarness = await harness(wasm, c.fn, true, c.params);
    const [p, m, engineUs] = medians(iterations * 4, [
      () => plainHarness.call(buf),
      () => meteredHarness.call(buf),
      () => {
        const out = chain.process(raw, { baseOffset: 0 });
        if (out.error) throw new Error(out.error.message);
      },
    ]);
    const fuel = chain.modules()[0].fuelUsed / chain.modules()[0].calls;
    chain.close();
    // the worker harness does not call init: modules with params are not timed there
    const workerUs = c.params ? undefined : await workerRoundTrip(Buffer.from(wasm), c.fn, buf, iterations);
    console.log(
      `| ${c.name} | ${c.recs.length} rec, ${(raw.length / 1024).toFixed(1)} KB | ${p.toFixed(1)} | ${m.toFixed(1)} | ` +
        `${(((m - p) / p) * 100).toFixed(0)} % | ${engineUs.toFixed(1)} | ${(engineUs - m).toFixed(1)} | ${workerUs === undefined ? '—' : workerUs.toFixed(1)} | ${Math.round(fuel).toLocaleString('en-US')} |`,
    );
  }

  // Fuel rate of a tight runaway loop: how long a given fuel limit lasts.
  const engine = new SmartEngine({ limits: { fuel: 200_000_000 } });
  const spin = await engine.buildChain([{ wasm: syntheticModule({ body: [0x03, 0x40, 0x0c, 0x00, 0x0b, ...i32c(0)] }), name: 'spin' }]);
  const t = performance.now();
  const out = spin.process([], { baseOffset: 0 });
  const ms = performance.now() - t;
  console.log(`\nrunaway loop: ${out.error?.kind} after ${ms.toFixed(0)} ms for 200,000,000 fuel → ${((200_000_000 / ms) * 1000 / 1e6).toFixed(0)} million fuel/s`);
}

await main();
