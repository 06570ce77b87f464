// Chains from ../shared/reference/smartmodule-vectors/chains.json, hop by
// hop: every wasm call of every module (input bytes, rc, output bytes) and
// the chain's result, including the partial output when a module in the
// middle fails. Each chain runs twice:
//
// - on canned modules (helpers.ts) returning the recorded outputs: the
//   chain logic alone (what module i+1 gets from module i, with the
//   original base offset and timestamp; the accumulator carried; where the
//   chain stops);
// - on our AssemblyScript twins of the recorded modules: real modules,
//   which must reproduce each recorded call byte for byte.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecords, SmartEngine, type ChainModuleConfig } from '../../../src/smartengine/index.js';
import { asModules, type AsModuleName } from './asc.js';
import { cannedModule, decodeInitInput, decodeInput, hex, loadVectors, recordView, recs, tracer, type DecodedOutput } from './helpers.js';

interface ChainCall {
  fn: string;
  version: number;
  input: string;
  rc: number;
  output: string;
}

interface ChainVector {
  name: string;
  expectation: string;
  results: DecodedOutput[];
  calls: Record<string, ChainCall[]>;
}

/** The twin of the module each chain used for a transform (py-filter-param, py-aggregate, py-map, py-filter-map). */
const TWIN_BY_FN: Record<string, AsModuleName> = {
  filter: 'filter-param',
  aggregate: 'aggregate-concat',
  map: 'map-upper',
  filter_map: 'filter-map',
};

const twins = await asModules(Object.values(TWIN_BY_FN));

function canned(fn: string, calls: ChainCall[]): Buffer {
  const call = (c: ChainCall) => ({ rc: c.rc, output: Buffer.from(c.output, 'hex') });
  const init = calls.find((c) => c.fn === 'init');
  return cannedModule({ transform: fn, ...(init ? { init: call(init) } : {}), calls: calls.filter((c) => c.fn !== 'init').map(call) });
}

async function runChain(vector: ChainVector, modules: 'canned' | 'twins'): Promise<void> {
  const t = tracer();
  const engine = new SmartEngine({ trace: t.hook });
  const fns = Object.keys(vector.calls);
  const configs: ChainModuleConfig[] = fns.map((fn) => {
    const calls = vector.calls[fn];
    const wasm = modules === 'canned' ? canned(fn, calls) : twins[TWIN_BY_FN[fn]];
    const cfg: ChainModuleConfig = { wasm, name: `${fn}-module`, version: 22 };
    const init = calls.find((c) => c.fn === 'init');
    if (init) cfg.params = decodeInitInput(Buffer.from(init.input, 'hex'), init.version).params;
    const agg = calls.find((c) => c.fn === 'aggregate');
    if (agg) cfg.accumulator = decodeInput(Buffer.from(agg.input, 'hex'), agg.version, true).accumulator;
    return cfg;
  });
  const chain = await engine.buildChain(configs);

  const firstInputs = vector.calls[fns[0]].filter((c) => c.fn !== 'init');
  assert.equal(firstInputs.length, vector.results.length);
  const outputs = firstInputs.map((call) => {
    const input = decodeInput(Buffer.from(call.input, 'hex'), call.version, call.fn === 'aggregate');
    return chain.process(input.raw, { baseOffset: input.baseOffset, baseTimestamp: input.baseTimestamp });
  });

  // Every wasm call, per module, byte for byte and in order.
  for (const [i, fn] of fns.entries()) {
    const got = t.calls.filter((c) => c.index === i);
    const want = vector.calls[fn];
    assert.equal(got.length, want.length, `${fn}: number of calls`);
    got.forEach((c, k) => {
      assert.equal(c.fn, want[k].fn);
      assert.equal(c.version, want[k].version);
      assert.equal(hex(c.input), want[k].input, `${fn} call ${k} input`);
      assert.equal(c.rc, want[k].rc, `${fn} call ${k} rc`);
      assert.equal(hex(c.output), want[k].output, `${fn} call ${k} output`);
    });
  }

  // The chain's results.
  outputs.forEach((out, k) => {
    const want = vector.results[k];
    assert.deepEqual(out.records.map(recordView), want.successes);
    if (want.error) {
      assert.equal(out.error?.kind, 'runtime');
      assert.equal(out.error?.moduleName, `${fns[0]}-module`);
      assert.equal(out.error?.moduleIndex, 0);
      assert.equal(out.error?.fluvioError.hint, want.error.hint);
      assert.equal(out.error?.offset, Number(want.error.offset));
      assert.equal(out.error?.fluvioError.recordValue?.toString(), want.error.recordValue);
      assert.match(out.error?.message ?? '', /filter_map-module.*offset 1.*FilterMap.*invalid digit/);
    } else {
      assert.equal(out.error, undefined);
    }
  });
  chain.close();
  assert.equal(engine.stats().memoryInUseBytes, 0);
}

describe('chains.json', () => {
  const chains = loadVectors<ChainVector[]>('chains.json');
  for (const vector of chains) {
    it(`${vector.name} (canned modules: the chain logic)`, () => runChain(vector, 'canned'));
    it(`${vector.name} (AssemblyScript twins)`, () => runChain(vector, 'twins'));
  }

  it('every module gets the base offset and timestamp of the original input (chains.json only has 0)', async () => {
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook });
    const chain = await engine.buildChain([
      { wasm: twins['filter-param'], name: 'f', params: { key: 'a' }, version: 22 },
      { wasm: twins['map-upper'], name: 'm', version: 25 },
      { wasm: twins['filter-map'], name: 'fm', version: 22 },
    ]);
    const out = chain.process(recs('apple', 'fruit', 'banana'), { baseOffset: 1000, baseTimestamp: 1_700_000_000_000 });
    const transforms = t.calls.filter((c) => c.fn !== 'init');
    assert.equal(transforms.length, 3);
    for (const c of transforms) {
      const input = decodeInput(c.input, c.version, false);
      assert.equal(input.baseOffset, 1000, `${c.module}: base_offset`);
      assert.equal(input.baseTimestamp, 1_700_000_000_000, `${c.module}: base_timestamp`);
    }
    // hop 3 fails on "APPLE": the error offset is the original base offset + the record's delta
    assert.equal(out.error?.moduleName, 'fm');
    assert.equal(out.error?.offset, 1000);
    assert.equal(out.error?.fluvioError.hint, 'invalid digit found in string');
    assert.equal(out.error?.fluvioError.recordValue?.toString(), 'APPLE');
    chain.close();
  });

  it('an empty chain returns the input records', async () => {
    const engine = new SmartEngine();
    const chain = await engine.buildChain([]);
    const input = recs('a', 'b');
    const out = chain.process(input, { baseOffset: 7 });
    assert.deepEqual(out.records.map(recordView), input.map(recordView));
    assert.equal(out.error, undefined);
  });

  it('a chain accepts records as objects as well as encoded bytes, with the same result', async () => {
    const engine = new SmartEngine();
    const chain = await engine.buildChain([
      { wasm: twins['filter-param'], name: 'f', params: { key: 'an' } },
      { wasm: twins['map-upper'], name: 'm' },
    ]);
    const input = recs('apple', 'banana', 'mango');
    const a = chain.process(input, { baseOffset: 10 });
    assert.deepEqual(
      a.records.map((r) => [r.offsetDelta, r.value.toString()]),
      [
        [1, 'BANANA'],
        [2, 'MANGO'],
      ],
    );
    assert.ok(a.recordsBytes);
    const b = chain.process(encodeRecords(input), { baseOffset: 10 });
    assert.deepEqual(b.records.map(recordView), a.records.map(recordView));
    chain.close();
  });
});
