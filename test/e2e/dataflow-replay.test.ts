// Replay: `freshet dataflow run --from beginning --until end` reads the
// topics' current contents, closes every window at their end, writes the
// results and exits 0; over the same records it gives the same results as
// the live dataflow (which closes the same windows as later events arrive),
// whatever the interleaving of the two input partitions. The counts and
// sums are also checked against a batch recomputation.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import type { CorrelationResult, WindowResult } from '../../src/dataflow/engine.js';
import { DataflowRuntime } from '../../src/dataflow/runner.js';
import { parseDataflowYaml } from '../../src/dataflow/yaml.js';
import { freshetBin, repoRoot } from '../helpers/child-node.js';
import { readAllJson, until } from '../helpers/dataflow.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const yaml = (sink: string) => `
apiVersion: 0.5.0
meta: { name: history }
config:
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
topics:
  events: { partitions: 2 }
  out: { name: ${sink} }
services:
  products:
    sources: [{ type: topic, id: events }]
    window:
      tumbling: { duration: 1s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.product
        group: $.brand
        aggregate:
          n: count
          total: { sum: $.price }
          price: { last: $.price }
    series:
      - { of: n, delta: true, rolling-mean: 3 }
      - { of: price, pct-change: true }
    correlations:
      - { x: n, within: group, windows: 5 }
      - { x: price, y: n, between: key, windows: 5, lag: 1 }
    retire-after: 4
    sinks: [{ type: topic, id: out }]
`;

const BASE = 1_700_000_000_000;
const N = 3000;
/** Far enough ahead that, live, it closes every window of the set. */
const FLUSH_TS = BASE + 600_000;

function event(i: number) {
  // Products appear in some steps only (so steps get filled), prices vary.
  const product = `p${(i * 7) % 12}`;
  return { ts: BASE + i * 10 + (i % 2), product, brand: `b${((i * 7) % 12) % 3}`, price: ((i * 13) % 40) + 1 };
}

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [freshetBin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

type Result = WindowResult | CorrelationResult;
const byId = (results: Result[]) => new Map(results.map((r) => [r.id, r]));

describe('dataflow e2e: replay of history', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let dir: string;
  let client: Freshet;

  before(async () => {
    node = await startTestNode();
    dir = await tempDir('freshet-df-replay-');
    client = await Freshet.connect({ endpoint: node.endpoint });
    await client.admin.createTopic('events', { partitions: 2 });
    const producer = await client.producer('events', { lingerMs: 5 });
    // Events sorted by time within each partition; partition 1 gets 3 events for each 1 of partition 0.
    for (let i = 0; i < N; i++) void producer.send(null, JSON.stringify(event(i)), { partition: i % 4 === 0 ? 0 : 1 });
    for (const partition of [0, 1]) void producer.send(null, JSON.stringify({ ts: FLUSH_TS, product: 'flush', brand: 'none', price: 0 }), { partition });
    await producer.flush();
    await producer.close();
  });

  after(async () => {
    await client?.close();
    await node?.stop();
    await removeDir(node?.dataDir);
    await removeDir(dir);
  });

  it('reads to the end, closes every window, exits 0; the same results as the live dataflow', async () => {
    await writeFile(path.join(dir, 'replay.yaml'), yaml('replay-out'));
    const run = await cli(['-c', node.endpoint, 'dataflow', 'run', '--config', path.join(dir, 'replay.yaml'), '--from', 'beginning', '--until', 'end', '--dir', path.join(dir, 'state')]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`products: ${N + 2} records \\(0 failed, 0 late, 0 refused\\)`));
    const replayed = (await readAllJson(client, 'replay-out')) as Result[];
    assert.equal(new Set(replayed.map((r) => r.id)).size, replayed.length, 'no result twice');

    // Known answers: each non-filled window's count and sum equal a batch recomputation.
    const expected = new Map<string, { n: number; total: number }>();
    for (let i = 0; i < N; i++) {
      const ev = event(i);
      const id = `history:products:window:${ev.product}:${ev.ts - (ev.ts % 1000)}`;
      const acc = expected.get(id) ?? { n: 0, total: 0 };
      acc.n++;
      acc.total += ev.price;
      expected.set(id, acc);
    }
    const windows = replayed.filter((r): r is WindowResult => r.type === 'window');
    const withEvents = windows.filter((w) => !w.filled && w.key !== 'flush');
    assert.equal(withEvents.length, expected.size);
    for (const w of withEvents) assert.deepEqual({ n: w.values.n, total: w.values.total }, expected.get(w.id), w.id);
    assert.ok(windows.some((w) => w.filled), 'some steps are filled');
    for (const w of windows.filter((x) => x.filled)) assert.deepEqual([w.values.n, w.values.total], [0, 0], w.id);
    // The end of input closed the flush event's window too.
    assert.ok(windows.some((w) => w.key === 'flush' && w.windowStart === FLUSH_TS));
    assert.ok(replayed.some((r) => r.type === 'correlation' && r.r !== null && r.p !== null));

    // The live dataflow over the same records: the same results, up to the window the live one cannot close yet.
    const spec = await parseDataflowYaml(yaml('live-out'));
    const runtime = await DataflowRuntime.start(spec, { endpoint: node.endpoint, stateDir: path.join(dir, 'live') });
    try {
      const closedLive = replayed.filter((r) => r.windowStart < FLUSH_TS);
      const live = await until(
        'the live results',
        async () => {
          const all = (await readAllJson(client, 'live-out')) as Result[];
          return all.length >= closedLive.length ? all : undefined;
        },
        30_000,
      );
      assert.equal(live.length, closedLive.length);
      const liveById = byId(live);
      for (const r of closedLive) assert.deepEqual(liveById.get(r.id), r, r.id);
    } finally {
      await runtime.stop();
    }
  });

  it('refuses --until without --from', async () => {
    const run = await cli(['-c', node.endpoint, 'dataflow', 'run', '--config', path.join(dir, 'replay.yaml'), '--until', 'end']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /a replay takes both --from beginning and --until end/);
  });
});
