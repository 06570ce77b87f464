// Engine behaviour beyond the vectors: compile cache, instance reuse, WASI
// modules, look-back, wire invocations and stored batches. The modules are
// our AssemblyScript ones (test/fixtures/smartmodules, built at test time by
// asc.ts) and synthetic ones (helpers.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Compression, encodeBatch } from '../../../src/protocol/record-batch.js';
import type { SmartModuleInvocation } from '../../../src/protocol/messages/smartmodule-invocation.js';
import {
  DEFAULT_SMARTENGINE_VERSION,
  encodeRecords,
  invocationsToConfigs,
  processStoredBatch,
  SmartEngine,
  SmartModuleError,
  wasmFromPayload,
} from '../../../src/smartengine/index.js';
import { asModules } from './asc.js';
import { hex, I32, i32c, loadVectors, notWasm, recs, syntheticModule, tracer, vectorInputRecords, type VectorFile } from './helpers.js';

const mods = await asModules(['map-upper', 'filter-on-a', 'filter-map', 'filter-param', 'aggregate-concat', 'array-map', 'wasi-filter', 'lookback-filter']);

describe('compile cache and instance reuse', () => {
  it('a module is compiled once and cached by content hash', async () => {
    const engine = new SmartEngine();
    const wasm = mods['map-upper'];
    const a = await engine.buildChain([{ wasm, name: 'first' }]);
    assert.deepEqual([engine.stats().compiles, engine.stats().cacheHits], [1, 0]);
    const b = await engine.buildChain([{ wasm: Buffer.from(wasm), name: 'second' }]); // same bytes, another buffer and name
    assert.deepEqual([engine.stats().compiles, engine.stats().cacheHits], [1, 1]);
    const [c, d] = await Promise.all([
      engine.buildChain([{ wasm, name: 'x' }]),
      engine.buildChain([{ wasm: mods['filter-on-a'], name: 'y' }]),
    ]);
    assert.deepEqual([engine.stats().compiles, engine.stats().cacheHits, engine.stats().cachedModules], [2, 2, 2]);
    assert.equal(a.modules()[0].sha256, b.modules()[0].sha256);
    for (const chain of [a, b, c, d]) chain.close();
    assert.equal(engine.stats().liveInstances, 0);
  });

  it('a second build of a cached module is much faster than the first', async () => {
    const engine = new SmartEngine();
    const wasm = mods['array-map'];
    let t = performance.now();
    (await engine.buildChain([{ wasm, name: 'cold' }])).close();
    const cold = performance.now() - t;
    t = performance.now();
    (await engine.buildChain([{ wasm, name: 'warm' }])).close();
    const warm = performance.now() - t;
    assert.ok(warm < cold, `warm ${warm.toFixed(2)} ms vs cold ${cold.toFixed(2)} ms`);
  });

  it('the cache is bounded (least recently used goes first)', async () => {
    const engine = new SmartEngine({ cacheSize: 2 });
    const three = [mods['map-upper'], mods['filter-on-a'], mods['filter-map']];
    for (const wasm of three) (await engine.buildChain([{ wasm, name: 'm' }])).close();
    assert.equal(engine.stats().cachedModules, 2);
    (await engine.buildChain([{ wasm: three[0], name: 'm' }])).close();
    assert.equal(engine.stats().compiles, 4, 'the evicted module is compiled again');
  });

  it('a failed compilation is not cached', async () => {
    const engine = new SmartEngine();
    const bad = notWasm();
    await assert.rejects(engine.buildChain([{ wasm: bad, name: 'a' }]), SmartModuleError);
    await assert.rejects(engine.buildChain([{ wasm: bad, name: 'b' }]), /SmartModule "b": invalid wasm/);
    assert.equal(engine.stats().cachedModules, 0);
  });

  it('one instance serves every batch of a chain (init once, its state kept)', async () => {
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook });
    const chain = await engine.buildChain([{ wasm: mods['filter-param'], name: 'f', params: { key: 'an' } }]);
    for (let i = 0; i < 5; i++) {
      const out = chain.process(recs('apple', 'banana'), { baseOffset: i * 2 });
      assert.deepEqual(out.records.map((r) => r.value.toString()), ['banana']);
    }
    assert.equal(engine.stats().instancesCreated, 1);
    assert.deepEqual(
      t.calls.map((c) => c.fn),
      ['init', 'filter', 'filter', 'filter', 'filter', 'filter'],
    );
    assert.equal(chain.modules()[0].calls, 6);
    chain.close();
    assert.equal(engine.stats().liveInstances, 0);
    assert.equal(chain.process(recs('x'), { baseOffset: 0 }).error?.kind, 'closed');
  });

  it('aggregate state lives per chain', async () => {
    const engine = new SmartEngine();
    const wasm = mods['aggregate-concat'];
    const a = await engine.buildChain([{ wasm, name: 'a', accumulator: Buffer.from('A') }]);
    const b = await engine.buildChain([{ wasm, name: 'b' }]);
    a.process(recs('1'), { baseOffset: 0 });
    b.process(recs('x'), { baseOffset: 0 });
    const outA = a.process(recs('2'), { baseOffset: 1 });
    const outB = b.process(recs('y'), { baseOffset: 1 });
    assert.equal(outA.records[0].value.toString(), 'A12');
    assert.equal(outB.records[0].value.toString(), 'xy');
  });
});

