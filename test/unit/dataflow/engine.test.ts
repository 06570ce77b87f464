import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count, dataflow, distinct, last, max, mean, min, sliding, sum, tumbling } from '../../../src/dataflow/builder.js';
import { ServiceEngine, type CorrelationResult, type InputRecord, type LateRecord, type Output, type WindowResult } from '../../../src/dataflow/engine.js';
import type { DataflowSpec } from '../../../src/dataflow/spec.js';

interface Ev {
  k: string;
  ts: number;
  v?: number;
  g?: string;
  s?: string;
}

class Clock {
  t = 1_000_000;
  now = () => this.t;
}

function engineOf(spec: DataflowSpec, clock = new Clock(), partitions = 1): ServiceEngine {
  const engine = new ServiceEngine(spec.name, spec.services[0], { now: clock.now });
  for (let p = 0; p < partitions; p++) engine.registerInput('in', p);
  return engine;
}

let offsets = new Map<number, number>();
function rec(ev: Ev, partition = 0): InputRecord {
  const offset = offsets.get(partition) ?? 0;
  offsets.set(partition, offset + 1);
  return { topic: 'in', partition, offset, timestamp: 0, key: null, value: JSON.stringify(ev) };
}

const windows = (outs: Output[]) => outs.filter((o) => o.kind === 'window').map((o) => o.value as WindowResult);
const brief = (outs: Output[]) => windows(outs).map((w) => `${w.key}@${w.windowStart}:${JSON.stringify(w.values)}`);

function countSpec(opts: { grace?: number; idleness?: number; late?: 'drop' | { sideOutput: string }; size?: number } = {}) {
  return dataflow('t')
    .source('in')
    .assignTimestamp('$.ts')
    .assignKey('$.k')
    .window(tumbling(opts.size ?? 10), { grace: opts.grace ?? 0, ...(opts.idleness !== undefined ? { idleness: opts.idleness } : {}), late: opts.late ?? 'drop' })
    .aggregate({ n: count() })
    .build();
}

