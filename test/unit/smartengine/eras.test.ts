// Every era of Fluvio SmartModules: a 2022-era module (its SDK decodes
// SmartModuleInput as base_offset, raw_bytes, params, join_record whatever
// the version, and has no base_timestamp) fails with -11 on a version >= 23
// input that carries a timestamp, in Fluvio too (smartmodule-abi.md §4).
// The engine retries such a batch at 22, and when that decodes, runs the
// module at 22 from then on, remembered by sha256 and logged once. Our
// 2022-era module is filter-template, the twin of fluvio-smdk-filter-template
// (twins.test.ts checks it against that module's recorded vectors).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '../../../src/smartengine/module.js';
import { SmartEngine, type EngineLogger } from '../../../src/smartengine/index.js';
import { asModules } from './asc.js';
import { i32c, recs, syntheticModule, tracer } from './helpers.js';

const mods = await asModules(['filter-template', 'filter-on-a']);
const TIMESTAMP = 1_700_000_000_000;

function logger(): EngineLogger & { lines: { details: Record<string, unknown>; message: string }[] } {
  const lines: { details: Record<string, unknown>; message: string }[] = [];
  return { lines, info: (details, message) => lines.push({ details: details as Record<string, unknown>, message }) };
}

describe('2022-era SmartModules', () => {
  it('a module that fails at version 25 and decodes at 22 runs at 22 from then on, logged once, remembered by hash', async () => {
    const t = tracer();
    const log = logger();
    const engine = new SmartEngine({ trace: t.hook, logger: log, wasiOutput: 'discard' });
    const config = { wasm: mods['filter-template'], name: 'logs-2022', version: 25, params: { key: 'a' } };
    const chain = await engine.buildChain([config]);
    t.calls.length = 0;
    const out = chain.process(recs('cat', 'dog', 'bird'), { baseOffset: 40, baseTimestamp: TIMESTAMP });
    assert.equal(out.error, undefined);
    assert.deepEqual(out.records.map((r) => r.value.toString()), ['cat']);
    assert.deepEqual(t.calls.map((c) => [c.fn, c.version, c.rc]), [['filter', 25, -11], ['filter', 22, 1]]);
    assert.equal(chain.modules()[0].version, 22);
    const sha256 = sha256Hex(mods['filter-template']);
    assert.equal(engine.isLegacyInput(sha256), true);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0].message, /SmartModule logs-2022 is of the 2022 era .*version 25.* runs at version 22/);
    assert.deepEqual(log.lines[0].details, { module: 'logs-2022', sha256, requestedVersion: 25, version: 22 });

    // the next batches go straight to 22
    t.calls.length = 0;
    assert.equal(chain.process(recs('a', 'b'), { baseOffset: 43, baseTimestamp: TIMESTAMP }).count, 1);
    assert.deepEqual(t.calls.map((c) => [c.version, c.rc]), [[22, 1]]);

    // a new chain of the same bytes (another stream, or the produce side) starts at 22, even under another name
    t.calls.length = 0;
    const other = await engine.buildChain([{ ...config, name: 'same-bytes', version: 23 }]);
    assert.equal(other.modules()[0].version, 22);
    assert.equal(other.process(recs('a'), { baseOffset: 0, baseTimestamp: TIMESTAMP }).count, 1);
    assert.deepEqual(t.calls.map((c) => [c.fn, c.version]), [['init', 22], ['filter', 22]]);
    assert.equal(log.lines.length, 1, 'logged once per module');
    chain.close();
    other.close();
  });

  it('a module of today is never moved: it decodes at 25, and later -11s are the input’s, not the era’s', async () => {
    const t = tracer();
    const log = logger();
    const engine = new SmartEngine({ trace: t.hook, logger: log, wasiOutput: 'discard' });
    const chain = await engine.buildChain([{ wasm: mods['filter-on-a'], name: 'today', version: 25 }]);
    assert.equal(chain.process(recs('a', 'b'), { baseOffset: 0, baseTimestamp: TIMESTAMP }).count, 1);
    assert.deepEqual(t.calls.map((c) => c.version), [25]);
    assert.equal(chain.modules()[0].version, 25);
    assert.equal(log.lines.length, 0);
    chain.close();
  });

  it('a module that fails at 25 and at 22 keeps its version and its error; nothing is remembered', async () => {
    const t = tracer();
    const log = logger();
    const engine = new SmartEngine({ trace: t.hook, logger: log });
    const always11 = syntheticModule({ body: [...i32c(-11)] });
    const chain = await engine.buildChain([{ wasm: always11, name: 'broken', version: 25 }]);
    const out = chain.process(recs('a'), { baseOffset: 9, baseTimestamp: TIMESTAMP });
    assert.equal(out.error?.kind, 'status');
    assert.equal(out.error?.offset, 9);
    assert.match(out.error?.message ?? '', /"broken" returned -11 \(DecodingBaseInput/);
    assert.deepEqual(t.calls.map((c) => [c.version, c.rc]), [[25, -11], [22, -11]]);
    assert.equal(chain.modules()[0].version, 25);
    assert.equal(engine.isLegacyInput(sha256Hex(always11)), false);
    assert.equal(log.lines.length, 0);
    chain.close();
  });

  it('eraFallback: false is exactly Fluvio: the -11 ends the batch', async () => {
    const t = tracer();
    const engine = new SmartEngine({ trace: t.hook, eraFallback: false, wasiOutput: 'discard' });
    const chain = await engine.buildChain([{ wasm: mods['filter-template'], name: 'logs-2022', version: 25, params: { key: 'a' } }]);
    t.calls.length = 0;
    const out = chain.process(recs('cat'), { baseOffset: 1, baseTimestamp: TIMESTAMP });
    assert.equal(out.error?.kind, 'status');
    assert.deepEqual(t.calls.map((c) => [c.version, c.rc]), [[25, -11]]);
    chain.close();
  });
});
