import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestByteBudget, type BudgetReader } from '../../../src/server/net/request-budget.js';

function reader(): BudgetReader & { resumed: number } {
  return {
    resumed: 0,
    resumeReading() {
      this.resumed++;
    },
  };
}

test('readers wait once the budget is spent and resume in order as served requests release bytes', () => {
  const budget = new RequestByteBudget(100);
  const [a, b, c] = [reader(), reader(), reader()];
  budget.receive(60);
  budget.serve(60, a);
  assert.equal(budget.mayRead(a), true);
  budget.receive(50);
  assert.equal(budget.mayRead(b), false, 'spent, and a request being served will release bytes');
  assert.equal(budget.mayRead(c), false);
  assert.equal(budget.waitingReaders, 2);
  budget.served(60);
  assert.deepEqual([b.resumed, c.resumed], [1, 1]);
  assert.equal(budget.heldBytes, 50);
  assert.equal(budget.peakHeldBytes, 110);
});

test('with only partial frames held, one reader at a time reads on; a dropped reader passes the turn on', () => {
  const budget = new RequestByteBudget(100);
  const [a, b, c] = [reader(), reader(), reader()];
  budget.receive(70);
  budget.receive(40);
  assert.equal(budget.mayRead(a), true, 'nothing served could release: a reads on alone');
  assert.equal(budget.mayRead(b), false);
  assert.equal(budget.mayRead(c), false);
  assert.equal(budget.mayRead(a), true, 'still its turn');
  budget.drop(70, a);
  assert.equal(budget.heldBytes, 40);
  assert.deepEqual([b.resumed, c.resumed], [1, 1], 'room again: everyone reads');
  budget.receive(80);
  assert.equal(budget.mayRead(b), true);
  assert.equal(budget.mayRead(c), false);
  budget.serve(80, b);
  budget.drop(40, c);
  assert.equal(c.resumed, 1, 'a dropped reader is not resumed');
  budget.served(80);
  assert.equal(budget.heldBytes, 0);
  assert.equal(budget.waitingReaders, 0);
});

test('bad limits and releasing more than held are refused', () => {
  assert.throws(() => new RequestByteBudget(0), /positive integer/);
  const budget = new RequestByteBudget(10);
  assert.throws(() => budget.drop(1, reader()), /more request bytes released than were held/);
});
