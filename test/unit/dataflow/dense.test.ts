// Dense time steps, fill rules, series of several facts, correlations with
// points and p-values, retirement and state limits. Expected values are
// worked out by hand in the comments; p-values and r of the correlations
// come from scipy.stats.pearsonr on the same points.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count, dataflow, distinct, last, max, mean, min, sum, tumbling } from '../../../src/dataflow/builder.js';
import { ServiceEngine, type CorrelationResult, type InputRecord, type Output, type WindowResult } from '../../../src/dataflow/engine.js';
import type { DataflowSpec } from '../../../src/dataflow/spec.js';

type Ev = Record<string, unknown> & { k: string; ts: number };

function engineOf(spec: DataflowSpec): { e: ServiceEngine; feed: (evs: Ev[]) => void } {
  const e = new ServiceEngine(spec.name, spec.services[0], { now: () => 1 });
  e.registerInput('in', 0);
  let offset = 0;
  const feed = (evs: Ev[]) => {
    for (const ev of evs) e.process({ topic: 'in', partition: 0, offset: offset++, timestamp: 0, key: null, value: JSON.stringify(ev) } satisfies InputRecord);
  };
  return { e, feed };
}

const windowsOf = (outs: Output[]) => outs.filter((o) => o.kind === 'window').map((o) => o.value as WindowResult);
const correlationsOf = (outs: Output[]) => outs.filter((o) => o.kind === 'correlation').map((o) => o.value as CorrelationResult);
const close = (x: number | null, y: number) => x !== null && Math.abs(x - y) < 1e-9;

const base = () => dataflow('d').source('in').assignTimestamp('$.ts').assignKey('$.k');

