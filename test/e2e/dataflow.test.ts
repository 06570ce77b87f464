// A dataflow.yaml run with `freshet dataflow run` against a node: records
// produced → window results (with series and correlations) in the output
// topic, late records in the late topic, the same state through the HTTP
// endpoint, the SSE change feed and `freshet dataflow query|list|describe|
// stop|delete`.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import type { CorrelationResult, LateRecord, WindowResult } from '../../src/dataflow/engine.js';
import { freshetBin, repoRoot } from '../helpers/child-node.js';
import { readAllJson, until } from '../helpers/dataflow.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const YAML = `
apiVersion: 0.5.0
meta: { name: shop-stats, version: 0.1.0 }
config:
  converter: json
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
  checkpoint: { interval: 200ms, records: 100 }
topics:
  prices: { partitions: 2 }
  stats: {}
  late-prices: {}
services:
  per-product:
    sources: [{ type: topic, id: prices }]
    transforms:
      - operator: filter
        expr: $.price > 0
    window:
      tumbling: { duration: 10s }
      watermark: { grace-period: 2s }
      late: { policy: side-output, topic: late-prices }
      assign-timestamp: $.ts
      partition:
        assign-key: $.product
        group: $.brand
        aggregate:
          events: count
          avg: { mean: $.price }
          high: { max: $.price }
          sellers: { distinct: $.seller }
    series:
      of: avg
      delta: true
      pct-change: true
      rolling-mean: 3
      correlation: { windows: 4, within: group }
    sinks:
      - { type: topic, id: stats }