describe('WASI modules', () => {
  it('an AssemblyScript module with WASI imports filters like its plain twin, byte for byte, and writes to stderr', async () => {
    const vectors = loadVectors<VectorFile>('py-filter-on-a.json');
    const written: [number, string][] = [];
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook, wasiOutput: (fd, bytes) => written.push([fd, bytes.toString()]) });
    const wasm = mods['wasi-filter'];
    const compiled = await engine.compile(wasm);
    assert.deepEqual([...compiled.wasiImports].sort(), ['environ_sizes_get', 'fd_write', 'proc_exit']);
    for (const name of ['v22', 'v23']) {
      const v = vectors.vectors.find((x) => x.name === name);
      assert.ok(v?.decoded?.input);
      const chain = await engine.buildChain([{ wasm, name: 'wasi', version: v.version }]);
      const out = chain.process(vectorInputRecords(v, false), {
        baseOffset: Number(v.decoded.input.baseOffset),
        baseTimestamp: Number(v.decoded.input.baseTimestamp),
      });
      assert.equal(out.error, undefined);
      const call = t.calls[t.calls.length - 1];
      assert.equal(hex(call.input), v.input_hex);
      assert.equal(hex(call.output), v.output_hex);
      chain.close();
    }
    // fd_write reached the configured output; environ_sizes_get reports no environment
    assert.deepEqual(written, [
      [2, 'wasi-filter: kept 2 of 3 records; 0 environment variables\n'],
      [2, 'wasi-filter: kept 2 of 3 records; 0 environment variables\n'],
    ]);
    // proc_exit ends the call (and the chain) as a trap naming the module and the batch
    const chain = await engine.buildChain([{ wasm, name: 'wasi' }]);
    const out = chain.process(recs('cat', 'exit'), { baseOffset: 30 });
    assert.equal(out.error?.kind, 'trap');
    assert.match(out.error?.message ?? '', /SmartModule "wasi" trapped in filter for the batch at base offset 30: module called proc_exit\(3\)/);
    assert.equal(chain.process(recs('cat'), { baseOffset: 31 }).error?.kind, 'closed');
    assert.equal(written.length, 2);
  });

  it('fd_write reaches the configured output; proc_exit ends the call', async () => {
    const written: [number, string][] = [];
    const engine = new SmartEngine({ wasiOutput: (fd, bytes) => written.push([fd, bytes.toString()]) });
    // data at 0: iovec {ptr 16, len 5}; at 16: "hello"; output bytes (5 zeros) at 32
    const data: [number, Buffer][] = [
      [0, Buffer.from([16, 0, 0, 0, 5, 0, 0, 0])],
      [16, Buffer.from('hello')],
    ];
    const imports: [string, string, number[], number[]][] = [
      ['wasi_snapshot_preview1', 'fd_write', [I32, I32, I32, I32], [I32]],
      ['wasi_snapshot_preview1', 'proc_exit', [I32], []],
    ];
    // fd_write(2, 0, 1, 8); drop; copy_records(32, 5); 0
    const body = [...i32c(2), ...i32c(0), ...i32c(1), ...i32c(8), 0x10, 0x01, 0x1a, ...i32c(32), ...i32c(5), 0x10, 0x00, ...i32c(0)];
    const chain = await engine.buildChain([{ wasm: syntheticModule({ body, data, imports }), name: 'printer' }]);
    assert.equal(chain.process(recs('a'), { baseOffset: 0 }).error, undefined);
    assert.deepEqual(written, [[2, 'hello']]);

    const exiting = syntheticModule({ body: [...i32c(3), 0x10, 0x02, ...i32c(0)], imports });
    const chain2 = await engine.buildChain([{ wasm: exiting, name: 'quitter' }]);
    const out = chain2.process(recs('a'), { baseOffset: 12 });
    assert.equal(out.error?.kind, 'trap');
    assert.match(out.error?.message ?? '', /SmartModule "quitter" trapped in filter for the batch at base offset 12: module called proc_exit\(3\)/);
  });
});

