// Every way a SmartModule can fail, and that a failure ends only its own
// chain: bad binaries (negative-binaries.json, rebuilt synthetically),
// missing imports/exports, error status, trap, runaway loop (fuel), memory
// growth (per instance and engine-wide), and leaks across calls. Real
// modules are our AssemblyScript ones (asc.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SmartEngine, SmartModuleError } from '../../../src/smartengine/index.js';
import { asModules } from './asc.js';
import { I32, i32c, loadVectors, noImportModule, notWasm, recs, syntheticModule, truncatedModule } from './helpers.js';

interface NegativeBinary {
  id: string;
  size: number;
  result: string;
}

const mods = await asModules(['map-upper', 'map-upper-leaky', 'filter-on-a', 'filter-template']);

const ok = syntheticModule({
  // copy_records(0, 5) over 5 zero bytes (no successes, no error); return 0
  body: [...i32c(0), ...i32c(5), 0x10, 0x00, ...i32c(0)],
});
const unreachable = syntheticModule({ body: [0x00] });
const runaway = syntheticModule({ body: [0x03, 0x40, 0x0c, 0x00, 0x0b, ...i32c(0)] });
// loop { memory.grow(1) } — until the limit stops it
const grower = syntheticModule({ body: [0x03, 0x40, ...i32c(1), 0x40, 0x00, 0x1a, 0x0c, 0x00, 0x0b, ...i32c(0)] });
// memory.grow(1) once per call, then an empty output: a module that leaks across calls
const leaker = syntheticModule({ body: [...i32c(1), 0x40, 0x00, 0x1a, ...i32c(0), ...i32c(5), 0x10, 0x00, ...i32c(0)] });

async function buildError(engine: SmartEngine, wasm: Buffer, name = 'mod'): Promise<SmartModuleError> {
  try {
    await engine.buildChain([{ wasm, name }]);
  } catch (err) {
    assert.ok(err instanceof SmartModuleError, `expected SmartModuleError, got ${String(err)}`);
    return err;
  }
  assert.fail('buildChain should have failed');
}

describe('bad modules (negative-binaries.json)', () => {
  const negatives = loadVectors<NegativeBinary[]>('negative-binaries.json');
  // The same defects, rebuilt: what the engine says must be what was recorded with the originals.
  const rebuilt: Record<string, { wasm: Buffer; kind: string; text: string }> = {
    filter_missing_attribute: { wasm: noImportModule(), kind: 'imports', text: '' },
    sm_need_more_data: { wasm: truncatedModule(), kind: 'compile', text: 'invalid wasm: ' },
    apackage_module: { wasm: notWasm(), kind: 'compile', text: 'invalid wasm: ' },
  };
  for (const neg of negatives) {
    it(`${neg.id}: ${neg.result}`, async () => {
      const { wasm, kind, text } = rebuilt[neg.id];
      const engine = new SmartEngine();
      const err = await buildError(engine, wasm, neg.id);
      assert.equal(err.kind, kind);
      // The recorded result, word for word (for compile failures, the WebAssembly compiler's message).
      assert.ok(err.message.includes(text + neg.result.replace(/^(engine rejects|WebAssembly\.compile fails): /, '')), err.message);
      if (kind === 'compile') assert.equal(wasm.length, neg.size);
      assert.match(err.message, new RegExp(`SmartModule "${neg.id}"`));
      assert.equal(err.fluvioError.code, 6005);
      assert.equal(err.fluvioError.message, err.message);
      assert.equal(engine.stats().liveInstances, 0);
    });
  }
});