describe('dataflow engine: windows and watermarks', () => {
  it('tumbling counts per key; a window closes when the watermark passes its end', () => {
    offsets = new Map();
    const e = engineOf(countSpec());
    for (const ev of [{ k: 'a', ts: 1 }, { k: 'b', ts: 2 }, { k: 'a', ts: 9 }]) e.process(rec(ev));
    assert.deepEqual(e.takeOutputs(), []);
    e.process(rec({ k: 'a', ts: 10 })); // ts 10 belongs to [10, 20) and moves the watermark to 10: [0, 10) closes
    assert.deepEqual(brief(e.takeOutputs()), ['a@0:{"n":2}', 'b@0:{"n":1}']);
    e.finish();
    // Dense time steps: b has no event in [10, 20), its count there is 0.
    assert.deepEqual(brief(e.takeOutputs()), ['a@10:{"n":1}', 'b@10:{"n":0}']);
  });

  it('grace: records for a window are taken until watermark ≥ end + grace, then dropped and counted', () => {
    offsets = new Map();
    const e = engineOf(countSpec({ grace: 3 }));
    e.process(rec({ k: 'a', ts: 5 }));
    e.process(rec({ k: 'a', ts: 12 })); // wm 12 < 10 + 3: [0,10) still open
    e.process(rec({ k: 'a', ts: 8 })); // out of order, within grace: counted
    assert.deepEqual(e.takeOutputs(), []);
    e.process(rec({ k: 'a', ts: 13 })); // wm 13 = end + grace: closes
    assert.deepEqual(brief(e.takeOutputs()), ['a@0:{"n":2}']);
    e.process(rec({ k: 'a', ts: 9 })); // window closed: late
    assert.equal(e.metrics.late, 1);
    e.finish();
    assert.deepEqual(brief(e.takeOutputs()), ['a@10:{"n":2}']);
  });

  it('the late rule is window-based: an early record of a still-open window is taken even if far behind the watermark', () => {
    offsets = new Map();
    const e = engineOf(countSpec({ size: 100, grace: 0 }));
    e.process(rec({ k: 'a', ts: 90 }));
    e.process(rec({ k: 'a', ts: 1 })); // 89 ms behind, but [0,100) is open
    e.finish();
    assert.deepEqual(brief(e.takeOutputs()), ['a@0:{"n":2}']);
    assert.equal(e.metrics.late, 0);
  });

  it('late records go to the side output with their origin when asked', () => {
    offsets = new Map();
    const e = engineOf(countSpec({ late: { sideOutput: 'late' } }));
    e.process(rec({ k: 'a', ts: 25 }));
    e.process(rec({ k: 'b', ts: 3 }));
    const late = e.takeOutputs().filter((o) => o.kind === 'late');
    assert.equal(late.length, 1);
    const v = late[0].value as LateRecord;
    assert.equal(v.key, 'b');
    assert.equal(v.timestamp, 3);
    assert.equal(v.watermark, 25);
    assert.deepEqual(v.source, { topic: 'in', partition: 0, offset: 1 });
    assert.deepEqual(v.value, { k: 'b', ts: 3 });
    assert.equal(v.id, 't:main:late:in:0:1:0');
    assert.equal(e.metrics.lateSideOutput, 1);
  });

  it('with two partitions the watermark is their minimum', () => {
    offsets = new Map();
    const e = engineOf(countSpec(), new Clock(), 2);
    e.process(rec({ k: 'a', ts: 35 }, 0));
    assert.deepEqual(e.takeOutputs(), []); // partition 1 has said nothing
    e.process(rec({ k: 'a', ts: 12 }, 1));
    assert.deepEqual(brief(e.takeOutputs()), []);
    e.process(rec({ k: 'a', ts: 21 }, 1)); // min(35, 21) = 21: [0,10) and [10,20) close
    assert.deepEqual(brief(e.takeOutputs()), ['a@10:{"n":1}']);
  });

  it('idleness: an idle partition stops holding the watermark back', () => {
    offsets = new Map();
    const clock = new Clock();
    const e = engineOf(countSpec({ idleness: 1000 }), clock, 2);
    e.process(rec({ k: 'a', ts: 5 }, 0));
    e.process(rec({ k: 'a', ts: 15 }, 0));
    assert.deepEqual(e.takeOutputs(), []);
    clock.t += 600;
    e.process(rec({ k: 'a', ts: 16 }, 0));
    clock.t += 500; // partition 1: 1100 ms without a record; partition 0: 500
    e.tick();
    assert.deepEqual(brief(e.takeOutputs()), ['a@0:{"n":1}']);
  });

  it('idleness: with every input idle, each period closes the oldest open window; keys without events there are filled', () => {
    offsets = new Map();
    const clock = new Clock();
    const e = engineOf(countSpec({ idleness: 1000, grace: 5 }), clock);
    e.process(rec({ k: 'a', ts: 5 }));
    e.process(rec({ k: 'b', ts: 12 }));
    clock.t += 999;
    e.tick();
    assert.deepEqual(e.takeOutputs(), []);
    clock.t += 1;
    e.tick();
    assert.deepEqual(brief(e.takeOutputs()), ['a@0:{"n":1}']);
    assert.equal(e.watermarkValue, 15); // end 10 + grace 5
    clock.t += 500;
    e.tick();
    assert.deepEqual(e.takeOutputs(), []);
    clock.t += 500;
    e.tick();
    assert.deepEqual(brief(e.takeOutputs()), ['a@10:{"n":0}', 'b@10:{"n":1}']);
    clock.t += 5000;
    e.tick();
    assert.deepEqual(e.takeOutputs(), []);
    e.process(rec({ k: 'c', ts: 24 })); // [20,30) closed by the idle advance? no: wm = 25 < 30 + 5
    e.finish();
    assert.deepEqual(brief(e.takeOutputs()), ['a@20:{"n":0}', 'b@20:{"n":0}', 'c@20:{"n":1}']);
  });

  it('sliding windows: one state per instance; a record counts in every window that holds it', () => {
    offsets = new Map();
    const spec = dataflow('t').source('in').assignTimestamp('$.ts').assignKey('$.k').window(sliding(30, 10)).aggregate({ n: count() }).build();
    const e = engineOf(spec);
    for (const ts of [5, 15, 25, 35]) e.process(rec({ k: 'a', ts }));
    e.finish();
    assert.deepEqual(brief(e.takeOutputs()), ['a@-20:{"n":1}', 'a@-10:{"n":2}', 'a@0:{"n":3}', 'a@10:{"n":3}', 'a@20:{"n":2}', 'a@30:{"n":1}']);
  });

  it('sliding windows: a record too late for some instances still counts in the open ones', () => {
    offsets = new Map();
    const spec = dataflow('t').source('in').assignTimestamp('$.ts').assignKey('$.k').window(sliding(30, 10)).aggregate({ n: count() }).build();
    const e = engineOf(spec);
    e.process(rec({ k: 'a', ts: 21 })); // wm 21: [-10,20) closed
    e.process(rec({ k: 'a', ts: 12 })); // in [-10,20) closed, [0,30) and [10,40) open
    assert.equal(e.metrics.late, 0);
    assert.equal(e.metrics.lateAssignments, 1);
  });

  it('every aggregate per key and window', () => {
    offsets = new Map();
    const spec = dataflow('t')
      .source('in')
      .assignTimestamp('$.ts')
      .assignKey('$.k')
      .window(tumbling(10))
      .aggregate({ n: count(), total: sum('$.v'), lo: min('$.v'), hi: max('$.v'), avg: mean('$.v'), last: last('$.v'), sellers: distinct('$.s') })
      .build();
    const e = engineOf(spec);
    for (const ev of [
      { k: 'a', ts: 3, v: 4, s: 'x' },
      { k: 'a', ts: 1, v: 8, s: 'y' },
      { k: 'a', ts: 2, v: 6, s: 'x' },
    ])
      e.process(rec(ev));
    e.finish();
    assert.deepEqual(windows(e.takeOutputs())[0].values, { n: 3, total: 18, lo: 4, hi: 8, avg: 6, last: 4, sellers: 2 });
  });

  it('operators: filter, map, flat-map, filter-map; a failing operator skips the record and is counted', () => {
    offsets = new Map();
    const spec = dataflow('t')
      .source('in')
      .filter((v: { ts: number }) => v.ts !== 4)
      .flatMap((v: { k: string; ts: number }) => v.k.split(',').map((k) => ({ k, ts: v.ts })))
      .map('{k: upper($.k), ts: $.ts}')
      .filterMap((v: { k: string }) => (v.k === 'Z' ? null : v))
      .assignTimestamp((v: { ts: number }) => {
        if (v.ts === 7) throw new Error('boom');
        return v.ts;
      })
      .assignKey('$.k')
      .window(tumbling(10))
      .count()
      .build();
    const e = engineOf(spec);
    for (const ev of [{ k: 'a,b', ts: 1 }, { k: 'a', ts: 4 }, { k: 'z', ts: 5 }, { k: 'b', ts: 7 }]) e.process(rec(ev));
    e.finish();
    assert.deepEqual(brief(e.takeOutputs()), ['A@0:{"count":1}', 'B@0:{"count":1}']);
    assert.equal(e.metrics.filtered, 2);
    assert.equal(e.metrics.failed, 1);
    assert.match(e.metrics.lastError!.message, /boom/);
    assert.equal(e.metrics.lastError!.offset, 3);
  });

  it('a record that is not JSON is counted as failed', () => {
    offsets = new Map();
    const e = engineOf(countSpec());
    e.process({ topic: 'in', partition: 0, offset: 0, timestamp: 0, key: null, value: 'not json' });
    assert.equal(e.metrics.failed, 1);
  });
});