describe('look-back', () => {
  const wasm = mods['lookback-filter'];

  it('feeds the records to look_back once per module before the first batch; the state carries over', async () => {
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook });
    const chain = await engine.buildChain([
      { wasm, name: 'lb', lookback: { last: 3 }, version: 23 },
      { wasm: mods['map-upper'], name: 'no-lookback-export', lookback: { last: 5 } },
    ]);
    assert.equal(chain.needsLookBack, true);
    assert.deepEqual(chain.modules()[0].lookback, { last: 3 });
    assert.equal(chain.modules()[1].lookback, undefined, 'no look_back export, nothing to feed');
    const asked: string[] = [];
    await chain.lookBack((lookback, module) => {
      asked.push(`${module.name}:${lookback.last}`);
      return recs('5', '42', '7');
    });
    assert.deepEqual(asked, ['lb:3']);
    const lb = t.calls.find((c) => c.fn === 'look_back');
    assert.ok(lb);
    // SmartModuleInput at v23: base_offset 0, the records, base_timestamp 0
    assert.equal(hex(lb.input), hex(Buffer.concat([Buffer.alloc(8), u32(encodeRecords(recs('5', '42', '7')).length), encodeRecords(recs('5', '42', '7')), Buffer.alloc(8)])));
    const out = chain.process(recs('10', '43', '100', '42'), { baseOffset: 50 });
    assert.deepEqual(out.records.map((r) => r.value.toString()), ['43', '100']);
  });

  it('a look_back error carries 6007 with the module, the hint and the record offset', async () => {
    const engine = new SmartEngine();
    const chain = await engine.buildChain([{ wasm, name: 'lb', lookback: { last: 3 } }]);
    await assert.rejects(
      chain.lookBack(() => [
        { ...recs('1')[0], offsetDelta: 0 },
        { ...recs('fail')[0], offsetDelta: 1 },
      ]),
      (err: unknown) => {
        assert.ok(err instanceof SmartModuleError);
        assert.equal(err.kind, 'lookback');
        assert.equal(err.offset, 1);
        assert.equal(err.fluvioError.code, 6007);
        assert.match(err.fluvioError.message ?? '', /SmartModule "lb": look_back failed on the record at offset 1: bad record/);
        return true;
      },
    );
  });

  it('init sees the lookback in its params unless told otherwise', async () => {
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook });
    const filterParam = mods['filter-param'];
    await engine.buildChain([{ wasm: filterParam, name: 'a', params: { key: 'fru' }, lookback: { last: 10, age: { seconds: 3600, nanos: 0 } } }]);
    const vectors = loadVectors<VectorFile>('py-filter-param.json');
    const initVector = vectors.vectors.find((v) => v.name === 'init-with-lookback-v22/init');
    assert.equal(hex(t.calls[0].input), initVector?.input_hex);
    await engine.buildChain([{ wasm: filterParam, name: 'b', params: { key: 'fru' }, lookback: { last: 10 }, lookbackInInit: false }]);
    assert.equal(hex(t.calls[1].input), '000100036b65790003667275' + '00');
  });
});