`;

const BASE = 1_700_000_000_000;
const S = 1000;

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [freshetBin, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('dataflow e2e: YAML against a node', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let dir: string;
  let client: Freshet;
  let child: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let stderr = '';

  before(async () => {
    node = await startTestNode();
    dir = await tempDir('freshet-df-e2e-');
    await writeFile(path.join(dir, 'dataflow.yaml'), YAML);
    // FRESHET_CONSOLE: no node console answers there, so only the dataflows run here are seen.
    env = { ...process.env, FRESHET_DATAFLOW_DIR: path.join(dir, 'state'), FRESHET_LOG: 'warn', FRESHET_CONSOLE: '127.0.0.1:1' };
    delete env.NODE_TEST_CONTEXT;
    client = await Freshet.connect({ endpoint: node.endpoint });
  });

  after(async () => {
    child?.kill('SIGKILL');
    await client?.close();
    await node?.stop();
    await removeDir(node.dataDir);
    await removeDir(dir);
  });

  it('runs: results in the output topic, late records aside, state over HTTP, SSE and the CLI', async () => {
    child = spawn(process.execPath, [freshetBin, '-c', node.endpoint, 'dataflow', 'run', '--config', path.join(dir, 'dataflow.yaml')], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const httpAddress = await until('the dataflow to start', async () => /state: http:\/\/([^/]+)\//.exec(stderr)?.[1], 30_000);

    // Live change feed, opened before any record.
    const feed = await fetch(`http://${httpAddress}/dataflows/shop-stats/events?kind=window`);
    assert.equal(feed.headers.get('content-type'), 'text/event-stream');
    const reader = feed.body!.getReader();
    let feedText = '';
    const feedDone = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        feedText += Buffer.from(value).toString('utf8');
      }
    })();

    const producer = await client.producer('prices');
    const send = (partition: number, ev: Record<string, unknown>) => producer.send(null, JSON.stringify(ev), { partition });
    // Window 0 (0–10 s): p1 (acme) 10, 20; p2 (acme) 5; q1 (zeta) 7. A price of 0 is filtered out.
    await send(0, { ts: BASE + 1 * S, product: 'p1', brand: 'acme', price: 10, seller: 's1' });
    await send(1, { ts: BASE + 2 * S, product: 'p2', brand: 'acme', price: 5, seller: 's1' });
    await send(0, { ts: BASE + 3 * S, product: 'p1', brand: 'acme', price: 20, seller: 's2' });
    await send(1, { ts: BASE + 4 * S, product: 'q1', brand: 'zeta', price: 7, seller: 's3' });
    await send(1, { ts: BASE + 5 * S, product: 'q1', brand: 'zeta', price: 0, seller: 's3' });
    // Window 1 (10–20 s): p1 18, p2 10.
    await send(0, { ts: BASE + 11 * S, product: 'p1', brand: 'acme', price: 18, seller: 's1' });
    await send(1, { ts: BASE + 12 * S, product: 'p2', brand: 'acme', price: 10, seller: 's1' });
    // Watermark min(p0, p1) → 21 s ≥ 10 + 2 (window 0 closes) but < 20 + 2.
    await send(0, { ts: BASE + 21 * S, product: 'p1', brand: 'acme', price: 30, seller: 's1' });
    await send(1, { ts: BASE + 21 * S, product: 'p2', brand: 'acme', price: 12, seller: 's1' });
    // Late: window 0 closed at watermark 21 s (10 + 2 ≤ 21).
    await send(0, { ts: BASE + 9 * S, product: 'p1', brand: 'acme', price: 99, seller: 's9' });
    // Watermark → 23 s: window 1 closes.
    await send(0, { ts: BASE + 23 * S, product: 'p1', brand: 'acme', price: 30, seller: 's1' });
    await send(1, { ts: BASE + 23 * S, product: 'p2', brand: 'acme', price: 12, seller: 's1' });
    await producer.flush();

    const results = await until('window 1 results', async () => {
      const all = (await readAllJson(client, 'stats')) as (WindowResult | CorrelationResult)[];
      return all.filter((r) => r.type === 'window').length >= 6 ? all : undefined;
    });
    const windows = results.filter((r): r is WindowResult => r.type === 'window');
    const byId = new Map(windows.map((w) => [`${w.key}@${(w.windowStart - BASE) / S}`, w]));
    assert.deepEqual([...byId.keys()].sort(), ['p1@0', 'p1@10', 'p2@0', 'p2@10', 'q1@0', 'q1@10']);
    // q1 had no event in window 1: a filled step (dense time steps).
    assert.deepEqual([byId.get('q1@10')!.filled, byId.get('q1@10')!.values], [true, { events: 0, avg: null, high: null, sellers: 0 }]);
    assert.equal(byId.get('p1@10')!.filled, false);
    const p1w0 = byId.get('p1@0')!;
    assert.deepEqual(p1w0.values, { events: 2, avg: 15, high: 20, sellers: 2 });
    assert.equal(p1w0.id, `shop-stats:per-product:window:p1:${BASE}`);
    assert.equal(p1w0.group, 'acme');
    assert.equal(p1w0.windowEnd, BASE + 10 * S);
    assert.deepEqual(byId.get('q1@0')!.values, { events: 1, avg: 7, high: 7, sellers: 1 }); // the 0 price was filtered
    const p1w1 = byId.get('p1@10')!;
    assert.deepEqual(p1w1.values, { events: 1, avg: 18, high: 18, sellers: 1 });
    assert.deepEqual(p1w1.series, { avg: { value: 18, previous: { windowStart: BASE, value: 15 }, delta: 3, pctChange: 20, rollingMean: 16.5, rollingWindows: 2 } });
    const correlations = results.filter((r): r is CorrelationResult => r.type === 'correlation');
    const last = correlations.find((c) => c.windowStart === BASE + 10 * S && c.a === 'p1' && c.b === 'p2')!;
    // p1: 15, 18; p2: 5, 10 → two points always line up: r is null (not 1), with n = 2 and no p-value
    assert.deepEqual([last.r, last.p, last.n], [null, null, 2]);
    assert.equal(last.group, 'acme');
    assert.ok(!correlations.some((c) => c.a === 'q1' || c.b === 'q1'), 'q1 is alone in its group');

    const late = (await until('the late record', async () => {
      const all = await readAllJson(client, 'late-prices');
      return all.length > 0 ? all : undefined;
    })) as LateRecord[];
    assert.equal(late.length, 1);
    assert.equal(late[0].key, 'p1');
    assert.equal(late[0].timestamp, BASE + 9 * S);
    assert.deepEqual(late[0].source, { topic: 'prices', partition: 0, offset: 4 });

    // HTTP: the current state of a key, a group, and the summary.
    const byKey = (await (await fetch(`http://${httpAddress}/dataflows/shop-stats/state?key=p1`)).json()) as {
      closed: WindowResult[];
      open: { windowStart: number; values: Record<string, unknown> }[];
      correlations: CorrelationResult[];
    };
    assert.deepEqual(byKey.closed.map((w) => w.values.avg), [15, 18]);
    assert.deepEqual(byKey.open.map((w) => [w.windowStart, w.values.events]), [[BASE + 20 * S, 2]]);
    assert.deepEqual([byKey.correlations[0].a, byKey.correlations[0].b, byKey.correlations[0].n], ['p1', 'p2', 2]);
    const byGroup = (await (await fetch(`http://${httpAddress}/dataflows/shop-stats/state?group=acme`)).json()) as { keys: { key: string }[] };
    assert.deepEqual(byGroup.keys.map((k) => k.key), ['p1', 'p2']);
    const status = (await (await fetch(`http://${httpAddress}/dataflows/shop-stats`)).json()) as { services: { metrics: { records: number; late: number; filtered: number } }[] };
    assert.equal(status.services[0].metrics.records, 12);
    assert.equal(status.services[0].metrics.late, 1);
    assert.equal(status.services[0].metrics.filtered, 1);
    const missing = await fetch(`http://${httpAddress}/dataflows/nope/state`);
    assert.equal(missing.status, 404);

    // The SSE feed saw every window result as JSON.
    await until('the change feed', async () => ((feedText.match(/event: window/g) ?? []).length >= 6 ? true : undefined));
    const events = feedText
      .split('\n\n')
      .filter((block) => block.startsWith('event: window'))
      .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as WindowResult);
    assert.deepEqual(events.map((e) => e.id).sort(), windows.map((w) => w.id).sort());

    // The CLI reads the same endpoint.
    const query = await cli(['dataflow', 'query', 'shop-stats', '--key', 'p2', '-O', 'json'], env);
    assert.equal(query.code, 0, query.stderr);
    assert.deepEqual((JSON.parse(query.stdout) as { closed: WindowResult[] }).closed.map((w) => w.values.avg), [5, 10]);
    const table = await cli(['dataflow', 'query', 'shop-stats', '--group', 'acme'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /KEY\s+LAST WINDOW\s+EVENTS\s+AVG\s+HIGH\s+SELLERS\s+AVG DELTA\s+AVG PCTCHANGE\s+AVG ROLLINGMEAN/);
    assert.match(table.stdout, /p1\s+2023-11-14T22:13:30Z\s+1\s+18\s+18\s+1\s+3\s+20\s+16\.5/);
    // SQL over the live state (DuckDB, loaded on this first query).
    const sql = await cli(['dataflow', 'sql', 'shop-stats', "SELECT key, events, filled FROM windows WHERE \"group\" = 'zeta' ORDER BY window_start", '-O', 'json'], env);
    assert.equal(sql.code, 0, sql.stderr);
    assert.deepEqual((JSON.parse(sql.stdout) as { rows: unknown[][] }).rows, [['q1', 1, false], ['q1', 0, true]]);
    const badSql = await cli(['dataflow', 'sql', 'shop-stats', 'SELECT price FROM windows'], env);
    assert.equal(badSql.code, 2);
    assert.match(badSql.stderr, /Referenced column "price" not found/);
    assert.match(badSql.stderr, /tables: windows\(key, group, window_start, window_end, filled, events, avg, high, sellers, avg_delta, avg_pct_change, avg_rolling_mean\)/);
    const list = await cli(['dataflow', 'list', '-O', 'json'], env);
    assert.deepEqual(JSON.parse(list.stdout) as unknown, {
      name: 'shop-stats',
      where: 'local',
      status: 'running',
      pid: child.pid,
      http: httpAddress,
      services: ['per-product'],
      since: (JSON.parse(list.stdout) as { since: string }).since,
      dir: path.join(dir, 'state', 'shop-stats'),
    });

    // stop: a last checkpoint; describe then reads it from disk.
    const stopped = await cli(['dataflow', 'stop', 'shop-stats'], env);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /dataflow "shop-stats" stopped/);
    await feedDone;
    const described = await cli(['dataflow', 'describe', 'shop-stats', '-O', 'json'], env);
    assert.equal(described.code, 0, described.stderr);
    const d = JSON.parse(described.stdout) as { state: string; services: { inputs: { partition: number; next: number }[]; metrics: { records: number } }[] };
    assert.equal(d.state, 'stopped');
    assert.deepEqual(d.services[0].inputs.map((i) => i.next), [6, 6]);
    assert.equal(d.services[0].metrics.records, 12);
    const describedText = await cli(['dataflow', 'describe', 'shop-stats'], env);
    assert.match(describedText.stdout, /per-product: results\s+: 2 windows closed, 6 window results \(1 filled\), \d+ correlations/);
    assert.match(describedText.stdout, /per-product: state\s+: 3 keys, 2 groups; 0 retired, 0 evicted, 0 refused by limits/);
    const notRunning = await cli(['dataflow', 'query', 'shop-stats'], env);
    assert.equal(notRunning.code, 4);
    assert.match(notRunning.stderr, /is not running/);
    const deleted = await cli(['dataflow', 'delete', 'shop-stats'], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await cli(['dataflow', 'describe', 'shop-stats'], env)).code, 4);
  });
});
