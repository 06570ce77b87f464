// Series math over closed time steps (docs/dataflows.md "Series and
// correlations").
//
// - delta / pctChange: the current step's value against the previous one
//   (with dense time steps the immediately preceding step; with sparse ones
//   the key's previous point); null when either is null, pctChange also when
//   the previous value is 0.
// - pearson: over paired samples where both sides are numbers (NaN marks a
//   missing point); r is null with fewer than MIN_POINTS pairs or when either
//   side is constant over them. pValue is the two-sided p-value of r under
//   the null hypothesis of no correlation (Student's t with n − 2 degrees of
//   freedom), which is I_{1−r²}((n−2)/2, 1/2), the regularized incomplete beta.

/** Fewer paired points than this give r = null (two points always line up). */
export const MIN_POINTS = 3;

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

export interface Pearson {
  /** Pairs where both sides are numbers. */
  n: number;
  r: number | null;
}

/**
 * Pearson's r of xs[xFrom + i] against ys[yFrom + i], i < length, over the
 * pairs where neither is NaN (two passes: means, then deviations).
 */
export function pearsonAligned(xs: ArrayLike<number>, xFrom: number, ys: ArrayLike<number>, yFrom: number, length: number): Pearson {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let xConstant = true;
  let yConstant = true;
  let x0 = NaN;
  let y0 = NaN;
  for (let i = 0; i < length; i++) {
    const x = xs[xFrom + i];
    const y = ys[yFrom + i];
    if (x !== x || y !== y) continue;
    if (n === 0) {
      x0 = x;
      y0 = y;
    } else {
      if (x !== x0) xConstant = false;
      if (y !== y0) yConstant = false;
    }
    n++;
    sx += x;
    sy += y;
  }
  if (n < MIN_POINTS || xConstant || yConstant) return { n, r: null };
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < length; i++) {
    const x = xs[xFrom + i];
    const y = ys[yFrom + i];
    if (x !== x || y !== y) continue;
    const dx = x - mx;
    const dy = y - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const r = sxy / Math.sqrt(sxx * syy);
  // Rounding can push |r| a hair past 1.
  return { n, r: Math.max(-1, Math.min(1, r)) };
}

/** Pearson's r of two equally long sample lists (NaN or null entries are skipped pairwise). */
export function pearson(xs: readonly (number | null)[], ys: readonly (number | null)[]): number | null {
  const n = Math.min(xs.length, ys.length);
  const fx = Float64Array.from(xs.slice(0, n), (v) => v ?? NaN);
  const fy = Float64Array.from(ys.slice(0, n), (v) => v ?? NaN);
  return pearsonAligned(fx, 0, fy, 0, n).r;
}

/** Two-sided p-value of a Pearson r over n points; null when r is. */
export function pValue(r: number | null, n: number): number | null {
  if (r === null || n < MIN_POINTS) return null;
  const x = 1 - r * r;
  if (x <= 0) return 0;
  return regularizedBeta(x, (n - 2) / 2, 0.5);
}

/** ln Γ(z), z > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
function logGamma(z: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const zz = z - 1;
  let a = c[0];
  const t = zz + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (zz + i);
  return 0.5 * Math.log(2 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(a);
}

/** I_x(a, b): the regularized incomplete beta function, by its continued fraction (modified Lentz). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedBeta(1 - x, b, a);
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x)) / a;
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = i >> 1;
    let numerator: number;
    if (i === 0) numerator = 1;
    else if (i % 2 === 0) numerator = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else numerator = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    const cd = c * d;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-15) return front * (f - 1);
  }
  return front * (f - 1);
}
