// The node's console in a real browser (Debian's chromium through
// playwright-core): a managed dataflow on a test node, the page opened on
// it; the points the chart plots (read from the uPlot instance) equal what
// the state query API returns — counts per key, their deltas, the
// correlations of the group — and a window that closes while the page is
// open arrives over the live change feed. Keeps a screenshot in
// test-output/console.png. Also: /metrics, the connector API on the same
// port, managed dataflow stop/start/delete over HTTP.

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Freshet, type Producer } from '../../src/client/index.js';
import type { CorrelationResult, WindowResult } from '../../src/dataflow/engine.js';
import { repoRoot } from '../helpers/child-node.js';
import { until } from '../helpers/dataflow.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const CHROMIUM = process.env.FRESHET_CHROMIUM ?? '/usr/bin/chromium';
const OUTPUT = path.join(repoRoot, 'test-output');

const YAML = `
apiVersion: 0.5.0
meta: { name: shop, version: 0.1.0 }
config:
  converter: json
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
  checkpoint: { interval: 500ms }
topics:
  sales: {}
  shop-stats: {}
services:
  per-product:
    sources: [{ type: topic, id: sales }]
    window:
      tumbling: { duration: 1s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.product
        group: $.brand
        aggregate:
          sold: count
          avg-price: { mean: $.price }
    series:
      - of: sold
        delta: true
        pct-change: true
        correlation: { windows: 4, within: group, min-points: 3 }
      - of: avg-price
        delta: true
    correlations:
      - { x: sold, y: avg-price, between: key, windows: 12, min-points: 10 }
    history: 50
    sinks:
      - { type: topic, id: shop-stats }
`;

const BASE = 1_700_000_000_000;
const PRODUCTS: [product: string, brand: string, k: number][] = [
  ['p1', 'acme', 1],
  ['p2', 'acme', 2],
  ['p3', 'acme', 3],
  ['q1', 'zeta', 1],
  ['q2', 'zeta', 5],
];

/** Sales of window w: 1–4 per product, varying per product so the series differ. */
async function sellWindow(producer: Producer, w: number): Promise<void> {
  for (const [product, brand, k] of PRODUCTS) {
    const n = 1 + ((w * k + k) % 4);
    for (let i = 0; i < n; i++) await producer.send(null, JSON.stringify({ ts: BASE + w * 1000 + i * 10, product, brand, price: 10 + w + i }));
  }
}

/** A record far enough ahead to close every window before its own. */
async function advanceTo(producer: Producer, w: number): Promise<void> {
  await producer.send(null, JSON.stringify({ ts: BASE + w * 1000, product: 'z-clock', brand: 'clock', price: 0 }));
}

interface GroupState {
  keys: { key: string; closed: WindowResult[] }[];
  correlations: CorrelationResult[];
}

type Plotted = { field: string; group: string; series: { label: string; points: [number, number][] }[] };

/** What the page should plot for a field: value:<aggregate>, series:<fact>:<delta|pctChange>, r:<correlation> or p:<correlation>. */
function expectedFromQuery(state: GroupState, field: string): { label: string; points: [number, number][] }[] {
  const corr = /^(r|p):(.+)$/.exec(field);
  if (corr) {
    const [, measure, name] = corr as unknown as [string, 'r' | 'p', string];
    return state.correlations
      .filter((c) => c.name === name)
      .map((c) => ({ label: `${c.a} ~ ${c.b} (${c.name})`, points: typeof c[measure] === 'number' && c.n >= c.minPoints ? [[c.windowStart, c[measure]]] : [] }) as { label: string; points: [number, number][] })
      .sort((a, b) => a.label.localeCompare(b.label));
  }
  const [kind, fact, f] = field.split(':');
  return state.keys.map((k) => ({
    label: k.key,
    points: k.closed
      .map((w) => [w.windowStart, kind === 'value' ? w.values[fact] : (w.series?.[fact] as unknown as Record<string, unknown>)[f]] as [number, unknown])
      .filter((p): p is [number, number] => typeof p[1] === 'number'),
  }));
}

