// Real modules on the reference vectors: our AssemblyScript twins of the
// Fluvio-built modules the vectors were recorded with (same logic, written
// here; test/fixtures/smartmodules/*.ts, built at test time) run through the
// engine on each vector's decoded input. Since the ABI fixes the encodings,
// every call must match the recording byte for byte: the input the engine
// writes, the rc, and the bytes the module passes to copy_records (records,
// runtime errors with Rust's messages, accumulators, init errors, and the
// 2022 SDK's -11 on a v25 input with a timestamp). The reference
// AssemblyScript filter (../shared/reference) is built from its source and
// must reproduce its own vectors.

import { describe, it } from 'node:test';
import { asModule, type AsModuleName } from './asc.js';
import { loadVectors, replayVectorGroup, vectorGroups, type VectorFile } from './helpers.js';

const TWINS: [file: string, module: AsModuleName][] = [
  ['fluvio-smdk-filter-template.json', 'filter-template'],
  ['py-filter-param.json', 'filter-param'],
  ['assemblyscript-filter.json', 'assemblyscript-filter'],
  ['assemblyscript-filter.json', 'filter-param'], // the same logic as the reference filter
  ['py-filter-on-a.json', 'filter-on-a'],
  ['py-filter-on-a.json', 'wasi-filter'], // the same filter with WASI imports
  ['py-map.json', 'map-upper'],
  ['py-map.json', 'map-upper-leaky'],
  ['py-filter-map.json', 'filter-map'],
  ['py-array-map.json', 'array-map'],
  ['py-aggregate.json', 'aggregate-concat'],
  // node-server-logs-filter-2022.json (a serde JSON filter) has no twin: vectors.test.ts covers the engine's side.
];

for (const [file, module] of TWINS) {
  describe(`${module} on ${file}`, () => {
    const data = loadVectors<VectorFile>(file);
    for (const group of vectorGroups(data.vectors)) {
      it(group.map((v) => v.name).join(' + '), async () => {
        await replayVectorGroup(await asModule(module), group, { name: module, inputAs: 'records' });
      });
    }
  });
}
