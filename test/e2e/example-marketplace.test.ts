// examples/marketplace as `npm start` runs it (examples/marketplace/start.ts
// in a child process), on free ports, a temporary data dir and database, 1 s
// time steps and a smaller catalogue: the simulator is polled by the
// http-source connector, the SmartModules clean the records, the dataflow
// closes windows with deltas and within-brand correlations (query API), the
// sinks write them to SQLite, and SIGTERM stops it all cleanly.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Freshet } from '../../src/client/index.js';
import type { CorrelationResult, WindowResult } from '../../src/dataflow/engine.js';
import { repoRoot } from '../helpers/child-node.js';
import { removeDir, tempDir } from '../helpers/test-node.js';

const START = path.join(repoRoot, 'examples', 'marketplace', 'start.ts');

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('examples/marketplace (npm start)', () => {
  let dir: string;
  let child: ChildProcess;
  let stderr = '';
  let exited: Promise<number | null>;
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (name: string) => (timings[name] = Date.now() - t0);

  before(async () => {
    dir = await tempDir('freshet-marketplace-');
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await removeDir(dir);
    process.stderr.write(`# marketplace example timings (ms since start): ${JSON.stringify(timings)}\n`);
  });

  it('runs the whole pipeline: simulator → http-source + SmartModules → dataflow → SQLite and the query API', { timeout: 150_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, FRESHET_LOG: 'warn' };
    delete env.NODE_TEST_CONTEXT;
    // prettier-ignore
    const args = ['--import', 'tsx', START, '--data-dir', path.join(dir, 'data'), '--db', path.join(dir, 'marketplace.db'),
      '--sc-port', '0', '--spu-port', '0', '--console-port', '0', '--simulator-port', '0', '--products', '400', '--step', '1s', '--tick', '100ms'];
    child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));

    const consoleUrl = await until('the example to start', () => /console \(live plots\): (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)?.[1] ?? (child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined), 30_000);
    const endpoint = /SC {2}\(connect here\): (\S+)/.exec(stderr)![1];
    const dbFile = /SQLite: (\S+)/.exec(stderr)![1];
    assert.equal(dbFile, path.join(dir, 'marketplace.db'));
    mark('started');

    const get = async <T>(route: string): Promise<T> => {
      const response = await fetch(`${consoleUrl}${route}`);
      assert.equal(response.status, 200, `${route}: ${await response.clone().text()}`);
      return (await response.json()) as T;
    };
    const listed = await get<{ name: string; state: string }[]>('/dataflows');
    assert.deepEqual(listed.map((d) => [d.name, d.state]), [['marketplace', 'running']]);
    const connectors = await get<{ name: string; type: string }[]>('/connectors');
    assert.deepEqual(connectors.map((c) => [c.name, c.type]), [
      ['marketplace-correlations-sqlite', 'sql-sink'],
      ['marketplace-products', 'http-source'],
      ['marketplace-windows-sqlite', 'sql-sink'],
    ]);

    // Window results with series, and correlations with a value, through the query API.
    type Summary = { groups: string[]; metrics: { windowResults: number; correlations: number; failed: number } };
    const summary = await until(
      'window results and correlations',
      async () => {
        const s = await get<Summary>('/dataflows/marketplace/state');
        return s.metrics.windowResults > 0 && s.metrics.correlations > 0 ? s : undefined;
      },
      // The first run on a machine compiles the built-in SmartModules (~25 s on 2 cores); later ones load them from a cache.
      75_000,
    );
    mark('first results');
    assert.equal(summary.metrics.failed, 0, 'every cleaned record is valid for the dataflow');
    type GroupState = { keys: { key: string; group: string; closed: WindowResult[] }[]; correlations: CorrelationResult[] };
    const group = await until(
      'a brand with a correlation computed over 3 windows or more',
      async () => {
        for (const g of (await get<Summary>('/dataflows/marketplace/state')).groups) {
          const state = await get<GroupState>(`/dataflows/marketplace/state?group=${encodeURIComponent(g)}`);
          if (state.correlations.some((c) => c.r !== null && c.n >= 3)) return state;
        }
        return undefined;
      },
      30_000,
    );
    mark('correlations');
    const withHistory = group.keys.find((k) => k.closed.length >= 2)!;
    const last = withHistory.closed.at(-1)!;
    assert.match(withHistory.key, /^MP-\d{6}$/);
    assert.equal(last.windowEnd - last.windowStart, 1000, '1 s steps');
    assert.equal(typeof last.values.changes, 'number');
    assert.equal(typeof last.values.price, 'number', 'the price string was converted (and carried into filled steps)');
    // Dense time steps: every step of a product has a result; one without changes counts 0 and is marked filled.
    for (const k of group.keys) {
      const starts = k.closed.map((w) => w.windowStart);
      assert.deepEqual(starts, starts.map((_, i) => starts[0] + i * 1000), `${k.key}: consecutive steps`);
      for (const w of k.closed) assert.ok(w.filled ? w.values.changes === 0 : (w.values.changes as number) >= 1, `${k.key}@${w.windowStart}: filled ⇔ 0 changes`);
    }
    assert.ok('delta' in last.series!.changes && 'rollingMean' in last.series!.changes);
    assert.ok('pctChange' in last.series!.price);
    const correlation = group.correlations.find((c) => c.r !== null)!;
    assert.ok(correlation.r! >= -1 && correlation.r! <= 1);
    assert.equal(correlation.group, withHistory.group, 'correlations are within the brand');

    // The SmartModules cleaned the raw API JSON: flat records, no heartbeats.
    const client = await Freshet.connect({ endpoint });
    try {
      const consumer = await client.consumer('marketplace-changes', { offset: 'beginning', end: 49, continuous: false });
      const records: Record<string, unknown>[] = [];
      for await (const record of consumer) records.push(record.json<Record<string, unknown>>());
      assert.equal(records.length, 50);
      for (const r of records) {
        assert.deepEqual(Object.keys(r).sort(), ['brand', 'changed', 'currency', 'price', 'product', 'rank', 'rating', 'reviews', 'seq', 'stock', 'title', 'ts']);
        assert.equal(typeof r.brand, 'string');
      }
    } finally {
      await client.close();
    }

    // Rows in SQLite, equal to the dataflow's results.
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      const counts = await until(
        'rows in both SQLite tables',
        () => {
          const windows = (db.prepare('SELECT count(*) AS n FROM product_windows').get() as { n: number }).n;
          // Brand correlations with an r (the sink may not have written one yet when the first rows are there).
          const correlations = (db.prepare("SELECT count(*) AS n FROM brand_correlations WHERE r IS NOT NULL AND correlation = 'changes'").get() as { n: number }).n;
          return windows > 0 && correlations > 0 && db.prepare('SELECT 1 FROM product_windows WHERE id = ?').get(last.id) ? { windows, correlations } : undefined;
        },
        30_000,
      );
      mark('sqlite rows');
      assert.ok(counts.windows > 0 && counts.correlations > 0);
      const row = db.prepare('SELECT * FROM product_windows WHERE id = ?').get(last.id) as Record<string, unknown>;
      assert.deepEqual(
        { product: row.product, brand: row.brand, window_start: row.window_start, changes: row.changes, price: row.price, delta: row.delta },
        { product: last.key, brand: last.group, window_start: last.windowStart, changes: last.values.changes, price: last.values.price, delta: last.series!.changes.delta ?? null },
      );
      const stored = db.prepare("SELECT * FROM brand_correlations WHERE r IS NOT NULL AND correlation = 'changes' LIMIT 1").get() as { product_a: string; product_b: string; r: number; brand: string };
      assert.ok(stored.product_a < stored.product_b);
      assert.ok(stored.r >= -1 && stored.r <= 1);
    } finally {
      db.close();
    }

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    mark('stopped');
    assert.match(stderr, /SIGTERM received, stopping/);
  });
});
