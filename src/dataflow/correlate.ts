// The correlation pass of one closed step: per correlation spec, the pairs
// to compute, their rolling Pearson r over aligned steps (x at step t, y at
// step t − lag), a p-value, and what is kept of them for queries (the latest
// result per pair; for groups one compact block per group and spec).

import { pearsonAligned, pValue } from './series.js';
import type { CorrelationSpec } from './spec.js';
import type { StepRing } from './step-ring.js';

export interface CorrelationResult {
  type: 'correlation';
  dataflow: string;
  service: string;
  id: string;
  /** The correlation's name: x, or x~y, with @lag when lagged. */
  name: string;
  group: string | null;
  a: string;
  b: string;
  /** Fact of a (x) and of b (y); `of` is x (kept for readers of one-fact correlations). */
  x: string;
  y: string;
  of: string;
  lag: number;
  windowStart: number;
  windowEnd: number;
  /** N: the last N steps considered. */
  windows: number;
  /** Steps in which both had a number. */
  n: number;
  r: number | null;
  /** Two-sided p-value of r (null when r is). */
  p: number | null;
  /** The spec's min-points: results with fewer points are shown greyed out. */
  minPoints: number;
}

/** The latest results of one group for one spec, in columns (a group of 1,000 keys has ~500,000 pairs). */
export interface GroupBlock {
  windowStart: number;
  windowEnd: number;
  members: string[];
  ia: Int32Array;
  ib: Int32Array;
  /** NaN: null. */
  r: Float64Array;
  n: Int32Array;
}

export interface StepContext {
  dataflow: string;
  service: string;
  windowStart: number;
  windowEnd: number;
  step: number;
  facts: Map<string, number>;
}

/** What the correlation pass reads about a key. */
export interface CorrelatedKey {
  ring: StepRing | null;
}

/** The look-back vector of a spec's facts for one key: x over the last `windows` steps at [lag, lag + windows), y over [0, windows). */
export class Vectors {
  private readonly cache = new Map<string, { x: Float64Array; y: Float64Array }>();
  constructor(
    private readonly spec: CorrelationSpec,
    private readonly ctx: StepContext,
  ) {}

  of(key: string, state: CorrelatedKey): { x: Float64Array; y: Float64Array } {
    let v = this.cache.get(key);
    if (v) return v;
    const length = this.spec.windows + this.spec.lag;
    const from = this.ctx.windowStart - (length - 1) * this.ctx.step;
    const x = new Float64Array(length);
    const fx = this.ctx.facts.get(this.spec.x)!;
    const fy = this.ctx.facts.get(this.spec.y)!;
    if (state.ring) state.ring.extract(from, this.ctx.step, length, fx, x, 0);
    else x.fill(NaN);
    let y = x;
    if (fy !== fx) {
      y = new Float64Array(length);
      if (state.ring) state.ring.extract(from, this.ctx.step, length, fy, y, 0);
      else y.fill(NaN);
    }
    v = { x, y };
    this.cache.set(key, v);
    return v;
  }

  pearson(a: { x: Float64Array }, b: { y: Float64Array }) {
    return pearsonAligned(a.x, this.spec.lag, b.y, 0, this.spec.windows);
  }
}

export function correlationResult(spec: CorrelationSpec, ctx: StepContext, group: string | null, a: string, b: string, n: number, r: number | null): CorrelationResult {
  return {
    type: 'correlation',
    dataflow: ctx.dataflow,
    service: ctx.service,
    id: `${ctx.dataflow}:${ctx.service}:correlation:${spec.name}:${a}~${b}:${ctx.windowStart}`,
    name: spec.name,
    group,
    a,
    b,
    x: spec.x,
    y: spec.y,
    of: spec.x,
    lag: spec.lag,
    windowStart: ctx.windowStart,
    windowEnd: ctx.windowEnd,
    windows: spec.windows,
    n,
    r,
    p: pValue(r, n),
    minPoints: spec.minPoints,
  };
}

/** Whether a spec's pairs within a group are unordered (same fact, no lag: r(a, b) = r(b, a)). */
export function symmetric(spec: CorrelationSpec): boolean {
  return spec.x === spec.y && spec.lag === 0;
}

/** Pairs a group of m keys makes for a spec. */
export function pairsInGroup(spec: CorrelationSpec, m: number): number {
  return symmetric(spec) ? (m * (m - 1)) / 2 : m * (m - 1);
}

