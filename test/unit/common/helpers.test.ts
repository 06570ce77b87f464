import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { backoffDelay, processAlive, SerialQueue } from '../../../src/common/index.js';

describe('backoffDelay', () => {
  const range = { minMs: 100, maxMs: 10_000 };

  it('waits minMs first, then doubles its ceiling up to maxMs, drawing from the upper half', () => {
    assert.equal(backoffDelay(0, range, () => 0), 100);
    assert.equal(backoffDelay(0, range, () => 0.999), 100);
    assert.equal(backoffDelay(1, range, () => 0), 100);
    assert.equal(backoffDelay(1, range, () => 0.999), 200);
    assert.equal(backoffDelay(3, range, () => 0), 400);
    assert.equal(backoffDelay(3, range, () => 0.5), 600);
    assert.equal(backoffDelay(20, range, () => 0), 5000);
    assert.equal(backoffDelay(20, range, () => 0.999), 9995);
    assert.equal(backoffDelay(10_000, range, () => 0.999), 9995, 'a huge attempt stays capped');
  });

  it('spreads the delays of units that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(6, range)));
    assert.ok(delays.size > 10, `${delays.size} distinct delays`);
    for (const d of delays) assert.ok(d >= 3200 && d <= 6400, String(d));
  });

  it('refuses a bad attempt or range', () => {
    assert.throws(() => backoffDelay(-1, range), RangeError);
    assert.throws(() => backoffDelay(1.5, range), RangeError);
    assert.throws(() => backoffDelay(0, { minMs: 10, maxMs: 5 }), RangeError);
    assert.throws(() => backoffDelay(0, { minMs: -1, maxMs: 5 }), RangeError);
    assert.throws(() => backoffDelay(0, { minMs: 1, maxMs: Infinity }), RangeError);
  });
});

describe('SerialQueue', () => {
  it('runs jobs one at a time in call order; a failed job does not stop the next', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let active = 0;
    const job = (name: string, fail = false) => async () => {
      active++;
      assert.equal(active, 1, 'one job at a time');
      log.push(`start ${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`end ${name}`);
      active--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const results = await Promise.allSettled([queue.run(job('a')), queue.run(job('b', true)), queue.run(job('c'))]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      ['a', 'b failed', 'c'],
    );
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('idle resolves after everything queued before it', async () => {
    const queue = new SerialQueue();
    let done = false;
    void queue.run(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      done = true;
    });
    await queue.idle();
    assert.equal(done, true);
  });
});

describe('processAlive', () => {
  it('is true for a live process, false once it exited, false for what is not a pid (0 would be our process group)', async () => {
    assert.equal(processAlive(process.pid), true);
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await new Promise((resolve) => child.on('close', resolve));
    assert.equal(processAlive(pid), false);
    for (const notPid of [0, -1, 1.5, Number.NaN]) assert.equal(processAlive(notPid), false, String(notPid));
  });
});
