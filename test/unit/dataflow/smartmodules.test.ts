import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CheckpointStore, type Checkpoint } from '../../../src/dataflow/checkpoint.js';
import { ServiceEngine, type WindowResult } from '../../../src/dataflow/engine.js';
import { bindSmartModules } from '../../../src/dataflow/smartmodules.js';
import { parseDataflowYaml } from '../../../src/dataflow/yaml.js';

describe('dataflow SmartModule operators', () => {
  it('runs SmartModules in the operator chain: a filter with params, an array-map as flat-map', async () => {
    const spec = await parseDataflowYaml(`
apiVersion: 0.5.0
meta: { name: sm }
topics: { in: {} }
services:
  s:
    sources: [{ id: in }]
    transforms:
      - operator: flat-map
        uses: infinyon/array-map-json
      - operator: filter
        uses: infinyon/regex-filter
        with: { regex: "keep" }
    window:
      tumbling: { duration: 10s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.k
        aggregate: { n: count }
`);
    const loaded: string[] = [];
    const release = await bindSmartModules(spec, {
      // Nothing registered: the names resolve to the built-ins.
      loadRegistered: async (name) => {
        loaded.push(name);
        return undefined;
      },
    });
    try {
      assert.deepEqual(loaded, ['infinyon/array-map-json', 'infinyon/regex-filter']);
      const engine = new ServiceEngine('sm', spec.services[0]);
      engine.registerInput('in', 0);
      const batch = [
        { k: 'a', ts: 1, tag: 'keep' },
        { k: 'a', ts: 2, tag: 'drop' },
        { k: 'b', ts: 3, tag: 'keep' },
      ];
      engine.process({ topic: 'in', partition: 0, offset: 0, timestamp: 0, key: null, value: JSON.stringify(batch) });
      engine.process({ topic: 'in', partition: 0, offset: 1, timestamp: 0, key: null, value: '{"not": "an array"}' });
      engine.finish();
      const results = engine.takeOutputs().map((o) => o.value as WindowResult);
      assert.deepEqual(results.map((r) => [r.key, r.values.n]), [['a', 1], ['b', 1]]);
      assert.equal(engine.metrics.records, 2);
      assert.ok(engine.metrics.failed + engine.metrics.filtered === 1, JSON.stringify(engine.metrics));
    } finally {
      release();
    }
  });

  it('refuses a name that is neither registered nor built in', async () => {
    const spec = await parseDataflowYaml(`
apiVersion: 0.5.0
meta: { name: sm }
topics: { in: {} }
services:
  s:
    sources: [{ id: in }]
    transforms:
      - { operator: map, uses: nobody/nothing }
`);
    await assert.rejects(bindSmartModules(spec, { loadRegistered: async () => undefined }), /services\.s\.transforms\[0\] \(map SmartModule nobody\/nothing\): no SmartModule "nobody\/nothing" is registered/);
  });
});

describe('dataflow checkpoint store', () => {
  it('keeps the two newest, reads the newest back, skips a file that does not parse', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'freshet-ckpt-'));
    try {
      const store = new CheckpointStore(dir);
      assert.equal(await store.latest(), undefined);
      const ckpt = (seq: number): Checkpoint => ({
        format: 1,
        dataflow: 'd',
        service: 's',
        seq,
        createdAt: new Date(0).toISOString(),
        fingerprint: 'f',
        inputs: [{ topic: 'in', partition: 0, next: seq * 10 }],
        outputs: [],
        state: { format: 2, watermark: { value: null, inputs: [] }, nextStep: null, maxStart: null, windows: [], keys: [], correlations: [], blocks: [], metrics: {} as Checkpoint['state']['metrics'] },
      });
      await writeFile(path.join(dir, 'ckpt-000000000001.json.tmp-999999'), '{"torn'); // left by a killed writer of an older version
      await writeFile(path.join(dir, 'ckpt-000000000001.json.tmp-999999-4'), '{"torn'); // left by a killed writer
      for (const seq of [1, 2, 3]) await store.write(ckpt(seq));
      assert.deepEqual((await readdir(dir)).sort(), ['ckpt-000000000002.json', 'ckpt-000000000003.json']);
      assert.equal((await store.latest())!.inputs[0].next, 30);
      await writeFile(path.join(dir, 'ckpt-000000000004.json'), '{"format":1,"truncat');
      assert.equal((await store.latest())!.seq, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
