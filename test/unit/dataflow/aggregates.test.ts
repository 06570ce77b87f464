import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateBatch, aggregator } from '../../../src/dataflow/aggregates.js';

const items = (...fields: unknown[]) => fields.map((field, i) => ({ field, ts: i }));

describe('dataflow aggregates', () => {
  it('count, sum, min, max, mean over numbers; null skipped; numeric strings count', () => {
    const xs = items(3, 1, null, '4', 2);
    assert.equal(aggregateBatch('count', xs), 5);
    assert.equal(aggregateBatch('sum', xs), 10);
    assert.equal(aggregateBatch('min', xs), 1);
    assert.equal(aggregateBatch('max', xs), 4);
    assert.equal(aggregateBatch('mean', xs), 2.5);
  });

  it('with no numbers: sum 0, min/max/mean null', () => {
    const xs = items(null, undefined);
    assert.equal(aggregateBatch('sum', xs), 0);
    assert.equal(aggregateBatch('min', xs), null);
    assert.equal(aggregateBatch('max', xs), null);
    assert.equal(aggregateBatch('mean', xs), null);
  });

  it('a non-number is reported invalid and leaves the state alone', () => {
    const sum = aggregator('sum');
    assert.equal(sum.add(5, 'abc', 0), 'invalid');
    assert.equal(sum.add(5, { a: 1 }, 0), 'invalid');
    assert.equal(sum.add(5, 2, 0), 7);
  });

  it('last is the value with the greatest event time (later arrival wins a tie), not the last to arrive', () => {
    assert.equal(aggregateBatch('last', [{ field: 'b', ts: 20 }, { field: 'a', ts: 10 }]), 'b');
    assert.equal(aggregateBatch('last', [{ field: 'a', ts: 10 }, { field: 'b', ts: 10 }]), 'b');
    assert.deepEqual(aggregateBatch('last', [{ field: { p: 1 }, ts: 1 }]), { p: 1 });
  });

  it('distinct counts exactly, objects by their JSON, and survives a JSON round trip', () => {
    assert.equal(aggregateBatch('distinct', items('a', 'b', 'a', 1, '1', { x: 1 }, { x: 1 }, null)), 4);
    const d = aggregator('distinct');
    let s = d.init();
    for (const v of ['x', 'y', 'x']) s = d.add(s, v, 0) as typeof s;
    const restored = d.fromJSON(JSON.parse(JSON.stringify(d.toJSON(s))));
    assert.equal(d.result(d.add(restored, 'z', 0) as typeof s), 3);
  });
});
