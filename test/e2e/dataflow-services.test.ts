// Two services in one dataflow, chained through a topic: a plain transform
// service (flat-map + map, no window) writes cleaned records that a windowed
// service aggregates; started in process with the TypeScript runtime, and
// restarted on the same state (no result twice, nothing lost).

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import type { WindowResult } from '../../src/dataflow/engine.js';
import { DataflowRuntime } from '../../src/dataflow/runner.js';
import { parseDataflowYaml } from '../../src/dataflow/yaml.js';
import { readAllJson } from '../helpers/dataflow.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const YAML = `
apiVersion: 0.6.0
meta: { name: orders }
config:
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
  checkpoint: { interval: 100ms }
topics:
  raw-orders: {}
  order-lines: {}
  line-totals: {}
services:
  explode:
    sources: [{ type: topic, id: raw-orders }]
    transforms:
      - operator: flat-map
        expr: "$.lines"
      - operator: map
        expr: "{sku: upper($.sku), qty: $.qty, ts: $.ts}"
    sinks: [{ type: topic, id: order-lines }]
  totals:
    sources: [{ type: topic, id: order-lines }]
    window:
      tumbling: { duration: 1m }
      assign-timestamp: $.ts
      partition:
        assign-key: $.sku
        aggregate:
          qty: { sum: $.qty }
          orders: count
    sinks: [{ type: topic, id: line-totals }]
`;

const BASE = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('dataflow e2e: services chained through a topic', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let dir: string;
  let client: Freshet;

  before(async () => {
    node = await startTestNode();
    dir = await tempDir('freshet-df-services-');
    client = await Freshet.connect({ endpoint: node.endpoint });
  });

  after(async () => {
    await client?.close();
    await node?.stop();
    await removeDir(node.dataDir);
    await removeDir(dir);
  });

  it('a transform service feeds a windowed one; a restart resumes both', async () => {
    const spec = await parseDataflowYaml(YAML);
    const stateDir = path.join(dir, 'state');
    let runtime = await DataflowRuntime.start(spec, { client, stateDir });
    const producer = await client.producer('raw-orders');
    const order = (ts: number, lines: [string, number][]) => producer.send(null, JSON.stringify({ ts: BASE + ts, lines: lines.map(([sku, qty]) => ({ sku, qty, ts: BASE + ts })) }));
    await order(1_000, [['a', 2], ['b', 1]]);
    await order(2_000, [['a', 3]]);
    await producer.flush();
    const lines = await until(async () => {
      const all = await readAllJson(client, 'order-lines');
      return all.length >= 3 ? all : undefined;
    });
    assert.deepEqual(lines, [
      { sku: 'A', qty: 2, ts: BASE + 1_000 },
      { sku: 'B', qty: 1, ts: BASE + 1_000 },
      { sku: 'A', qty: 3, ts: BASE + 2_000 },
    ]);
    assert.deepEqual((runtime.query({ key: 'A' }, 'totals') as { open: { values: unknown }[] }).open.map((w) => w.values), [{ qty: 5, orders: 2 }]);

    // Stop (final checkpoint) and start again: the next minute's order closes the first window exactly once.
    await runtime.stop();
    runtime = await DataflowRuntime.start(spec, { client, stateDir });
    await order(61_000, [['a', 1]]);
    await producer.flush();
    const totals = await until(async () => {
      const all = (await readAllJson(client, 'line-totals')) as WindowResult[];
      return all.length >= 2 ? all : undefined;
    });
    assert.deepEqual(totals.map((w) => [w.key, w.windowStart - BASE, w.values]), [
      ['A', 0, { qty: 5, orders: 2 }],
      ['B', 0, { qty: 1, orders: 1 }],
    ]);
    const status = runtime.status();
    assert.deepEqual(status.services.map((s) => [s.service, s.metrics.records]), [
      ['explode', 3],
      ['totals', 4],
    ]);
    await runtime.stop();
    assert.equal((await readAllJson(client, 'order-lines')).length, 4, 'the transform service wrote each line once');
  });
});
