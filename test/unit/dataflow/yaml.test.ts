import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServiceEngine, type WindowResult } from '../../../src/dataflow/engine.js';
import { compileExpression } from '../../../src/dataflow/expr.js';
import { parseDataflowYaml } from '../../../src/dataflow/yaml.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/dataflow');

const FULL = `
apiVersion: 0.5.0
meta:
  name: price-stats
  version: 0.2.0
  namespace: freshet
config:
  converter: json
  consumer:
    default_starting_offset: { position: Beginning, value: 0 }
  checkpoint: { interval: 500ms, records: 1000 }
types:
  price-event:
    type: object
    properties:
      ts: { type: i64 }
topics:
  prices:
    name: prices-v1
    schema:
      value: { type: price-event }
  stats: { partitions: 2 }
  late-prices: {}
services:
  per-product:
    sources:
      - type: topic
        id: prices
        transforms:
          - operator: filter
            module: ./ops.ts
            function: positive
    transforms:
      - operator: map
        expr: "{product: $.product, brand: lower($.brand), price: $.price, ts: $.ts}"
    window:
      tumbling: { duration: 1m }
      watermark: { grace-period: 10s, idleness: 2m }
      late: { policy: side-output, topic: late-prices }
      assign-timestamp: $.ts
      partition:
        assign-key: { module: ./ops.ts }
        group: $.brand
        aggregate:
          events: count
          avg: { mean: $.price }
          total_cents: { sum: { module: ./ops.ts, function: cents } }
    series:
      of: avg
      delta: true
      pct-change: true
      rolling-mean: { windows: 3 }
      correlation: { windows: 10, within: group }
    sinks:
      - type: topic
        id: stats
`;