function seriesSpec(withinGroups: boolean, pairs?: [string, string][], timeSteps: 'dense' | 'sparse' = 'dense') {
  return dataflow('s')
    .source('in')
    .timeSteps(timeSteps)
    .assignTimestamp('$.ts')
    .assignKey('$.k')
    .group('$.g')
    .window(tumbling(10))
    .aggregate({ avg: mean('$.v') })
    .series({ of: 'avg', delta: true, pctChange: true, rollingMean: 3, correlation: { windows: 5, withinGroups, ...(pairs ? { pairs } : {}) } })
    .build();
}

describe('dataflow engine: series over closed windows', () => {
  it('sparse steps: delta, percent change (null after a 0), rolling mean over the last N windows, absent windows skipped', () => {
    offsets = new Map();
    const e = engineOf(seriesSpec(false, [['a', 'b']], 'sparse'));
    const values = [10, 0, 5, undefined, 8]; // window 3 has no record for a
    values.forEach((v, i) => {
      if (v !== undefined) e.process(rec({ k: 'a', ts: i * 10 + 1, v, g: 'G' }));
    });
    e.finish();
    const series = windows(e.takeOutputs()).map((w) => ({ start: w.windowStart, ...w.series!.avg }));
    assert.deepEqual(
      series.map((s) => [s.start, s.value, s.previous?.value ?? null, s.delta, s.pctChange, s.rollingMean, s.rollingWindows]),
      [
        [0, 10, null, null, null, 10, 1],
        [10, 0, 10, -10, -100, 5, 2],
        [20, 5, 0, 5, null, 5, 3], // previous 0: no percent change
        [40, 8, 5, 3, 60, 6.5, 2], // the key's previous point is window 20; rolling: windows 20..40 → 5, 8
      ],
    );
  });

  it('rolling Pearson between two keys over the last N windows equals the hand-computed value; null before 3 points', () => {
    offsets = new Map();
    const e = engineOf(seriesSpec(false, [['b', 'a']]));
    const xs = [1, 2, 3, 4, 5];
    const ys = [2, 4, 5, 4, 5];
    for (let i = 0; i < 5; i++) {
      e.process(rec({ k: 'a', ts: i * 10 + 1, v: xs[i] }));
      e.process(rec({ k: 'b', ts: i * 10 + 2, v: ys[i] }));
    }
    e.finish();
    const corr = e.takeOutputs().filter((o) => o.kind === 'correlation').map((o) => o.value as CorrelationResult);
    assert.equal(corr.length, 5);
    assert.deepEqual(corr.map((c) => [c.a, c.b, c.n]), [['b', 'a', 1], ['b', 'a', 2], ['b', 'a', 3], ['b', 'a', 4], ['b', 'a', 5]]);
    assert.equal(corr[0].r, null);
    assert.equal(corr[1].r, null); // two points always line up: no r
    assert.ok(Math.abs(corr[2].r! - 3 / Math.sqrt(2 * (42 / 9))) < 1e-12); // (2,1), (4,2), (5,3)
    assert.ok(Math.abs(corr[4].r! - 6 / Math.sqrt(60)) < 1e-12);
    // scipy.stats.pearsonr([1,2,3,4,5], [2,4,5,4,5]) = (0.7745966692414835, p = 0.1240270626575546)
    assert.ok(Math.abs(corr[4].p! - 0.1240270626575546) < 1e-9);
    assert.equal(corr[4].id, 's:main:correlation:avg:b~a:40');
  });

  it('the window of N slides: older windows leave the correlation', () => {
    offsets = new Map();
    const e = engineOf(seriesSpec(false, [['a', 'b']]));
    const xs = [9, 1, 2, 3, 4, 5, 6];
    const ys = [-9, 1, 2, 3, 4, 5, 7];
    for (let i = 0; i < xs.length; i++) {
      e.process(rec({ k: 'a', ts: i * 10, v: xs[i] }));
      e.process(rec({ k: 'b', ts: i * 10, v: ys[i] }));
    }
    e.finish();
    const last = e.takeOutputs().filter((o) => o.kind === 'correlation').map((o) => o.value as CorrelationResult).at(-1)!;
    assert.equal(last.n, 5); // windows 20..60 only
    const px = [2, 3, 4, 5, 6];
    const py = [2, 3, 4, 5, 7];
    const mx = 4;
    const my = 4.2;
    const sxy = px.reduce((s, x, i) => s + (x - mx) * (py[i] - my), 0);
    const sxx = px.reduce((s, x) => s + (x - mx) ** 2, 0);
    const syy = py.reduce((s, y) => s + (y - my) ** 2, 0);
    assert.ok(Math.abs(last.r! - sxy / Math.sqrt(sxx * syy)) < 1e-12);
  });

  it('every pair within a group, none across groups; zero variance gives null', () => {
    offsets = new Map();
    const e = engineOf(seriesSpec(true));
    for (let i = 0; i < 3; i++) {
      e.process(rec({ k: 'p1', g: 'acme', ts: i * 10, v: i }));
      e.process(rec({ k: 'p2', g: 'acme', ts: i * 10, v: 2 * i }));
      e.process(rec({ k: 'p3', g: 'acme', ts: i * 10, v: 7 }));
      e.process(rec({ k: 'q1', g: 'zeta', ts: i * 10, v: i }));
    }
    e.finish();
    const corr = e.takeOutputs().filter((o) => o.kind === 'correlation').map((o) => o.value as CorrelationResult);
    const final = corr.filter((c) => c.windowStart === 20).map((c) => [c.group, c.a, c.b, c.n, c.r, c.p]);
    assert.deepEqual(final, [
      ['acme', 'p1', 'p2', 3, 1, 0],
      ['acme', 'p1', 'p3', 3, null, null],
      ['acme', 'p2', 'p3', 3, null, null],
    ]);
    const q = e.query({ group: 'acme' }) as { keys: { key: string }[]; correlations: unknown[] };
    assert.deepEqual(q.keys.map((k) => k.key), ['p1', 'p2', 'p3']);
    assert.equal(q.correlations.length, 3);
  });
});