describe('dense time steps', () => {
  it('a step without events: count, sum, distinct 0; last carried; min, max, mean null; marked filled', () => {
    const { e, feed } = engineOf(
      base()
        .window(tumbling(10))
        .aggregate({ n: count(), total: sum('$.v'), sellers: distinct('$.s'), price: last('$.v'), lo: min('$.v'), hi: max('$.v'), avg: mean('$.v') })
        .build(),
    );
    feed([{ k: 'a', ts: 1, v: 4, s: 'x' }, { k: 'a', ts: 3, v: 6, s: 'y' }, { k: 'a', ts: 31, v: 2, s: 'x' }]);
    e.finish();
    const rows = windowsOf(e.takeOutputs()).map((w) => [w.windowStart, w.filled, w.values]);
    assert.deepEqual(rows, [
      [0, false, { n: 2, total: 10, sellers: 2, price: 6, lo: 4, hi: 6, avg: 5 }],
      [10, true, { n: 0, total: 0, sellers: 0, price: 6, lo: null, hi: null, avg: null }],
      [20, true, { n: 0, total: 0, sellers: 0, price: 6, lo: null, hi: null, avg: null }],
      [30, false, { n: 1, total: 2, sellers: 1, price: 2, lo: 2, hi: 2, avg: 2 }],
    ]);
    assert.equal(e.metrics.filledResults, 2);
    assert.equal(e.metrics.windowsClosed, 4);
  });

  it('fill: overrides the default per aggregate', () => {
    const { e, feed } = engineOf(
      base()
        .window(tumbling(10))
        .aggregate({ n: count({ fill: 'none' }), price: last('$.v', { fill: 'zero' }), avg: mean('$.v', { fill: 'previous' }), hi: max('$.v', { fill: 'previous' }) })
        .build(),
    );
    feed([{ k: 'a', ts: 1, v: 4 }, { k: 'a', ts: 21, v: 8 }]);
    e.finish();
    assert.deepEqual(
      windowsOf(e.takeOutputs()).map((w) => w.values),
      [{ n: 1, price: 4, avg: 4, hi: 4 }, { n: null, price: 0, avg: 4, hi: 4 }, { n: 1, price: 8, avg: 8, hi: 8 }],
    );
  });

  it('a key begins at the step of its first event; steps with no events at all are filled for every key', () => {
    const { e, feed } = engineOf(base().window(tumbling(10)).aggregate({ n: count() }).build());
    feed([{ k: 'a', ts: 5 }, { k: 'b', ts: 25 }, { k: 'a', ts: 45 }]);
    e.finish();
    assert.deepEqual(
      windowsOf(e.takeOutputs()).map((w) => `${w.key}@${w.windowStart}=${String(w.values.n)}${w.filled ? '*' : ''}`),
      ['a@0=1', 'a@10=0*', 'a@20=0*', 'b@20=1', 'a@30=0*', 'b@30=0*', 'a@40=1', 'b@40=0*'],
    );
  });

  it('delta and pct-change compare with the immediately preceding step (dense), with the previous point (sparse)', () => {
    const spec = (mode: 'dense' | 'sparse') => base().window(tumbling(10)).aggregate({ n: count() }).series({ of: 'n', delta: true, pctChange: true, rollingMean: 3 }).timeSteps(mode).build();
    const events = [{ k: 'a', ts: 1 }, { k: 'a', ts: 2 }, { k: 'a', ts: 21 }, { k: 'a', ts: 22 }, { k: 'a', ts: 23 }];
    const dense = engineOf(spec('dense'));
    dense.feed(events);
    dense.e.finish();
    assert.deepEqual(
      windowsOf(dense.e.takeOutputs()).map((w) => [w.windowStart, w.series!.n.value, w.series!.n.previous?.windowStart ?? null, w.series!.n.delta, w.series!.n.pctChange, w.series!.n.rollingMean]),
      [
        [0, 2, null, null, null, 2],
        [10, 0, 0, -2, -100, 1], // 0 vs 2; mean of 2, 0
        [20, 3, 10, 3, null, 5 / 3], // vs the filled 0: no percent change; mean of 2, 0, 3
      ],
    );
    const sparse = engineOf(spec('sparse'));
    sparse.feed(events);
    sparse.e.finish();
    assert.deepEqual(
      windowsOf(sparse.e.takeOutputs()).map((w) => [w.windowStart, w.series!.n.previous?.windowStart ?? null, w.series!.n.delta, w.series!.n.pctChange]),
      [
        [0, null, null, null],
        [20, 0, 1, 50], // 3 vs 2, the key's previous point
      ],
    );
  });

  it('series of several facts, each with its own delta, pct-change and rolling mean', () => {
    const { e, feed } = engineOf(
      base()
        .window(tumbling(10))
        .aggregate({ n: count(), price: last('$.p') })
        .series({ of: 'n', delta: true })
        .series({ of: 'price', pctChange: true, rollingMean: 2 })
        .build(),
    );
    feed([{ k: 'a', ts: 1, p: 10 }, { k: 'a', ts: 11, p: 12 }, { k: 'a', ts: 12, p: 15 }]);
    e.finish();
    const [w0, w1] = windowsOf(e.takeOutputs());
    assert.deepEqual(w0.series, { n: { value: 1, previous: null, delta: null }, price: { value: 10, previous: null, pctChange: null, rollingMean: 10, rollingWindows: 1 } });
    assert.deepEqual(w1.series, {
      n: { value: 2, previous: { windowStart: 0, value: 1 }, delta: 1 },
      price: { value: 15, previous: { windowStart: 0, value: 10 }, pctChange: 50, rollingMean: 12.5, rollingWindows: 2 },
    });
  });
});

