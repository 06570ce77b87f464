// Series operators over closed windows (docs/dataflows.md "Series").
//
// A key's series is the value of one aggregate (`of`) in each closed window
// where the key had records; windows where it had none are absent, not 0.
// "The last N windows" means the N window instances of the grid ending at
// the window just closed (starts s − (N−1)·step … s, step = the slide).
//
// - delta / pctChange: against the key's previous point (its most recent
//   earlier window with a value); null when there is none, pctChange also
//   when the previous value is 0 or either value is not a number.
// - rollingMean: mean of the key's values in the last N windows (the ones
//   present), with their count.
// - pearson: over the last N windows in which both keys have a number;
//   null with fewer than 2 such windows or when either side has zero
//   variance.

export interface Point {
  start: number;
  value: number | null;
}

export function delta(current: number | null, previous: number | null | undefined): number | null {
  if (current === null || previous === null || previous === undefined) return null;
  return current - previous;
}

export function pctChange(current: number | null, previous: number | null | undefined): number | null {
  if (current === null || previous === null || previous === undefined || previous === 0) return null;
  return ((current - previous) / Math.abs(previous)) * 100;
}

/** Mean of the numeric values; null when none. */
export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Pearson's r of paired samples; null with fewer than 2 pairs or zero variance on either side. */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  const r = sxy / Math.sqrt(sxx * syy);
  // Rounding can push |r| a hair past 1.
  return Math.max(-1, Math.min(1, r));
}

/** Points of a series with start in [from, to], oldest first (the series is kept sorted by start). */
export function pointsBetween(points: readonly Point[], from: number, to: number): Point[] {
  return points.filter((p) => p.start >= from && p.start <= to);
}

/** Pairs (x, y) of two series over the windows in [from, to] where both have a number. */
export function alignedPairs(a: readonly Point[], b: readonly Point[], from: number, to: number): { xs: number[]; ys: number[] } {
  const byStart = new Map<number, number>();
  for (const p of a) if (p.start >= from && p.start <= to && p.value !== null) byStart.set(p.start, p.value);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const p of b) {
    if (p.start < from || p.start > to || p.value === null) continue;
    const x = byStart.get(p.start);
    if (x === undefined) continue;
    xs.push(x);
    ys.push(p.value);
  }
  return { xs, ys };
}
