// The binary rewriter on its own: every real module still validates after
// metering, odd layouts (no global section) work, and bulk memory operations
// are charged by size.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SmartEngine } from '../../../src/smartengine/index.js';
import { FUEL_EXPORT, instrument, InstrumentError } from '../../../src/smartengine/instrument.js';
import { buildWasm, fixturesDir, I32, i32c, loadWasm, recs } from './helpers.js';

describe('instrument', () => {
  const valid = readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => f.replace(/\.wasm$/, ''))
    .filter((name) => WebAssembly.validate(loadWasm(name)));

  for (const name of valid) {
    it(`${name}: still valid, same imports, exports plus the fuel globals`, () => {
      const wasm = loadWasm(name);
      const out = instrument(wasm);
      assert.ok(WebAssembly.validate(out.bytes as Uint8Array<ArrayBuffer>));
      const before = new WebAssembly.Module(wasm);
      const after = new WebAssembly.Module(out.bytes as Uint8Array<ArrayBuffer>);
      assert.deepEqual(WebAssembly.Module.imports(after), WebAssembly.Module.imports(before));
      const names = WebAssembly.Module.exports(after).map((e) => e.name);
      for (const e of WebAssembly.Module.exports(before)) assert.ok(names.includes(e.name));
      assert.ok(names.includes(FUEL_EXPORT));
    });
  }

  it('refuses what is not wasm', () => {
    assert.throws(() => instrument(Buffer.from('not wasm at all')), InstrumentError);
  });

  it('a module without a global section gets one, in the right place', async () => {
    // alloc returns a constant; filter loops forever; no globals at all
    const wasm = buildWasm({
      imports: [['env', 'copy_records', [I32, I32], []]],
      memoryPages: 1,
      funcs: [
        { export: 'alloc', params: [I32], results: [I32], body: [...i32c(1024)] },
        { export: 'filter', params: [I32, I32, I32], results: [I32], body: [0x03, 0x40, 0x0c, 0x00, 0x0b, ...i32c(0)] },
      ],
    });
    const chain = await new SmartEngine({ limits: { fuel: 100_000 } }).buildChain([{ wasm, name: 'no-globals' }]);
    assert.equal(chain.process(recs('a'), { baseOffset: 0 }).error?.kind, 'fuel');
  });

  it('memory.fill is charged by size: a loop of large fills runs out of fuel sooner than its iteration count', async () => {
    // loop 1000 times: memory.fill(0, 0, 65536); then copy_records over 5 zero bytes
    const body = [
      0x03, 0x40,
      ...i32c(0), ...i32c(0), ...i32c(65536), 0xfc, 0x0b, 0x00, // memory.fill
      0x20, 0x03, ...i32c(1), 0x6a, 0x22, 0x03, ...i32c(1000), 0x48, 0x0d, 0x00, // i++ < 1000 → br 0
      0x0b,
      ...i32c(0), ...i32c(5), 0x10, 0x00, ...i32c(0),
    ];
    const wasm = buildWasm({
      imports: [['env', 'copy_records', [I32, I32], []]],
      memoryPages: 1,
      funcs: [
        { export: 'alloc', params: [I32], results: [I32], body: [...i32c(1024)] },
        { export: 'filter', params: [I32, I32, I32], results: [I32], locals: [I32], body },
      ],
    });
    // 1000 iterations cost ~1000 without size charging; with it, 1000 × 65536/64 ≈ 1,000,000
    const engine = new SmartEngine({ limits: { fuel: 100_000 } });
    const out = (await engine.buildChain([{ wasm, name: 'filler' }])).process(recs('a'), { baseOffset: 0 });
    assert.equal(out.error?.kind, 'fuel');
    const roomy = await new SmartEngine({ limits: { fuel: 2_000_000 } }).buildChain([{ wasm, name: 'filler' }]);
    assert.equal(roomy.process(recs('a'), { baseOffset: 0 }).error, undefined);
    assert.ok(roomy.modules()[0].fuelUsed > 1_000_000);
  });
});