describe('correlations over aligned steps', () => {
  it('uses only steps where both series have a number; reports n and a two-sided p-value', () => {
    const { e, feed } = engineOf(
      base()
        .window(tumbling(10))
        .aggregate({ avg: mean('$.v') })
        .correlate({ x: 'avg', windows: 6, pairs: [['a', 'b']] })
        .build(),
    );
    // a: 1, 2, (none: mean null), 4, 5, 7; b starts at step 20: 3, 1, 6, 8
    feed([
      { k: 'a', ts: 1, v: 1 },
      { k: 'a', ts: 11, v: 2 },
      { k: 'b', ts: 21, v: 3 },
      { k: 'a', ts: 31, v: 4 },
      { k: 'b', ts: 32, v: 1 },
      { k: 'a', ts: 41, v: 5 },
      { k: 'b', ts: 42, v: 6 },
      { k: 'a', ts: 51, v: 7 },
      { k: 'b', ts: 52, v: 8 },
    ]);
    e.finish();
    const corr = correlationsOf(e.takeOutputs());
    // Emitted once both series have begun (step 20); points: steps 30, 40, 50.
    assert.deepEqual(corr.map((c) => [c.windowStart, c.n]), [[20, 0], [30, 1], [40, 2], [50, 3]]);
    assert.deepEqual(corr.slice(0, 3).map((c) => [c.r, c.p]), [[null, null], [null, null], [null, null]]);
    const last = corr[3];
    assert.ok(close(last.r, 0.9078412990032035)); // pearsonr([4,5,7], [1,6,8])
    assert.ok(close(last.p, 0.27545867663494356));
    assert.equal(last.minPoints, 5);
    assert.deepEqual([last.name, last.x, last.y, last.lag, last.windows], ['avg', 'avg', 'avg', 0, 6]);
  });

  it('r is null when a series is constant over the points', () => {
    const { e, feed } = engineOf(base().window(tumbling(10)).aggregate({ n: count() }).correlate({ x: 'n', windows: 4, pairs: [['a', 'b']] }).build());
    for (let i = 0; i < 4; i++) feed([{ k: 'a', ts: i * 10 }, { k: 'b', ts: i * 10 }, ...(i % 2 ? [{ k: 'b', ts: i * 10 + 1 }] : [])]);
    e.finish();
    const last = correlationsOf(e.takeOutputs()).at(-1)!;
    assert.deepEqual([last.n, last.r, last.p], [4, null, null]);
  });

  it('two facts of the same key, with and without a lag', () => {
    const price = [1, 2, 3, 4, 5, 6];
    const rank = [10, 12, 11, 15, 14, 18];
    const { e, feed } = engineOf(
      base()
        .window(tumbling(10))
        .aggregate({ price: last('$.p'), rank: last('$.r') })
        .correlate({ x: 'price', y: 'rank', windows: 6, sameKey: true })
        .correlate({ x: 'price', y: 'rank', windows: 5, lag: 1, sameKey: true })
        .build(),
    );
    feed(price.map((p, i) => ({ k: 'a', ts: i * 10, p, r: rank[i] })));
    e.finish();
    const corr = correlationsOf(e.takeOutputs()).filter((c) => c.windowStart === 50);
    const plain = corr.find((c) => c.name === 'price~rank')!;
    const lagged = corr.find((c) => c.name === 'price~rank@1')!;
    assert.deepEqual([plain.a, plain.b, plain.n], ['a', 'a', 6]);
    assert.ok(close(plain.r, 0.9078412990032034) && close(plain.p, 0.012348476908602697)); // pearsonr(price, rank)
    // x at t against y at t − 1: pearsonr([2,3,4,5,6], [10,12,11,15,14])
    assert.equal(lagged.n, 5);
    assert.ok(close(lagged.r, 0.8387421368293257) && close(lagged.p, 0.07582649117357952));
    assert.equal(lagged.id, 'd:main:correlation:price~rank@1:a~a:50');
  });

  it('two facts across the keys of a group: ordered pairs', () => {
    const { e, feed } = engineOf(
      base()
        .group('$.g')
        .window(tumbling(10))
        .aggregate({ price: last('$.p'), rank: last('$.r') })
        .correlate({ x: 'price', y: 'rank', windows: 4, withinGroups: true })
        .build(),
    );
    const a = { p: [1, 2, 3, 4], r: [7, 8, 6, 9] };
    const b = { p: [2, 2, 5, 9], r: [5, 3, 4, 1] };
    for (let i = 0; i < 4; i++) feed([{ k: 'a', g: 'G', ts: i * 10, p: a.p[i], r: a.r[i] }, { k: 'b', g: 'G', ts: i * 10, p: b.p[i], r: b.r[i] }]);
    e.finish();
    const final = correlationsOf(e.takeOutputs()).filter((c) => c.windowStart === 30);
    assert.deepEqual(final.map((c) => [c.a, c.b, c.group, c.n]), [['a', 'b', 'G', 4], ['b', 'a', 'G', 4]]);
    assert.ok(close(final[0].r, -0.8315218406203) && close(final[0].p, 0.1684781593797)); // price of a vs rank of b
    assert.ok(close(final[1].r, 0.4670993664969138) && close(final[1].p, 0.5329006335030861)); // price of b vs rank of a
    const q = e.query({ group: 'G' }) as { correlations: CorrelationResult[] };
    assert.deepEqual(q.correlations.map((c) => [c.a, c.b, c.r]), final.map((c) => [c.a, c.b, c.r]));
  });

  it('top: only the N strongest pairs of a group are emitted and kept', () => {
    const { e, feed } = engineOf(base().group('$.g').window(tumbling(10)).aggregate({ n: count() }).correlate({ x: 'n', windows: 4, withinGroups: true, top: 2 }).build());
    // Counts over 4 steps: a 1,2,3,4; b 1,2,3,5; c 4,3,2,1; d 1,3,1,3.
    const counts: Record<string, number[]> = { a: [1, 2, 3, 4], b: [1, 2, 3, 5], c: [4, 3, 2, 1], d: [1, 3, 1, 3] };
    for (let i = 0; i < 4; i++) for (const [k, ns] of Object.entries(counts)) for (let j = 0; j < ns[i]; j++) feed([{ k, g: 'G', ts: i * 10 + j }]);
    e.finish();
    const final = correlationsOf(e.takeOutputs()).filter((c) => c.windowStart === 30);
    // |r|: a~c = 1 (exactly −1), a~b = 0.9827, b~c = 0.9827; the tie between a~b and b~c goes to the earlier pair.
    assert.deepEqual(final.map((c) => `${c.a}~${c.b}`), ['a~c', 'a~b']);
    assert.equal(final[0].r, -1);
  });
});