describe('console: live plots in a browser', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let client: Freshet;
  let producer: Producer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];

  before(async () => {
    node = await startTestNode();
    client = await Freshet.connect({ endpoint: node.endpoint });
    profile = await tempDir('freshet-chromium-');
    await mkdir(OUTPUT, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await producer?.close();
    await client?.close();
    await node?.stop();
    await removeDir(node?.dataDir);
    await removeDir(profile);
  });

  const query = async (suffix: string) => {
    const response = await fetch(`${node.consoleUrl}/dataflows/shop${suffix}`);
    assert.equal(response.status, 200, suffix);
    return response.json() as Promise<unknown>;
  };
  const plotted = () => page.evaluate(() => (window as unknown as { freshetConsole: { plotted(): unknown } }).freshetConsole.plotted()) as Promise<Plotted>;

  it('serves the page, its assets and the APIs on one port', async () => {
    assert.ok(node.consoleUrl, 'the console runs');
    assert.match(node.consoleUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const html = await fetch(`${node.consoleUrl}/`);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await html.text(), /<script type="module" src="\/assets\/app.js">/);
    const uplot = await fetch(`${node.consoleUrl}/assets/uplot/uPlot.esm.js`);
    assert.equal(uplot.status, 200);
    assert.match(uplot.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${node.consoleUrl}/assets/..%2Fserver.ts`)).status, 404);
    assert.deepEqual(await (await fetch(`${node.consoleUrl}/connectors`)).json(), []);
    assert.deepEqual(await (await fetch(`${node.consoleUrl}/dataflows`)).json(), []);
  });

  it('runs a managed dataflow created over HTTP', async () => {
    const created = await fetch(`${node.consoleUrl}/dataflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: YAML }) });
    assert.equal(created.status, 200, await created.clone().text());
    assert.equal(((await created.json()) as { state: string }).state, 'running');
    const again = await fetch(`${node.consoleUrl}/dataflows`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: YAML }) });
    assert.equal(again.status, 409);
    producer = await client.producer('sales');
    for (let w = 0; w < 8; w++) await sellWindow(producer, w);
    await advanceTo(producer, 9);
    await producer.flush();
    // Windows 0–7 have sales; window 8 has none and is filled (0 sold) once the clock record at 9 s closes it.
    await until('9 closed windows per acme product', async () => {
      const state = (await query('/state?group=acme')) as GroupState;
      return state.keys.length === 3 && state.keys.every((k) => k.closed.length === 9) ? true : undefined;
    });
    const state = (await query('/state?group=acme')) as GroupState;
    assert.deepEqual(state.keys.map((k) => [k.closed[8].filled, k.closed[8].values.sold]), [[true, 0], [true, 0], [true, 0]]);
  });

  it('plots what the query API returns: counts, deltas, correlations and p-values; weak correlations greyed out; CSV of the plot', async () => {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${node.consoleUrl}/#df=shop&group=acme&range=0`);
    await page.waitForFunction(() => (window as unknown as { freshetConsole?: { ready: boolean } }).freshetConsole?.ready === true, null, { timeout: 15_000 });
    await page.waitForSelector('#chart canvas');

    const state = (await query('/state?group=acme')) as GroupState;
    let shown = await plotted();
    assert.equal(shown.field, 'value:sold', 'the series aggregate is plotted by default');
    assert.deepEqual(shown.series, expectedFromQuery(state, 'value:sold'));
    assert.equal(shown.series[0].points.length, 9);

    await page.selectOption('#field', 'series:sold:delta');
    shown = await plotted();
    assert.equal(shown.field, 'series:sold:delta');
    assert.deepEqual(shown.series, expectedFromQuery(state, 'series:sold:delta'));
    assert.equal(shown.series[0].points.length, 8, 'no delta for the first window');

    await page.selectOption('#field', 'r:sold');
    shown = await plotted();
    const pairs = expectedFromQuery(state, 'r:sold');
    assert.equal(pairs.length, 3);
    assert.ok(pairs.every((p) => p.points.length === 1));
    assert.deepEqual(shown.series, pairs);
    await page.selectOption('#field', 'p:sold');
    assert.deepEqual((await plotted()).series, expectedFromQuery(state, 'p:sold'));

    // sold against avg-price of each product: 9 points < min-points 10, so greyed out in the table and not plotted.
    await page.selectOption('#field', 'r:sold~avg-price');
    shown = await plotted();
    assert.deepEqual(shown.series.map((s) => [s.label, s.points.length]), [['p1 ~ p1 (sold~avg-price)', 0], ['p2 ~ p2 (sold~avg-price)', 0], ['p3 ~ p3 (sold~avg-price)', 0]]);

    // The plot's data as CSV (the download button): one row per window start, one column per series.
    await page.selectOption('#field', 'value:sold');
    // With a plain field every correlation is listed: the three of sold across keys first, the weak ones after, greyed out.
    const rows = await page.$$eval('#correlations tbody tr', (trs) => trs.map((r) => [r.className, r.children[0].textContent]));
    assert.deepEqual(rows, [['', 'sold'], ['', 'sold'], ['', 'sold'], ['weak', 'sold~avg-price'], ['weak', 'sold~avg-price'], ['weak', 'sold~avg-price']]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    assert.equal(download.suggestedFilename(), 'shop-per-product-value-sold.csv');
    const csv = await readFile((await download.path())!, 'utf8');
    const expected = expectedFromQuery(state, 'value:sold');
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], ['window_start', ...expected.map((s) => s.label)].join(','));
    assert.equal(lines.length, 1 + 9);
    assert.equal(lines[1], [new Date(expected[0].points[0][0]).toISOString(), ...expected.map((s) => String(s.points[0][1]))].join(','));

    // The dataflow list and the legend are there.
    assert.match((await page.textContent('#dataflows')) ?? '', /shop/);
    assert.match((await page.textContent('#dataflows')) ?? '', /running/);
    assert.equal(await page.textContent('#live'), 'live');
  });

  it('updates live as windows close', async () => {
    await page.selectOption('#field', 'value:sold');
    await sellWindow(producer, 9);
    await sellWindow(producer, 10);
    await advanceTo(producer, 12);
    await producer.flush();
    const shown = await until('the new windows on the page', async () => {
      const p = await plotted();
      return p.series.length === 3 && p.series.every((s) => s.points.length === 12) ? p : undefined;
    });
    const state = (await query('/state?group=acme')) as GroupState;
    assert.deepEqual(shown.series, expectedFromQuery(state, 'value:sold'));
    // The correlations of the live windows arrived too: the latest of each pair is the query API's.
    await page.selectOption('#field', 'r:sold');
    const r = await plotted();
    for (const expected of expectedFromQuery(state, 'r:sold')) {
      const series = r.series.find((s) => s.label === expected.label);
      assert.ok(series, expected.label);
      assert.deepEqual(series.points.at(-1), expected.points[0]);
      assert.ok(series.points.length >= 3, `${expected.label}: live points added to the one from the query`);
    }

    // Another group, chosen in the page.
    await page.selectOption('#group', 'zeta');
    await page.waitForFunction(() => (window as unknown as { freshetConsole: { plotted(): { group: string; series: unknown[] } } }).freshetConsole.plotted().group === 'zeta');
    await page.selectOption('#field', 'value:sold');
    const zeta = await until('the zeta group plotted', async () => {
      const p = await plotted();
      return p.group === 'zeta' && p.series.length === 2 ? p : undefined;
    });
    assert.deepEqual(zeta.series, expectedFromQuery((await query('/state?group=zeta')) as GroupState, 'value:sold'));

    await page.selectOption('#group', 'acme');
    await until('acme again', async () => ((await plotted()).series.length === 3 ? true : undefined));
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(OUTPUT, 'console.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('topic browser (latest records as JSON trees, search by key, live records), pipeline graph with rates, SQL box', async () => {
    type Explore = { loaded: number; liveOpens: number; liveRecords: number; pipelineLoads: number; sqlRuns: number; records(): { offset: number; key: string | null; value: unknown }[]; pipeline(): { nodes: { id: string }[]; edges: { from: string; to: string; rate: number | null }[] } };
    const explore = <T>(fn: (e: Explore) => T) => page.evaluate(`(${fn.toString()})(window.freshetExplore)`) as Promise<T>;
    const counter = (name: keyof Explore) => page.evaluate((n) => (window as unknown as { freshetExplore: Record<string, number> }).freshetExplore[n], name) as Promise<number>;

    // Topics: the latest 50 records of shop-stats, newest first, as the client reads them.
    await page.click('#views button[data-view="topics"]');
    await until('the topic list', async () => ((await counter('loaded')) >= 1 ? true : undefined));
    await page.selectOption('#topic', 'shop-stats');
    await until('shop-stats records', async () => ((await counter('loaded')) >= 2 ? true : undefined));
    const [p] = await client.admin.listPartitions('shop-stats');
    const all: { offset: number; key: string | null; value: unknown }[] = [];
    for await (const r of await client.consumer('shop-stats', { offset: 'beginning', end: p.highWatermark - 1, continuous: false })) all.push({ offset: r.offset, key: r.keyString(), value: r.json() });
    const shown = await explore((e) => e.records());
    assert.deepEqual(shown.map((r) => r.offset), all.slice(-50).reverse().map((r) => r.offset));
    assert.deepEqual(shown[0].value, all.at(-1)!.value);
    assert.ok((await page.$$('#records > li')).length === 50);
    assert.ok((await page.$$('#records > li:first-child details')).length > 0, 'JSON shown as a tree');
    await page.fill('#topic-key', 'p2~');
    await page.dispatchEvent('#topic-key', 'change');
    await until('the key search', async () => ((await counter('loaded')) >= 3 ? true : undefined));
    const byKey = await explore((e) => e.records());
    assert.deepEqual(byKey.map((r) => r.offset), all.filter((r) => (r.key ?? '').includes('p2~')).slice(-50).reverse().map((r) => r.offset));
    assert.ok(byKey.length > 0 && byKey.every((r) => r.key!.includes('p2~')));
    await page.screenshot({ path: path.join(OUTPUT, 'console-topics.png'), fullPage: true });

    // Live: a record produced now appears (its time is inside the open window: no window closes).
    await page.fill('#topic-key', '');
    await page.dispatchEvent('#topic-key', 'change');
    await page.selectOption('#topic', 'sales');
    await until('sales records', async () => ((await counter('loaded')) >= 5 ? true : undefined));
    await page.check('#topic-live');
    await until('the live stream open', async () => ((await counter('liveOpens')) >= 1 ? true : undefined));
    await producer.send('live-key', JSON.stringify({ ts: BASE + 12_500, product: 'p1', brand: 'acme', price: 1, live: true }));
    await producer.flush();
    await until('the live record on the page', async () => ((await counter('liveRecords')) >= 1 ? true : undefined));
    const newest = (await explore((e) => e.records()))[0];
    assert.deepEqual([newest.key, newest.value], ['live-key', { ts: BASE + 12_500, product: 'p1', brand: 'acme', price: 1, live: true }]);
    await page.uncheck('#topic-live');

    // Pipeline: sales → shop → shop-stats, with rates once two readings were taken.
    await page.click('#views button[data-view="pipeline"]');
    const graph = await until('the pipeline with rates', async () => ((await counter('pipelineLoads')) >= 2 ? explore((e) => e.pipeline()) : undefined));
    const ids = graph.nodes.map((n) => n.id);
    for (const id of ['topic:sales', 'dataflow:shop', 'topic:shop-stats']) assert.ok(ids.includes(id), id);
    const edge = (from: string, to: string) => graph.edges.find((e) => e.from === from && e.to === to);
    assert.ok(edge('topic:sales', 'dataflow:shop') && edge('dataflow:shop', 'topic:shop-stats'));
    assert.ok(graph.edges.every((e) => e.rate === null || e.rate >= 0));
    assert.equal(typeof edge('topic:sales', 'dataflow:shop')!.rate, 'number');
    assert.equal((await page.$$('#pipeline g.node')).length, graph.nodes.length);
    assert.match((await page.textContent('#pipeline g.edge text')) ?? '', /\/s$/);
    await page.screenshot({ path: path.join(OUTPUT, 'console-pipeline.png'), fullPage: true });

    // SQL over the live state: the steps per acme product, as the query API has them.
    await page.click('#views button[data-view="sql"]');
    await page.fill('#sql-text', `SELECT key, count(*) AS steps, sum(sold) AS sold FROM windows WHERE "group" = 'acme' GROUP BY key ORDER BY key`);
    await page.click('#sql-run');
    await until('the SQL result', async () => ((await counter('sqlRuns')) >= 1 ? true : undefined));
    const acme = (await query('/state?group=acme')) as GroupState;
    const expectedRows = acme.keys.map((k) => [k.key, String(k.closed.length), String(k.closed.reduce((n, w) => n + (w.values.sold as number), 0))]);
    const cells = await page.$$eval('#sql-result tbody tr', (rows) => rows.map((r) => [...r.children].map((td) => td.textContent)));
    assert.deepEqual(cells, expectedRows);
    await page.fill('#sql-text', 'SELECT nope FROM windows');
    await page.click('#sql-run');
    await until('the SQL error', async () => ((await counter('sqlRuns')) >= 2 ? true : undefined));
    const error = (await page.textContent('#sql-error')) ?? '';
    assert.match(error, /Referenced column "nope" not found/);
    assert.match(error, /windows\(key, group, window_start/);
    assert.match(error, /correlations\(name, group, a, b/);
    await page.screenshot({ path: path.join(OUTPUT, 'console-sql.png'), fullPage: true });
    await page.click('#views button[data-view="plots"]');
    assert.deepEqual(pageErrors, []);
  });

  it('exposes Prometheus metrics of the node and the dataflow', async () => {
    const response = await fetch(`${node.consoleUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = await response.text();
    const value = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const status = (await query('')) as { services: { metrics: { records: number; windowResults: number } }[] };
    assert.equal(value('freshet_dataflow_up{dataflow="shop"}'), 1);
    assert.equal(value('freshet_dataflow_records_total{dataflow="shop",service="per-product"}'), status.services[0].metrics.records);
    assert.equal(value('freshet_dataflow_window_results_total{dataflow="shop",service="per-product"}'), status.services[0].metrics.windowResults);
    assert.ok(value('freshet_partition_high_watermark{topic="sales",partition="0"}') > 0);
    assert.ok(value('freshet_sc_connections') >= 1);
    assert.match(text, /^freshet_process_cpu_seconds_total/m);
  });

  it('stops, starts and deletes the managed dataflow', async () => {
    const post = (suffix: string) => fetch(`${node.consoleUrl}/dataflows/shop${suffix}`, { method: 'POST' });
    assert.equal((await post('/stop')).status, 200);
    assert.equal(((await query('')) as { state: string }).state, 'stopped');
    assert.equal((await fetch(`${node.consoleUrl}/dataflows/shop/state`)).status, 404);
    assert.equal((await post('/start')).status, 200);
    const state = (await query('/state?group=acme')) as GroupState;
    assert.equal(state.keys[0].closed.length, 12, 'resumed from its checkpoint');
    assert.equal((await fetch(`${node.consoleUrl}/dataflows/shop`, { method: 'DELETE' })).status, 200);
    assert.deepEqual(await (await fetch(`${node.consoleUrl}/dataflows`)).json(), []);
  });
});