async function yamlError(text: string): Promise<string> {
  try {
    await parseDataflowYaml(text, { baseDir: fixtures });
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected an error');
}

const MINIMAL = (service: string) => `
apiVersion: 0.5.0
meta: { name: m }
topics: { in: {}, out: {} }
services:
  s:
${service}`;

describe('dataflow YAML', () => {
  it('compiles a full definition (expressions, module functions, window, series, sinks) and runs it', async () => {
    const spec = await parseDataflowYaml(FULL, { baseDir: fixtures });
    assert.equal(spec.name, 'price-stats');
    assert.equal(spec.version, '0.2.0');
    assert.deepEqual(spec.checkpoint, { intervalMs: 500, records: 1000 });
    assert.deepEqual([...spec.topics.keys()], ['prices-v1', 'stats', 'late-prices']);
    assert.equal(spec.topics.get('stats')!.partitions, 2);
    const s = spec.services[0];
    assert.equal(s.sources[0].topic, 'prices-v1');
    assert.equal(s.sources[0].offset, 'beginning');
    assert.deepEqual({ ...s.window }, { kind: 'tumbling', size: 60_000, slide: 60_000, grace: 10_000, idleness: 120_000, late: { policy: 'side-output', topic: 'late-prices' } });
    assert.deepEqual(s.transforms.map((t) => t.kind), ['map', 'assign-timestamp', 'assign-key']);
    assert.deepEqual(s.aggregates.map((a) => [a.name, a.op]), [['events', 'count'], ['avg', 'mean'], ['total_cents', 'sum']]);
    assert.deepEqual(s.series, [{ of: 'avg', delta: true, pctChange: true, rollingMean: 3 }]);
    assert.deepEqual(s.correlations, [{ name: 'avg', x: 'avg', y: 'avg', windows: 10, lag: 0, between: 'group', minPoints: 5 }]);
    assert.equal(s.timeSteps, 'dense');
    assert.deepEqual(s.sinks, [{ topic: 'stats' }]);

    const engine = new ServiceEngine(spec.name, s);
    engine.registerInput('prices-v1', 0);
    const events = [
      { product: 'p1', brand: 'ACME', price: 2.5, ts: 1000 },
      { product: 'p1', brand: 'ACME', price: -1, ts: 2000 },
      { product: 'p1', brand: 'ACME', price: 3.5, ts: 3000 },
    ];
    events.forEach((ev, offset) => engine.process({ topic: 'prices-v1', partition: 0, offset, timestamp: 0, key: null, value: JSON.stringify(ev) }));
    engine.finish();
    const [w] = engine.takeOutputs().map((o) => o.value as WindowResult);
    assert.equal(w.key, 'p1');
    assert.equal(w.group, 'acme');
    assert.deepEqual(w.values, { events: 2, avg: 3, total_cents: 600 });
  });

  it('errors name the key path', async () => {
    assert.equal(await yamlError('apiVersion: 0.4.0\nmeta: {name: x}\ntopics: {}\nservices: {}'), 'apiVersion: expected 0.5.0 or 0.6.0, got "0.4.0"');
    assert.match(await yamlError(MINIMAL('    sources: [{ type: topic, id: nope }]')), /^services\.s\.sources\[0\]\.id: no topic "nope" in topics \(defined: in, out\)/);
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    window:\n      tumbling: { duration: 5 parsecs }')),
      /^services\.s\.window\.tumbling\.duration: unknown time unit "parsecs"/,
    );
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    transforms:\n      - operator: filter\n        run: |\n          fn f() {}')),
      /^services\.s\.transforms\[0\]\.run: inline Rust code is not supported/,
    );
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    transforms:\n      - operator: filter\n        expr: $.a >')),
      /^services\.s\.transforms\[0\]\.expr: expected a value \(the expression ended\) at position 6 of `\$\.a >`/,
    );
    assert.match(await yamlError(MINIMAL('    sources: [{ id: in }]\n    transforms:\n      - operator: squash\n        expr: $')), /^services\.s\.transforms\[0\]\.operator: unknown operator "squash"/);
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    window:\n      tumbling: { duration: 1s }\n      partition:\n        aggregate:\n          x: { median: $.v }')),
      /^services\.s\.window\.partition\.aggregate\.x: expected `count` or one of/,
    );
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    window:\n      tumbling: { duration: 1s }\n    series: { of: avg }')),
      /services\.s\.series\.avg: "avg" is not an aggregate of the window \(count\)/,
    );
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    window:\n      tumbling: { duration: 1s }\n    series:\n      correlation: { windows: 5, within: group }')),
      /^services\.s\.series\.correlation\.within: needs window\.partition\.group/,
    );
    assert.match(await yamlError(MINIMAL('    sources: [{ id: in }]\n    windw: {}')), /^services\.s\.windw: unknown key \(expected one of: sources/);
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    transforms:\n      - operator: map\n        module: ./ops.ts\n        function: nothing')),
      /^services\.s\.transforms\[0\]\.function: \.\/ops\.ts exports no function "nothing" \(it exports: cents, default, positive\)/,
    );
    assert.match(await yamlError('a: [1, 2'), /^invalid YAML at line 1/);
    assert.match(
      await yamlError(MINIMAL('    sources: [{ id: in }]\n    window:\n      sliding: { duration: 1s, slide: 2s }')),
      /^services\.s\.window\.sliding\.slide: must be > 0 and ≤ the duration/,
    );
  });
});

