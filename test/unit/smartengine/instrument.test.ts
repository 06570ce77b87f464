// The binary rewriter on its own: every module we build still validates
// after metering (our AssemblyScript modules, the reference filter, and
// synthetic ones, one of them with the layout features of a Rust build:
// table, element segment, call_indirect, start function, immutable exported
// globals, bulk memory, br_table, a name section), odd layouts (no global
// section) work, and bulk memory operations are charged by size.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SmartEngine } from '../../../src/smartengine/index.js';
import { FUEL_EXPORT, instrument, InstrumentError } from '../../../src/smartengine/instrument.js';
import { AS_MODULES, asModules } from './asc.js';
import { buildWasm, cannedModule, customSection, hex, I32, i32c, noImportModule, recs, tracer } from './helpers.js';

const built = await asModules([...AS_MODULES, 'assemblyscript-filter']);

/** A module laid out like a Rust build: table + elem + call_indirect, start, immutable exported globals, bulk memory, br_table, names. */
function rustLikeLayout(): Buffer<ArrayBuffer> {
  return buildWasm({
    imports: [['env', 'copy_records', [I32, I32], []]],
    memoryPages: 17,
    globals: [
      { name: null, mutable: true, value: 1048576 }, // __stack_pointer
      { name: '__data_end', mutable: false, value: 1048576 },
      { name: '__heap_base', mutable: false, value: 1048576 },
    ],
    funcs: [
      { export: 'alloc', params: [I32], results: [I32], body: [...i32c(1024)] }, // 1
      {
        export: 'filter', // 2
        params: [I32, I32, I32],
        results: [I32],
        body: [
          ...i32c(2048), ...i32c(0), ...i32c(5), 0xfc, 0x0b, 0x00, // memory.fill
          ...i32c(3072), ...i32c(2048), ...i32c(5), 0xfc, 0x0a, 0x00, 0x00, // memory.copy
          0x02, 0x40, 0x02, 0x40, 0x20, 0x02, ...i32c(3), 0x71, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b, 0x0b, // br_table
          ...i32c(3072), ...i32c(5), 0x10, 0x00, // copy_records(3072, 5)
          0x23, 0x00, ...i32c(65513), 0x6b, // __stack_pointer - 65513: 7 once the start function ran
          0x20, 0x02, ...i32c(1), 0x71, 0x11, 0x01, 0x00, // call_indirect (i32 -> i32) table[version & 1]
        ],
      },
      { params: [I32], results: [I32], body: [0x20, 0x00, ...i32c(1), 0x6a] }, // 3: x + 1
      { params: [I32], results: [I32], body: [0x20, 0x00, ...i32c(2), 0x6c] }, // 4: x * 2
      { params: [], results: [], body: [...i32c(65520), 0x24, 0x00] }, // 5: start
    ],
    sections: [
      [4, [0x01, 0x70, 0x00, 0x02]], // table: 2 funcrefs
      [8, [0x05]], // start: function 5
      [9, [0x01, 0x00, ...i32c(0), 0x0b, 0x02, 0x03, 0x04]], // elem: table[0..2] = [3, 4]
      customSection('name', [0x00, 0x06, 0x05, ...Buffer.from('rusty')]),
    ],
  });
}

describe('instrument', () => {
  const modules: [string, Buffer<ArrayBuffer>][] = [
    ...Object.entries(built),
    ['canned', cannedModule({ transform: 'aggregate', init: { rc: 0, output: Buffer.alloc(0) }, calls: [{ rc: 0, output: Buffer.alloc(9) }] })],
    ['no-import', noImportModule()],
    ['rust-like-layout', rustLikeLayout()],
  ];

  for (const [name, wasm] of modules) {
    it(`${name}: still valid, same imports, exports plus the fuel globals`, () => {
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

  it('the Rust-like layout runs metered: start function, element segment and call_indirect intact', async () => {
    const t = tracer();
    const chain = await new SmartEngine({ trace: t.hook }).buildChain([{ wasm: rustLikeLayout(), name: 'rusty', version: 22 }]);
    assert.equal(chain.process(recs('a'), { baseOffset: 0 }).error, undefined);
    assert.equal(t.calls[0].rc, 8, 'start ran (7), then table[22 & 1] = x + 1');
    assert.equal(hex(t.calls[0].output), '0000000000');
    assert.ok(chain.modules()[0].fuelUsed > 0);
    const odd = await new SmartEngine({ trace: t.hook }).buildChain([{ wasm: rustLikeLayout(), name: 'rusty', version: 23 }]);
    odd.process(recs('a'), { baseOffset: 0 });
    assert.equal(t.calls[1].rc, 14, 'table[23 & 1] = x * 2');
  });

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