describe('dataflow engine: queries and checkpoints', () => {
  it('query by key shows open windows so far and recent closed windows with their series', () => {
    offsets = new Map();
    const e = engineOf(seriesSpec(true));
    e.process(rec({ k: 'a', g: 'G', ts: 1, v: 4 }));
    e.process(rec({ k: 'a', g: 'G', ts: 11, v: 6 }));
    const q = e.query({ key: 'a' }) as { group: string; open: { windowStart: number; values: unknown }[]; closed: WindowResult[] };
    assert.equal(q.group, 'G');
    assert.deepEqual(q.open.map((w) => [w.windowStart, w.values]), [[10, { avg: 6 }]]);
    assert.deepEqual(q.closed.map((w) => [w.windowStart, w.values, w.series?.avg.value]), [[0, { avg: 4 }, 4]]);
  });

  it('snapshot → JSON → restore, then the rest of the input: same outputs and state as without the interruption', () => {
    const events: Ev[] = [];
    for (let i = 0; i < 400; i++) events.push({ k: `k${i % 7}`, g: `g${i % 2}`, ts: i * 3 + ((i * 7919) % 5), v: (i * 31) % 17, s: `s${i % 4}` });
    const spec = () =>
      dataflow('r')
        .source('in')
        .assignTimestamp('$.ts')
        .assignKey('$.k')
        .group('$.g')
        .window(sliding(40, 20), { grace: 3 })
        .aggregate({ n: count(), avg: mean('$.v'), sellers: distinct('$.s'), last: last('$.v') })
        .series({ of: 'avg', delta: true, pctChange: true, rollingMean: 4, correlation: { windows: 6, withinGroups: true } })
        .build();
    offsets = new Map();
    const whole = engineOf(spec());
    const records = events.map((ev) => rec(ev));
    for (const r of records) whole.process(r);
    whole.finish();
    const expected = whole.takeOutputs();

    const first = engineOf(spec());
    const cut = 217;
    for (const r of records.slice(0, cut)) first.process(r);
    const before = first.takeOutputs();
    const snapshot = JSON.parse(JSON.stringify(first.snapshot()));
    const second = engineOf(spec());
    second.restore(snapshot);
    for (const r of records.slice(cut)) second.process(r);
    second.finish();
    assert.deepEqual([...before, ...second.takeOutputs()], expected);
    assert.deepEqual(second.metrics, whole.metrics);
    assert.deepEqual(second.query({ key: 'k3' }), whole.query({ key: 'k3' }));
  });
});