describe('missing or wrong imports and exports', () => {
  it('no transform export: "No valid smartmodule found"', async () => {
    const err = await buildError(new SmartEngine(), syntheticModule({ transform: 'transform', body: [...i32c(0)] }));
    assert.equal(err.kind, 'exports');
    assert.match(err.message, /No valid smartmodule found/);
    assert.equal(err.fluvioError.code, 6005);
  });

  it('a transform with the wrong signature', async () => {
    const wasm = syntheticModule({
      body: [...i32c(0)],
      extraFuncs: [{ export: 'init', params: [I32], results: [I32], body: [...i32c(0)] }],
    });
    const err = await buildError(new SmartEngine(), wasm);
    assert.equal(err.kind, 'exports');
    assert.match(err.message, /export init has type \(i32 -> i32\), expected \(i32 i32 i32 -> i32\)/);
  });

  it('no alloc export', async () => {
    const err = await buildError(new SmartEngine(), syntheticModule({ body: [...i32c(0)], noAlloc: true }));
    assert.equal(err.kind, 'exports');
    assert.match(err.message, /alloc/);
  });

  it('an import the engine does not supply (AssemblyScript env.abort)', async () => {
    const wasm = syntheticModule({ body: [...i32c(0)], imports: [['env', 'abort', [I32, I32, I32, I32], []]] });
    const err = await buildError(new SmartEngine(), wasm);
    assert.equal(err.kind, 'imports');
    assert.match(err.message, /unknown import env\.abort/);
  });

  it('the first transform in Fluvio order wins (filter over map)', async () => {
    const wasm = syntheticModule({
      transform: 'map',
      body: [0x00],
      extraFuncs: [{ export: 'filter', params: [I32, I32, I32], results: [I32], body: [...i32c(0), ...i32c(5), 0x10, 0x00, ...i32c(0)] }],
    });
    const chain = await new SmartEngine().buildChain([{ wasm, name: 'both' }]);
    assert.equal(chain.modules()[0].transform, 'filter');
    assert.equal(chain.process(recs('x'), { baseOffset: 0 }).error, undefined);
  });
});