/** Every pair of a group's members (sorted), or the `top` strongest: a block of columns. */
export function correlateGroup(spec: CorrelationSpec, ctx: StepContext, members: readonly string[], state: (key: string) => CorrelatedKey, vectors: Vectors): GroupBlock {
  const m = members.length;
  const vs = members.map((k) => vectors.of(k, state(k)));
  const total = pairsInGroup(spec, m);
  const keep = spec.top === undefined ? total : Math.min(spec.top, total);
  const ia = new Int32Array(keep);
  const ib = new Int32Array(keep);
  const rs = new Float64Array(keep);
  const ns = new Int32Array(keep);
  const sym = symmetric(spec);
  if (spec.top === undefined) {
    let k = 0;
    for (let i = 0; i < m; i++) {
      for (let j = sym ? i + 1 : 0; j < m; j++) {
        if (i === j) continue;
        const { n, r } = vectors.pearson(vs[i], vs[j]);
        ia[k] = i;
        ib[k] = j;
        rs[k] = r ?? NaN;
        ns[k] = n;
        k++;
      }
    }
    return { windowStart: ctx.windowStart, windowEnd: ctx.windowEnd, members: [...members], ia, ib, r: rs, n: ns };
  }
  // Top N by |r| (ties: the earlier pair), with a min-heap of the N kept so far; pairs with r = null are not ranked.
  const heap = new TopHeap(keep);
  for (let i = 0; i < m; i++) {
    for (let j = sym ? i + 1 : 0; j < m; j++) {
      if (i === j) continue;
      const { n, r } = vectors.pearson(vs[i], vs[j]);
      if (r !== null) heap.offer(Math.abs(r), i, j, r, n);
    }
  }
  const order = heap.sorted();
  return {
    windowStart: ctx.windowStart,
    windowEnd: ctx.windowEnd,
    members: [...members],
    ia: Int32Array.from(order, (e) => e.i),
    ib: Int32Array.from(order, (e) => e.j),
    r: Float64Array.from(order, (e) => e.r),
    n: Int32Array.from(order, (e) => e.n),
  };
}

interface Ranked {
  score: number;
  i: number;
  j: number;
  r: number;
  n: number;
}

/** "a ranks below b": smaller |r|, or on a tie the later pair. */
function below(a: Ranked, b: Ranked): boolean {
  if (a.score !== b.score) return a.score < b.score;
  return a.i !== b.i ? a.i > b.i : a.j > b.j;
}

class TopHeap {
  private readonly items: Ranked[] = [];
  constructor(private readonly limit: number) {}

  offer(score: number, i: number, j: number, r: number, n: number): void {
    if (this.limit === 0) return;
    const item = { score, i, j, r, n };
    const h = this.items;
    if (h.length < this.limit) {
      h.push(item);
      let c = h.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!below(h[c], h[p])) break;
        [h[c], h[p]] = [h[p], h[c]];
        c = p;
      }
      return;
    }
    if (!below(h[0], item)) return;
    h[0] = item;
    let p = 0;
    for (;;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let s = p;
      if (l < h.length && below(h[l], h[s])) s = l;
      if (r < h.length && below(h[r], h[s])) s = r;
      if (s === p) break;
      [h[s], h[p]] = [h[p], h[s]];
      p = s;
    }
  }

  /** Strongest first. */
  sorted(): Ranked[] {
    return [...this.items].sort((a, b) => (below(a, b) ? 1 : below(b, a) ? -1 : 0));
  }
}

/** The results of a block (all, or those involving `key`). */
export function blockResults(spec: CorrelationSpec, ctx: Omit<StepContext, 'windowStart' | 'windowEnd' | 'step' | 'facts'>, group: string, block: GroupBlock, key?: string): CorrelationResult[] {
  const step: StepContext = { ...ctx, windowStart: block.windowStart, windowEnd: block.windowEnd, step: 0, facts: new Map() };
  const out: CorrelationResult[] = [];
  const only = key === undefined ? -1 : block.members.indexOf(key);
  if (key !== undefined && only < 0) return out;
  for (let k = 0; k < block.ia.length; k++) {
    if (only >= 0 && block.ia[k] !== only && block.ib[k] !== only) continue;
    const r = block.r[k];
    out.push(correlationResult(spec, step, group, block.members[block.ia[k]], block.members[block.ib[k]], block.n[k], r !== r ? null : r));
  }
  return out;
}