describe('wire invocations', () => {
  const mapWasm = mods['map-upper'];
  const aggWasm = mods['aggregate-concat'];

  it('AdHoc (gzipped), Predefined (looked up), kinds, params, accumulator and version', async () => {
    const invocations: SmartModuleInvocation[] = [
      { wasm: { type: 'Predefined', name: 'upper' }, kind: { type: 'Map' }, params: { params: new Map([['k', 'v']]), lookback: { last: 2 } } },
      {
        wasm: { type: 'AdHoc', payload: gzipSync(aggWasm) },
        kind: { type: 'Generic', context: { type: 'Aggregate', accumulator: Buffer.from('acc:') } },
        params: { params: new Map() },
      },
    ];
    const configs = await invocationsToConfigs(invocations, {
      version: 23,
      lookup: async (name) => (name === 'upper' ? gzipSync(mapWasm) : undefined),
    });
    assert.equal(configs[0].name, 'upper');
    assert.equal(configs[0].kind, 'map');
    assert.equal(configs[0].version, 23);
    assert.deepEqual(configs[0].lookback, { last: 2 });
    assert.equal(Buffer.compare(Buffer.from(configs[0].wasm), mapWasm), 0);
    assert.equal(configs[1].name, 'ad-hoc #1');
    assert.equal(configs[1].kind, 'generic');
    assert.equal(configs[1].accumulator?.toString(), 'acc:');
    const engine = new SmartEngine();
    const chain = await engine.buildChain(configs);
    const out = chain.process(recs('a', 'b'), { baseOffset: 0 });
    assert.deepEqual(out.records.map((r) => r.value.toString()), ['acc:A', 'acc:AB']);
  });

  it('Aggregate kind gives the accumulator; raw wasm payloads are accepted', async () => {
    const configs = await invocationsToConfigs(
      [{ wasm: { type: 'AdHoc', payload: aggWasm }, kind: { type: 'Aggregate', accumulator: Buffer.from('0') }, params: { params: new Map() } }],
      { version: DEFAULT_SMARTENGINE_VERSION },
    );
    assert.equal(configs[0].accumulator?.toString(), '0');
  });

  it('unknown Predefined name → 6001; payload neither gzip nor wasm → 6002', async () => {
    await assert.rejects(
      invocationsToConfigs([{ wasm: { type: 'Predefined', name: 'nope' }, kind: { type: 'Filter' }, params: { params: new Map() } }], {
        version: 23,
        lookup: () => undefined,
      }),
      (err: unknown) => err instanceof SmartModuleError && err.kind === 'not-found' && err.fluvioError.code === 6001 && err.fluvioError.name === 'nope',
    );
    assert.throws(
      () => wasmFromPayload(Buffer.from('hello'), undefined),
      (err: unknown) => err instanceof SmartModuleError && err.fluvioError.code === 6002 && /neither gzip nor wasm/.test(err.message),
    );
    assert.throws(
      () => wasmFromPayload(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'broken'),
      (err: unknown) => err instanceof SmartModuleError && err.fluvioError.code === 6002 && err.fluvioError.name === 'broken',
    );
  });
});

describe('stored batches', () => {
  it('a stored batch (gzip) goes in as its decompressed records section, base offset and first timestamp', async () => {
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook });
    const chain = await engine.buildChain([{ wasm: mods['map-upper'], name: 'upper', version: 23 }]);
    const batch = encodeBatch(
      [{ value: Buffer.from('one') }, { key: Buffer.from('k'), value: Buffer.from('two'), timestampDelta: 5 }],
      { baseOffset: 1000, firstTimestamp: 1_700_000_000_000, compression: Compression.Gzip },
    );
    const out = processStoredBatch(chain, batch);
    assert.deepEqual(
      out.records.map((r) => [r.offsetDelta, r.timestampDelta, r.key?.toString() ?? null, r.value.toString()]),
      [
        [0, 0, null, 'ONE'],
        [1, 5, 'k', 'TWO'],
      ],
    );
    assert.equal(out.baseOffset, 1000);
    const input = t.calls[0].input;
    assert.equal(Number(input.readBigInt64BE(0)), 1000);
    assert.equal(Number(input.readBigInt64BE(input.length - 8)), 1_700_000_000_000);
  });
});

describe('parallel use', () => {
  it('many chains of the same module run side by side', async () => {
    const engine = new SmartEngine();
    const wasm = mods['filter-on-a'];
    const chains = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.buildChain([{ wasm, name: `c${i}` }])));
    assert.equal(engine.stats().compiles, 1);
    for (const [i, chain] of chains.entries()) {
      assert.deepEqual(chain.process(recs('cat', 'dog', `a${i}`), { baseOffset: i }).records.map((r) => r.value.toString()), ['cat', `a${i}`]);
    }
    engine.close();
    assert.equal(engine.stats().liveChains, 0);
    assert.equal(engine.stats().memoryInUseBytes, 0);
  });
});

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
