import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { delta, mean, pctChange, pearson, pValue, regularizedBeta } from '../../../src/dataflow/series.js';

describe('dataflow series math', () => {
  it('delta and percent change against the previous value', () => {
    assert.equal(delta(12, 10), 2);
    assert.equal(delta(12, null), null);
    assert.equal(delta(12, undefined), null);
    assert.equal(pctChange(12, 10), 20);
    assert.equal(pctChange(5, -10), 150); // relative to |previous|
    assert.equal(pctChange(12, 0), null); // previous 0: undefined change
    assert.equal(pctChange(null, 3), null);
  });

  it('mean', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    assert.equal(mean([]), null);
  });

  it('Pearson r matches a hand-computed value', () => {
    // x = 1..5, y = 2,4,5,4,5: sxy = 6, sxx = 10, syy = 6 → r = 6 / sqrt(60)
    assert.equal(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 6 / Math.sqrt(60));
    assert.equal(pearson([1, 2, 3], [3, 2, 1]), -1);
    assert.equal(pearson([1, 2, 3], [2, 4, 6]), 1);
  });

  it('Pearson is null with fewer than 3 points or a constant side; NaN/null points are skipped pairwise', () => {
    assert.equal(pearson([1, 2], [2, 4]), null);
    assert.equal(pearson([], []), null);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
    assert.equal(pearson([0.1, 0.1, 0.1], [1, 2, 3]), null);
    assert.equal(pearson([1, 2, 3, null, 4], [2, 4, 6, 100, 8]), 1);
  });

  it('two-sided p-values equal the closed forms for 3 and 4 points and scipy for 10', () => {
    // n = 3 (1 degree of freedom, Cauchy): p = 1 − (2/π)·asin|r|; n = 4 (2 degrees): p = 1 − |r|.
    for (const r of [0.1, 0.5, -0.9, 0.999]) {
      assert.ok(Math.abs(pValue(r, 3)! - (1 - (2 / Math.PI) * Math.asin(Math.abs(r)))) < 1e-12);
      assert.ok(Math.abs(pValue(r, 4)! - (1 - Math.abs(r))) < 1e-12);
    }
    // scipy.stats.pearsonr(range(10), [2,1,4,3,7,5,6,9,10,8]): r = 0.9030303030303026, p = 0.00034361219776328565
    assert.ok(Math.abs(pValue(0.9030303030303026, 10)! - 0.00034361219776328565) < 1e-12);
    assert.equal(pValue(1, 5), 0);
    assert.equal(pValue(null, 5), null);
    assert.equal(pValue(0.5, 2), null);
    // I_x(1, 1) = x; I_x(a, b) = 1 − I_{1−x}(b, a)
    assert.ok(Math.abs(regularizedBeta(0.3, 1, 1) - 0.3) < 1e-14);
    assert.ok(Math.abs(regularizedBeta(0.2, 2.5, 4) + regularizedBeta(0.8, 4, 2.5) - 1) < 1e-13);
  });
});
