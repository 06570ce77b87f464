// The engine's side of every vector in ../shared/reference/smartmodule-vectors
// (recorded from real Fluvio-built modules), without those modules:
//
// - decoding: every recorded output (copy_records bytes) decodes to the
//   vector's decoded output: successes, runtime error (hint, offset, kind,
//   record), aggregate accumulator, init error hint;
// - replay: each group of calls runs on a canned module (helpers.ts) that
//   returns the recorded rc and output bytes, so the engine does everything
//   else for real: from the vector's decoded input (records, base offset,
//   timestamp, init params with lookback, initial accumulator) it must write
//   exactly input_hex into the module, at each version, carry the
//   accumulator from call to call, and turn the outputs into the vector's
//   records and errors.
//
// twins.test.ts runs our AssemblyScript twins of those modules on the same
// vectors, byte for byte.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeAggregateOutput,
  decodeInitOutput,
  decodeTransformOutput,
  RUNTIME_ERROR_KINDS,
  type AggregateOutput,
} from '../../../src/smartengine/index.js';
import { cannedModule, hex, loadVectors, recordView, replayVectorGroup, vectorGroups, type Vector, type VectorFile } from './helpers.js';

const FILES = [
  'fluvio-smdk-filter-template.json',
  'py-filter-param.json',
  'py-filter-on-a.json',
  'py-map.json',
  'py-filter-map.json',
  'py-array-map.json',
  'py-aggregate.json',
  'node-server-logs-filter-2022.json',
  'assemblyscript-filter.json',
];

/** A canned module replaying one group of vectors. */
function cannedFor(group: Vector[]): Buffer {
  const call = (v: Vector) => ({ rc: v.rc, output: Buffer.from(v.output_hex, 'hex') });
  const init = group[0].fn === 'init' ? group[0] : undefined;
  const transforms = init ? group.slice(1) : group;
  return cannedModule({
    transform: transforms[0]?.fn ?? 'filter',
    ...(init ? { init: call(init) } : {}),
    calls: transforms.map(call),
  });
}

for (const file of FILES) {
  describe(`vectors ${file}`, () => {
    const data = loadVectors<VectorFile>(file);

    it('every output decodes to the decoded output of its vector', () => {
      let checked = 0;
      for (const v of data.vectors) {
        const bytes = Buffer.from(v.output_hex, 'hex');
        if (v.fn === 'init') {
          if (v.rc === -2) {
            assert.equal(decodeInitOutput(bytes), v.decoded?.error?.hint, v.name);
            checked++;
          }
          continue;
        }
        const expected = v.decoded?.output;
        assert.ok(expected, `${v.name}: decoded output`);
        if (v.rc < 0) {
          assert.equal(v.output_hex, '', `${v.name}: an error status comes without output`);
          continue;
        }
        const out = v.fn === 'aggregate' ? decodeAggregateOutput(bytes, v.version) : decodeTransformOutput(bytes);
        assert.equal(out.count, expected.successes?.length, v.name);
        assert.deepEqual(out.successes.map(recordView), expected.successes, v.name);
        if (expected.error) {
          assert.ok(out.error, `${v.name}: error`);
          assert.equal(out.error.hint, expected.error.hint);
          assert.equal(out.error.offset, Number(expected.error.offset));
          assert.equal(RUNTIME_ERROR_KINDS[out.error.kind], expected.error.kind);
          assert.equal(out.error.recordKey === null ? null : out.error.recordKey.toString(), expected.error.recordKey);
          assert.equal(out.error.recordValue.toString(), expected.error.recordValue);
        } else {
          assert.equal(out.error, null, v.name);
        }
        if (v.fn === 'aggregate') {
          assert.equal((out as AggregateOutput).accumulator.toString(), expected.accumulator_after, `${v.name}: accumulator`);
        }
        // The SDKs encode canonically: the engine can pass their bytes on as they are.
        assert.ok(out.successesBytes, `${v.name}: canonical`);
        assert.equal(hex(out.successesBytes), hex(bytes.subarray(0, out.successesBytes.length)));
        checked++;
      }
      assert.ok(checked > 0);
    });

    for (const group of vectorGroups(data.vectors)) {
      const title = group.map((v) => v.name).join(' + ');
      it(`${title}: the engine writes input_hex from the decoded input, and decodes the output`, async () => {
        await replayVectorGroup(cannedFor(group), group, { name: data.binary.id, inputAs: 'records' });
      });
      it(`${title}: the same from the encoded records section`, async () => {
        await replayVectorGroup(cannedFor(group), group, { name: data.binary.id, inputAs: 'bytes' });
      });
    }
  });
}
