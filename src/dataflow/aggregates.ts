// Per key and window aggregates: count, sum, min, max, mean, last, distinct.
//
// Each aggregate keeps a small state per (window, key) that is updated in
// place, turned into its result when the window closes, and serialized into
// checkpoints as plain JSON. Numbers: a field value that is a finite number
// (or a string holding one) counts; null/missing is skipped; anything else is
// skipped and reported as invalid. With no numbers: sum 0, min/max/mean null.
// `last` is the value of the record with the greatest event time (the later
// arrival on a tie), so it does not depend on how partitions interleave.
// `distinct` is exact (a set of the values' JSON text).

import type { FillRule } from './spec.js';

export type AggregateOp = 'count' | 'sum' | 'min' | 'max' | 'mean' | 'last' | 'distinct';

export const AGGREGATE_OPS: readonly AggregateOp[] = ['count', 'sum', 'min', 'max', 'mean', 'last', 'distinct'];

/** A numeric value of a field, or undefined when it is absent (null) or not a number (`invalid`). */
export function toNumber(v: unknown): number | undefined | 'invalid' {
  if (typeof v === 'number') return Number.isFinite(v) ? v : 'invalid';
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : 'invalid';
  }
  return 'invalid';
}

/** State of one aggregate: mutable slots, JSON-serializable except `distinct` (a Set). */
export type AggState = number | null | [number, number] | [number, unknown] | Set<string>;

export interface Aggregator {
  readonly op: AggregateOp;
  init(): AggState;
  /** Returns the new state (updated in place where possible); 'invalid' when the field was not usable. */
  add(state: AggState, field: unknown, ts: number): AggState | 'invalid';
  result(state: AggState): unknown;
  toJSON(state: AggState): unknown;
  fromJSON(json: unknown): AggState;
}

const plain = (op: AggregateOp, parts: Omit<Aggregator, 'op' | 'toJSON' | 'fromJSON'>): Aggregator => ({
  op,
  ...parts,
  toJSON: (s) => s,
  fromJSON: (j) => j as AggState,
});

function numeric(op: 'sum' | 'min' | 'max', init: number | null, combine: (a: number, b: number) => number): Aggregator {
  return plain(op, {
    init: () => init,
    add(state, field) {
      const n = toNumber(field);
      if (n === undefined) return state;
      if (n === 'invalid') return 'invalid';
      return state === null ? n : combine(state as number, n);
    },
    result: (s) => s,
  });
}

const AGGREGATORS: Record<AggregateOp, Aggregator> = {
  count: plain('count', { init: () => 0, add: (s) => (s as number) + 1, result: (s) => s }),
  sum: numeric('sum', 0, (a, b) => a + b),
  min: numeric('min', null, Math.min),
  max: numeric('max', null, Math.max),
  mean: plain('mean', {
    init: () => [0, 0],
    add(state, field) {
      const n = toNumber(field);
      if (n === undefined) return state;
      if (n === 'invalid') return 'invalid';
      const s = state as [number, number];
      s[0] += n;
      s[1] += 1;
      return s;
    },
    result: (s) => {
      const [sum, n] = s as [number, number];
      return n === 0 ? null : sum / n;
    },
  }),
  last: plain('last', {
    init: () => null,
    add(state, field, ts) {
      if (field === undefined || field === null) return state;
      if (state === null) return [ts, field];
      const s = state as [number, unknown];
      if (ts >= s[0]) {
        s[0] = ts;
        s[1] = field;
      }
      return s;
    },
    result: (s) => (s === null ? null : (s as [number, unknown])[1]),
  }),
  distinct: {
    op: 'distinct',
    init: () => new Set<string>(),
    add(state, field) {
      if (field === null || field === undefined) return state;
      (state as Set<string>).add(typeof field === 'string' ? field : JSON.stringify(field));
      return state;
    },
    result: (s) => (s as Set<string>).size,
    toJSON: (s) => [...(s as Set<string>)],
    fromJSON: (j) => new Set(j as string[]),
  },
};

/** What a step without events holds by default: counts and sums are 0, a last value carries forward, the others are null. */
export function defaultFill(op: AggregateOp): FillRule {
  if (op === 'count' || op === 'sum' || op === 'distinct') return 'zero';
  return op === 'last' ? 'previous' : 'none';
}

export function aggregator(op: AggregateOp): Aggregator {
  return AGGREGATORS[op];
}

/** The hand-written reference the tests and the batch recomputation use: one aggregate over a list of (field, ts). */
export function aggregateBatch(op: AggregateOp, items: readonly { field: unknown; ts: number }[]): unknown {
  const agg = aggregator(op);
  let state = agg.init();
  for (const item of items) {
    const next = agg.add(state, item.field, item.ts);
    if (next !== 'invalid') state = next;
  }
  return agg.result(state);
}
