// Chains from ../shared/reference/smartmodule-vectors/chains.json: every hop's
// input and output bytes, and the chain's result, including the partial
// output when a module in the middle fails.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecords, SmartEngine, type ChainModuleConfig } from '../../../src/smartengine/index.js';
import { decodeInitInput, decodeInput, hex, loadVectors, loadWasm, recordView, recs, tracer, type DecodedOutput } from './helpers.js';

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

const FIXTURE_BY_FN: Record<string, string> = {
  filter: 'py-filter-param',
  aggregate: 'py-aggregate',
  map: 'py-map',
  filter_map: 'py-filter-map',
};

describe('chains.json', () => {
  const chains = loadVectors<ChainVector[]>('chains.json');
  for (const vector of chains) {
    it(vector.name, async () => {
      const t = tracer();
      const engine = new SmartEngine({ trace: t.hook });
      const fns = Object.keys(vector.calls);
      const configs: ChainModuleConfig[] = fns.map((fn) => {
        const calls = vector.calls[fn];
        const cfg: ChainModuleConfig = { wasm: loadWasm(FIXTURE_BY_FN[fn]), name: `${fn}-module`, version: 22 };
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
          assert.match(out.error?.message ?? '', /filter_map-module.*offset 1.*FilterMap.*invalid digit/);
        } else {
          assert.equal(out.error, undefined);
        }
      });
      chain.close();
    });
  }

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
      { wasm: loadWasm('py-filter-param'), name: 'f', params: { key: 'an' } },
      { wasm: loadWasm('py-map'), name: 'm' },
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
