// Managed dataflows (src/dataflow/manager.ts) in-process: a node runs them itself,
// keeps them across its restarts (resuming from their checkpoints), keeps a
// stopped one stopped, and reports one that cannot start.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import type { WindowResult } from '../../src/dataflow/engine.js';
import { until } from '../helpers/dataflow.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const YAML = (name: string) => `
apiVersion: 0.5.0
meta: { name: ${name}, version: 0.1.0 }
config:
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
  checkpoint: { interval: 200ms }
topics:
  clicks: {}
  ${name}-out: {}
services:
  count:
    sources: [{ type: topic, id: clicks }]
    window:
      tumbling: { duration: 1s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.page
        aggregate: { n: count }
    sinks: [{ type: topic, id: ${name}-out }]
`;

const BASE = 1_700_000_000_000;

describe('managed dataflows', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await removeDir(dir);
  });

  it('survive a node restart (state resumed), stay stopped when stopped, report a failure to start', async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    let node = await startTestNode({ dataDir, dataflows: { minBackoffMs: 100, maxBackoffMs: 200 } });
    const flows = () => node.dataflows!;
    await flows().create(YAML('clicks-a'));
    await flows().create(YAML('clicks-b'));
    await flows().stop('clicks-b');
    const client = await Freshet.connect({ endpoint: node.endpoint });
    const producer = await client.producer('clicks');
    for (const [t, page] of [[0, 'home'], [100, 'home'], [1100, 'home'], [2500, 'cart']] as const) await producer.send(null, JSON.stringify({ ts: BASE + t, page }));
    await producer.flush();
    const closed = (name: string) => (flows().runtime(name)?.query({ key: 'home' }) as { closed: WindowResult[] } | undefined)?.closed ?? [];
    await until('two closed windows of home', () => (closed('clicks-a').length === 2 ? true : undefined), 15_000);
    await producer.close();
    await client.close();
    await node.stop();

    node = await startTestNode({ dataDir, dataflows: { minBackoffMs: 100, maxBackoffMs: 200 } });
    await until('clicks-a running again', () => (flows().runtime('clicks-a') ? true : undefined), 15_000);
    assert.deepEqual(closed('clicks-a').map((w) => w.values.n), [2, 1], 'state restored from the checkpoint');
    assert.equal(flows().describe('clicks-b')?.state, 'stopped', 'a stopped dataflow stays stopped');
    assert.deepEqual(flows().list().map((d) => [d.name, d.state]), [['clicks-a', 'running'], ['clicks-b', 'stopped']]);

    const broken = YAML('clicks-c').replace('    window:', '    transforms:\n      - operator: map\n        uses: no-such-module\n    window:');
    await assert.rejects(flows().create(broken), /cannot start/);
    const described = flows().describe('clicks-c')!;
    assert.equal(described.state, 'failed');
    assert.match(described.lastError ?? '', /no-such-module/);
    await until('a retry', () => ((flows().describe('clicks-c')?.restarts ?? 0) >= 2 ? true : undefined), 15_000);
    await flows().delete('clicks-c');
    assert.equal(flows().describe('clicks-c'), undefined);
    await node.stop();
  });
});
