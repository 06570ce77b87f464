import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignedPairs, delta, mean, pctChange, pearson } from '../../../src/dataflow/series.js';

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

  it('Pearson is null with fewer than 2 points or zero variance', () => {
    assert.equal(pearson([1], [2]), null);
    assert.equal(pearson([], []), null);
    assert.equal(pearson([1, 1, 1], [1, 2, 3]), null);
    assert.equal(pearson([1, 2, 3], [5, 5, 5]), null);
  });

  it('pairs are aligned by window, only where both series have a number', () => {
    const a = [{ start: 0, value: 1 }, { start: 10, value: 2 }, { start: 20, value: null }, { start: 30, value: 4 }];
    const b = [{ start: 10, value: 20 }, { start: 20, value: 30 }, { start: 30, value: 40 }, { start: 40, value: 50 }];
    assert.deepEqual(alignedPairs(a, b, 0, 30), { xs: [2, 4], ys: [20, 40] });
    assert.deepEqual(alignedPairs(a, b, 20, 30), { xs: [4], ys: [40] });
  });
});