describe('failures while processing', () => {
  it('an error status ends the batch with the module name and batch offset; the chain stays usable', async () => {
    // as Fluvio: a 2022-era module's -11 on a timestamped v25 input (eras.test.ts has the fallback)
    const engine = new SmartEngine({ eraFallback: false });
    const chain = await engine.buildChain([
      { wasm: mods['filter-template'], name: 'logs', version: 25, params: { key: 'a' } },
    ]);
    const out = chain.process(recs('{"level":"info","message":"a"}'), { baseOffset: 40, baseTimestamp: 1_700_000_000_000 });
    assert.equal(out.error?.kind, 'status');
    assert.equal(out.error?.offset, 40);
    assert.equal(out.error?.moduleName, 'logs');
    assert.equal(out.error?.fluvioError.code, 2);
    assert.match(out.error?.fluvioError.message ?? '', /^SmartModule err SmartModule "logs" returned -11 \(DecodingBaseInput/);
    // base_timestamp 0 decodes fine for this old SDK (smartmodule-abi.md §4)
    const again = chain.process(recs('{"level":"info","message":"a"}'), { baseOffset: 41, baseTimestamp: 0 });
    assert.equal(again.error, undefined);
    assert.equal(again.records.length, 1);
  });

  it('a trap (panic) ends the chain; every later batch gets the error', async () => {
    const engine = new SmartEngine();
    const chain = await engine.buildChain([{ wasm: unreachable, name: 'panicky' }]);
    const out = chain.process(recs('a'), { baseOffset: 5 });
    assert.equal(out.error?.kind, 'trap');
    assert.match(out.error?.message ?? '', /SmartModule "panicky" trapped in filter for the batch at base offset 5: RuntimeError: unreachable/);
    assert.equal(out.error?.fluvioError.code, 2);
    const later = chain.process(recs('b'), { baseOffset: 6 });
    assert.equal(later.error?.kind, 'closed');
    assert.equal(later.error?.offset, 6);
    assert.match(later.error?.message ?? '', /unusable after an earlier failure.*unreachable/);
    assert.equal(engine.stats().memoryInUseBytes, 0, 'the dead instance memory is released');
  });

  it('an infinite loop runs out of fuel, and other chains go on', async () => {
    const engine = new SmartEngine({ limits: { fuel: 5_000_000 } });
    const good = await engine.buildChain([{ wasm: mods['filter-on-a'], name: 'on-a' }]);
    const bad = await engine.buildChain([{ wasm: runaway, name: 'spinner' }]);
    const started = performance.now();
    const out = bad.process(recs('a'), { baseOffset: 100 });
    const ms = performance.now() - started;
    assert.equal(out.error?.kind, 'fuel');
    assert.equal(out.error?.offset, 100);
    assert.match(out.error?.message ?? '', /SmartModule "spinner" ran out of fuel in filter for the batch at base offset 100 \(limit 5000000/);
    assert.ok(ms < 2000, `stopped in ${ms} ms`);
    const fine = good.process(recs('cat', 'dog'), { baseOffset: 0 });
    assert.equal(fine.error, undefined);
    assert.deepEqual(fine.records.map((r) => r.value.toString()), ['cat']);
    assert.equal(engine.stats().liveChains, 2);
    bad.close();
    good.close();
    assert.equal(engine.stats().liveChains, 0);
  });

  it('a real module over a tight fuel limit is stopped too', async () => {
    const engine = new SmartEngine({ limits: { fuel: 2_000 } });
    const chain = await engine.buildChain([{ wasm: mods['map-upper'], name: 'upper' }]);
    const out = chain.process(recs(...Array.from({ length: 200 }, (_, i) => `value ${i}`)), { baseOffset: 0 });
    assert.equal(out.error?.kind, 'fuel');
  });

  it('per-chain limits override the engine limits', async () => {
    const engine = new SmartEngine({ limits: { fuel: 2_000 } });
    const chain = await engine.buildChain([{ wasm: mods['map-upper'], name: 'upper' }], { limits: { fuel: 50_000_000 } });
    const out = chain.process(recs(...Array.from({ length: 200 }, (_, i) => `value ${i}`)), { baseOffset: 0 });
    assert.equal(out.error, undefined);
    assert.equal(out.records.length, 200);
    const fuel = chain.modules()[0].fuelUsed;
    assert.ok(fuel > 2_000 && fuel < 50_000_000, `fuel used ${fuel}`);
  });

  it('memory growth inside one call stops at the instance limit with SmartModuleMemoryLimitExceeded', async () => {
    const engine = new SmartEngine({ limits: { maxMemoryBytes: 4 * 1024 * 1024 } });
    const chain = await engine.buildChain([{ wasm: grower, name: 'hog' }]);
    const out = chain.process(recs('a'), { baseOffset: 9 });
    assert.equal(out.error?.kind, 'memory');
    assert.equal(out.error?.offset, 9);
    assert.deepEqual(out.error?.fluvioError, { code: 6008, requested: 65 * 65536, max: 4 * 1024 * 1024 });
    assert.match(out.error?.message ?? '', /SmartModule "hog" asked for 4259840 bytes of memory in filter for the batch at base offset 9, above its memory limit of 4194304 bytes/);
    assert.equal(engine.stats().memoryInUseBytes, 0);
  });

  it('a module that leaks across calls fails its own stream at the limit', async () => {
    const engine = new SmartEngine({ limits: { maxMemoryBytes: 16 * 65536 } });
    const leaky = await engine.buildChain([{ wasm: leaker, name: 'leaky' }]);
    const other = await engine.buildChain([{ wasm: ok, name: 'ok' }]);
    let calls = 0;
    let out = leaky.process(recs('a'), { baseOffset: 0 });
    while (out.error === undefined && calls < 100) {
      calls++;
      out = leaky.process(recs('a'), { baseOffset: calls });
    }
    assert.equal(calls, 15, 'one page per call from 1 to 16 pages');
    assert.equal(out.error?.kind, 'memory');
    assert.equal(out.error?.fluvioError.code, 6008);
    assert.equal(other.process(recs('b'), { baseOffset: 0 }).error, undefined);
  });

  it('a real module leaking its outputs (as every Rust SDK module does) hits the limit too; the same module freeing them does not', async () => {
    const engine = new SmartEngine({ limits: { maxMemoryBytes: 3 * 1024 * 1024 } });
    const chain = await engine.buildChain([{ wasm: mods['map-upper-leaky'], name: 'leaky-map' }]);
    const batch = recs(...Array.from({ length: 100 }, () => 'x'.repeat(1000)));
    let n = 0;
    let out = chain.process(batch, { baseOffset: 0 });
    while (out.error === undefined && n < 200) {
      n++;
      out = chain.process(batch, { baseOffset: n * 100 });
    }
    assert.equal(out.error?.kind, 'memory', `after ${n} batches`);
    assert.ok(n > 5 && n < 100, `failed after ${n} batches`);
    assert.equal(out.error?.offset, n * 100);
    assert.equal(out.error?.fluvioError.code, 6008);

    const tidy = await engine.buildChain([{ wasm: mods['map-upper'], name: 'map' }]);
    for (let i = 0; i < 200; i++) assert.equal(tidy.process(batch, { baseOffset: i * 100 }).error, undefined);
    assert.ok(tidy.modules()[0].memoryBytes < 1024 * 1024, `${tidy.modules()[0].memoryBytes} bytes after 200 batches`);
  });

  it('the engine-wide memory budget bounds all instances together', async () => {
    const engine = new SmartEngine({ limits: { maxMemoryBytes: 64 * 65536, maxTotalMemoryBytes: 40 * 65536 } });
    const a = await engine.buildChain([{ wasm: leaker, name: 'a' }]);
    const b = await engine.buildChain([{ wasm: leaker, name: 'b' }]);
    for (let i = 0; i < 30; i++) assert.equal(a.process(recs('x'), { baseOffset: i }).error, undefined);
    assert.equal(engine.stats().memoryInUseBytes, (31 + 1) * 65536);
    let i = 0;
    let out = b.process(recs('x'), { baseOffset: 0 });
    while (out.error === undefined && i < 100) out = b.process(recs('x'), { baseOffset: ++i });
    assert.equal(out.error?.kind, 'memory');
    assert.match(out.error?.message ?? '', /engine's total memory budget/);
    assert.equal(engine.stats().memoryInUseBytes, 31 * 65536, 'b released');
    a.close();
    assert.equal(engine.stats().memoryInUseBytes, 0);
  });

  it('a module whose initial memory is above the limit is refused at build (6008)', async () => {
    const engine = new SmartEngine({ limits: { maxMemoryBytes: 65536 } });
    const err = await buildError(engine, syntheticModule({ body: [...i32c(0)], pages: 2 }));
    assert.equal(err.kind, 'memory');
    assert.deepEqual(err.fluvioError, { code: 6008, requested: 131072, max: 65536 });
  });

  it('a trap in init fails the build with 6005', async () => {
    const wasm = syntheticModule({
      body: [...i32c(0)],
      extraFuncs: [{ export: 'init', params: [I32, I32, I32], results: [I32], body: [0x00] }],
    });
    const engine = new SmartEngine();
    const err = await buildError(engine, wasm, 'bad-init');
    assert.equal(err.kind, 'trap');
    assert.equal(err.fluvioError.code, 6005);
    assert.match(err.message, /SmartModule "bad-init" trapped in init/);
    assert.equal(engine.stats().liveInstances, 0);
    assert.equal(engine.stats().memoryInUseBytes, 0);
  });

  it('an undecodable output is an error naming the module', async () => {
    // copy_records(0, 3): 3 bytes cannot hold a record count
    const wasm = syntheticModule({ body: [...i32c(0), ...i32c(3), 0x10, 0x00, ...i32c(0)] });
    const chain = await new SmartEngine().buildChain([{ wasm, name: 'garbage' }]);
    const out = chain.process(recs('a'), { baseOffset: 3 });
    assert.equal(out.error?.kind, 'output');
    assert.match(out.error?.message ?? '', /SmartModule "garbage": cannot decode the output of filter/);
  });

  it('a transform that never calls copy_records gives a decode error (as in Fluvio)', async () => {
    const chain = await new SmartEngine().buildChain([{ wasm: syntheticModule({ body: [...i32c(0)] }), name: 'silent' }]);
    assert.equal(chain.process(recs('a'), { baseOffset: 0 }).error?.kind, 'output');
  });

  it('a hard failure in the middle of a chain returns no records', async () => {
    const engine = new SmartEngine();
    const chain = await engine.buildChain([
      { wasm: mods['map-upper'], name: 'upper' },
      { wasm: unreachable, name: 'boom' },
      { wasm: mods['map-upper'], name: 'upper2' },
    ]);
    const out = chain.process(recs('a', 'b'), { baseOffset: 0 });
    assert.equal(out.records.length, 0);
    assert.equal(out.error?.moduleName, 'boom');
    assert.equal(out.error?.moduleIndex, 1);
    assert.equal(chain.modules()[2].calls, 0);
  });
});