describe('dataflow YAML: time steps, several facts, correlations, limits', () => {
  const TICKER = `    sources: [{ id: in }]
    window:
      tumbling: { duration: 1m }
      partition:
        assign-key: $.k
        group: $.g
        aggregate:
          changes: count
          price: { last: $.p, fill: none }
          rank: { mean: $.r }
    time-steps: sparse
    retire-after: 1h
    limits: { max-keys: 5000, max-groups: 10, max-pairs: 200 }
    series:
      - of: changes
        delta: true
        correlation: { windows: 12, within: group, top: 3, min-points: 6 }
      - of: price
        pct-change: true
        rolling-mean: 4
    correlations:
      - { x: price, y: rank, between: key, windows: 8, lag: 2 }
      - { x: price, y: changes, pairs: [[a, b]], windows: 5 }
`;

  it('compiles a list of series, correlations of every kind, fill rules, time-steps, retire-after (a duration: its steps) and limits', async () => {
    const s = (await parseDataflowYaml(MINIMAL(TICKER))).services[0];
    assert.deepEqual(s.aggregates.map((a) => [a.name, a.op, a.fill ?? null]), [['changes', 'count', null], ['price', 'last', 'none'], ['rank', 'mean', null]]);
    assert.deepEqual(s.series, [{ of: 'changes', delta: true, pctChange: false }, { of: 'price', delta: false, pctChange: true, rollingMean: 4 }]);
    assert.deepEqual(s.correlations, [
      { name: 'changes', x: 'changes', y: 'changes', windows: 12, lag: 0, between: 'group', top: 3, minPoints: 6 },
      { name: 'price~rank@2', x: 'price', y: 'rank', windows: 8, lag: 2, between: 'key', minPoints: 5 },
      { name: 'price~changes', x: 'price', y: 'changes', windows: 5, lag: 0, between: 'pairs', pairs: [['a', 'b']], minPoints: 5 },
    ]);
    assert.equal(s.timeSteps, 'sparse');
    assert.equal(s.retireAfter, 60);
    assert.deepEqual(s.limits, { maxKeys: 5000, maxGroups: 10, maxPairs: 200 });
  });

  it('errors name the key path', async () => {
    assert.match(await yamlError(MINIMAL(TICKER.replace('fill: none', 'fill: carry'))), /aggregate\.price\.fill: expected one of zero, previous, none, got "carry"/);
    assert.match(await yamlError(MINIMAL(TICKER.replace('between: key,', ''))), /correlations\[0\]: give one of pairs: \[\[keyA, keyB\], \.\.\.\], within: group, or between: key/);
    assert.match(await yamlError(MINIMAL(TICKER.replace('time-steps: sparse', 'time-steps: hourly'))), /services\.s\.time-steps: expected dense or sparse/);
    assert.match(await yamlError(MINIMAL(TICKER.replace('max-pairs: 200', 'max-pairs: 0'))), /services\.s\.limits\.max-pairs: expected an integer ≥ 1/);
    assert.match(await yamlError(MINIMAL(TICKER.replace('y: rank, between: key', 'y: price, between: key').replace('lag: 2', 'lag: 0'))), /a fact against itself in the same key is always 1/);
    assert.match(await yamlError(MINIMAL(TICKER.replace('windows: 8', 'windows: 2'))), /correlations\[0\]\.windows: expected an integer ≥ 3/);
  });
});

describe('dataflow expressions', () => {
  const run = (src: string, value: unknown, key: string | null = 'k1') => compileExpression(src)({ value, key, timestamp: 42 });
  it('paths, operators, functions, literals', () => {
    const v = { a: { b: [10, 20] }, s: 'Hello', n: '7', 'odd key': 1 };
    assert.equal(run('$.a.b[1]', v), 20);
    assert.equal(run('$.a.b[-1] + 1', v), 21);
    assert.equal(run('$["odd key"]', v), 1);
    assert.equal(run('$.missing.deeper', v), null);
    assert.equal(run('$.s + "!"', v), 'Hello!');
    assert.equal(run('number($.n) * 2', v), 14);
    assert.equal(run('lower($.s) == "hello" && len($.a.b) == 2', v), true);
    assert.equal(run('$.x ?? "default"', v), 'default');
    assert.equal(run('$.a.b[0] > 5 ? "big" : "small"', v), 'big');
    assert.deepEqual(run('{k: key, t: timestamp, list: [1, "two", null]}', v), { k: 'k1', t: 42, list: [1, 'two', null] });
    assert.equal(run('date("2024-01-01T00:00:00Z")', v), 1704067200000);
    assert.equal(run('floor(1234, 100)', v), 1200);
    assert.equal(run('!exists($.nope) || false', v), true);
    assert.equal(run('$ == {a: {b: [10, 20]}, s: "Hello", n: "7", "odd key": 1}', v), true);
  });

  it('refuses unknown names and functions with the position', () => {
    assert.throws(() => compileExpression('brand == 1'), /unknown name "brand" \(paths start with \$, e\.g\. \$\.brand/);
    assert.throws(() => compileExpression('now()'), /unknown function "now"/);
    assert.throws(() => compileExpression('lower()'), /lower\(\) takes 1 arguments, got 0/);
    assert.throws(() => compileExpression('$.a @ 1'), /unexpected character "@" at position 5/);
  });
});
