// Replays every vector of ../shared/reference/smartmodule-vectors through the
// engine's public API and checks, byte for byte, what the engine wrote into
// the module (input at alloc), what it got back (rc, copy_records bytes) and
// what it made of it (records, error, accumulator).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SmartEngine, SmartModuleError, type ChainModuleConfig } from '../../../src/smartengine/index.js';
import {
  decodeInitInput,
  decodeInput,
  hex,
  loadVectors,
  loadWasm,
  recordView,
  tracer,
  type Vector,
  type VectorFile,
} from './helpers.js';

const FILES: [file: string, fixture: string][] = [
  ['fluvio-smdk-filter-template.json', 'fluvio-smdk-filter-template'],
  ['py-filter-param.json', 'py-filter-param'],
  ['py-filter-on-a.json', 'py-filter-on-a'],
  ['py-map.json', 'py-map'],
  ['py-filter-map.json', 'py-filter-map'],
  ['py-array-map.json', 'py-array-map'],
  ['py-aggregate.json', 'py-aggregate'],
  ['node-server-logs-filter-2022.json', 'node-server-logs-filter-2022'],
  ['assemblyscript-filter.json', 'assemblyscript-filter'],
];

/** Groups the vectors that run on one instance: an optional init and its transform, or an aggregate sequence #0, #1… */
function groups(vectors: Vector[]): Vector[][] {
  const out: Vector[][] = [];
  let pendingInit: Vector | null = null;
  for (const v of vectors) {
    if (v.fn === 'init') {
      if (pendingInit) out.push([pendingInit]); // an init whose transform never ran (init failed)
      pendingInit = v;
      continue;
    }
    const seq = /^(.*)#(\d+)$/.exec(v.name);
    const prev = out[out.length - 1];
    const prevSeq = prev ? /^(.*)#(\d+)$/.exec(prev[prev.length - 1].name) : null;
    if (seq && seq[2] !== '0' && prevSeq && prevSeq[1] === seq[1] && !pendingInit) {
      prev.push(v);
      continue;
    }
    out.push(pendingInit ? [pendingInit, v] : [v]);
    pendingInit = null;
  }
  if (pendingInit) out.push([pendingInit]);
  return out;
}

for (const [file, fixture] of FILES) {
  describe(`vectors ${file}`, () => {
    const data = loadVectors<VectorFile>(file);
    const wasm = loadWasm(fixture);

    it('fixture binary matches the vector file (sha256, size)', () => {
      assert.equal(createHash('sha256').update(wasm).digest('hex'), data.binary.sha256);
      assert.equal(wasm.length, data.binary.size);
    });

    for (const group of groups(data.vectors)) {
      const title = group.map((v) => v.name).join(' + ');
      it(title, async () => {
        const t = tracer();
        const engine = new SmartEngine({ trace: t.hook });
        const init = group[0].fn === 'init' ? group[0] : null;
        const transforms = init ? group.slice(1) : group;
        const first = transforms[0];
        const version = (init ?? first).version;
        const config: ChainModuleConfig = { wasm, name: fixture, version };
        if (init) {
          const { params, lookback } = decodeInitInput(Buffer.from(init.input_hex, 'hex'), init.version);
          config.params = params;
          if (lookback) config.lookback = lookback;
        }
        const isAggregate = first?.fn === 'aggregate';
        if (isAggregate) {
          config.accumulator = decodeInput(Buffer.from(first.input_hex, 'hex'), first.version, true).accumulator;
        }

        if (init && init.rc < 0) {
          await assert.rejects(engine.buildChain([config]), (err: unknown) => {
            assert.ok(err instanceof SmartModuleError);
            assert.equal(err.kind, 'init');
            assert.equal(err.fluvioError.code, 6005);
            assert.match(err.message, /Missing param key/);
            assert.match(err.message, new RegExp(fixture));
            return true;
          });
          assert.equal(t.calls.length, 1);
          assert.equal(t.calls[0].fn, 'init');
          assert.equal(hex(t.calls[0].input), init.input_hex);
          assert.equal(t.calls[0].rc, init.rc);
          assert.equal(hex(t.calls[0].output), init.output_hex);
          assert.equal(engine.stats().liveInstances, 0);
          return;
        }

        const chain = await engine.buildChain([config]);
        if (init) {
          assert.equal(t.calls.length, 1);
          assert.equal(hex(t.calls[0].input), init.input_hex, 'init input bytes');
          assert.equal(t.calls[0].rc, init.rc);
          assert.equal(hex(t.calls[0].output), init.output_hex);
        } else {
          assert.equal(t.calls.length, 0);
        }

        for (const v of transforms) {
          t.calls.length = 0;
          const input = decodeInput(Buffer.from(v.input_hex, 'hex'), v.version, isAggregate);
          const out = chain.process(input.raw, { baseOffset: input.baseOffset, baseTimestamp: input.baseTimestamp });
          assert.equal(t.calls.length, 1);
          const call = t.calls[0];
          assert.equal(call.fn, v.fn);
          assert.equal(call.version, v.version);
          assert.equal(hex(call.input), v.input_hex, `${v.name}: input bytes`);
          assert.equal(call.rc, v.rc, `${v.name}: rc`);
          assert.equal(hex(call.output), v.output_hex, `${v.name}: output bytes`);

          if (v.rc < 0) {
            assert.equal(out.records.length, 0);
            assert.equal(out.error?.kind, 'status');
            assert.equal(out.error?.moduleName, fixture);
            assert.equal(out.error?.offset, input.baseOffset);
            assert.equal(out.error?.fluvioError.code, 2);
            assert.match(out.error?.message ?? '', /-11 \(DecodingBaseInput/);
            continue;
          }
          const expected = v.decoded?.output;
          assert.ok(expected, `${v.name} has a decoded output`);
          assert.equal(out.count, expected.successes?.length);
          assert.deepEqual(out.records.map(recordView), expected.successes);
          if (expected.error) {
            assert.equal(out.error?.kind, 'runtime');
            assert.equal(out.error?.moduleName, fixture);
            assert.equal(out.error?.offset, Number(expected.error.offset));
            const fe = out.error?.fluvioError;
            assert.equal(fe?.code, 6004);
            assert.equal(fe?.hint, expected.error.hint);
            assert.equal(fe?.offset, Number(expected.error.offset));
            assert.equal(fe?.recordKey === null ? null : fe?.recordKey?.toString(), expected.error.recordKey);
            assert.equal(fe?.recordValue?.toString('utf8'), expected.error.recordValue);
          } else {
            assert.equal(out.error, undefined);
          }
          // The engine hands back the module's own bytes when they are canonical.
          if (out.recordsBytes) {
            const outBytes = Buffer.from(v.output_hex, 'hex');
            assert.equal(hex(out.recordsBytes), hex(outBytes.subarray(0, out.recordsBytes.length)));
          }
        }
        chain.close();
        assert.equal(engine.stats().liveInstances, 0);
        assert.equal(engine.stats().memoryInUseBytes, 0);
      });
    }
  });
}