describe('state bounds', () => {
  it('retire-after: a key without events for N steps is filled N times, then its state is freed (counted); it may come back', () => {
    const { e, feed } = engineOf(base().window(tumbling(10)).aggregate({ n: count() }).series({ of: 'n', delta: true }).retireAfter(2).build());
    feed([{ k: 'a', ts: 1 }, { k: 'b', ts: 2 }]);
    for (let i = 1; i <= 4; i++) feed([{ k: 'b', ts: i * 10 }]);
    assert.deepEqual(e.keys(), ['b']);
    assert.equal(e.metrics.keysRetired, 1);
    feed([{ k: 'a', ts: 51 }]);
    e.finish();
    const a = windowsOf(e.takeOutputs()).filter((w) => w.key === 'a');
    // Steps 10 and 20 filled, then freed; back at step 50 as a new series (no previous step).
    assert.deepEqual(a.map((w) => [w.windowStart, w.filled, w.series!.n.delta]), [[0, false, null], [10, true, -1], [20, true, 0], [50, false, null]]);
    assert.equal(e.metrics.keys, 2);
  });

  it('max-keys: a new key evicts the idlest key whose windows have closed (counted), else it is refused with a clear error', () => {
    const { e, feed } = engineOf(base().window(tumbling(10)).aggregate({ n: count() }).limits({ maxKeys: 2 }).build());
    feed([{ k: 'a', ts: 1 }, { k: 'b', ts: 2 }, { k: 'b', ts: 11 }]); // step 0 closed; a's last event is there
    feed([{ k: 'c', ts: 12 }]);
    assert.deepEqual(e.keys(), ['b', 'c']);
    assert.equal(e.metrics.keysEvicted, 1);
    feed([{ k: 'd', ts: 13 }]); // b and c both have events in the open step 10
    assert.equal(e.metrics.refused, 1);
    assert.match(e.metrics.lastError!.message, /limits\.max-keys: 2 keys .* key "d" is refused/);
    assert.deepEqual(e.keys(), ['b', 'c']);
  });

  it('max-groups and max-pairs refuse the key with the limit named', () => {
    const groups = engineOf(base().group('$.g').window(tumbling(10)).aggregate({ n: count() }).limits({ maxGroups: 1 }).build());
    groups.feed([{ k: 'a', g: 'G', ts: 1 }, { k: 'b', g: 'H', ts: 2 }]);
    assert.equal(groups.e.metrics.refused, 1);
    assert.match(groups.e.metrics.lastError!.message, /limits\.max-groups: 1 groups .* group "H" of key "b"/);
    assert.deepEqual(groups.e.keys(), ['a']);

    const pairs = engineOf(base().group('$.g').window(tumbling(10)).aggregate({ n: count() }).correlate({ x: 'n', windows: 3, withinGroups: true }).limits({ maxPairs: 3 }).build());
    pairs.feed(['a', 'b', 'c', 'd'].map((k) => ({ k, g: 'G', ts: 1 }))); // 3 keys: 3 pairs; the 4th would make 6
    assert.equal(pairs.e.metrics.refused, 1);
    assert.match(pairs.e.metrics.lastError!.message, /limits\.max-pairs: key "d" joining group "G" \(3 keys\) would make correlation n compute 6 pairs per step, more than 3/);
  });
});
