import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isClosed, Watermark, windowStarts, type WindowConfig } from '../../../src/dataflow/windows.js';
import { parseDuration, formatDuration } from '../../../src/dataflow/duration.js';

const tumbling: WindowConfig = { kind: 'tumbling', size: 10, slide: 10, grace: 0 };
const sliding: WindowConfig = { kind: 'sliding', size: 30, slide: 10, grace: 0 };

describe('dataflow windows', () => {
  it('tumbling windows are epoch-aligned and half-open [start, end)', () => {
    assert.deepEqual(windowStarts(tumbling, 0), [0]);
    assert.deepEqual(windowStarts(tumbling, 9), [0]);
    assert.deepEqual(windowStarts(tumbling, 10), [10]); // the end belongs to the next window
    assert.deepEqual(windowStarts(tumbling, 1_700_000_000_123), [1_700_000_000_120]);
    assert.deepEqual(windowStarts(tumbling, -1), [-10]);
  });

  it('sliding windows start at multiples of the slide; a record is in size/slide of them', () => {
    assert.deepEqual(windowStarts(sliding, 25), [0, 10, 20]);
    assert.deepEqual(windowStarts(sliding, 30), [10, 20, 30]);
    assert.deepEqual(windowStarts({ ...sliding, size: 25 }, 24), [0, 10, 20]);
    assert.deepEqual(windowStarts({ ...sliding, size: 25 }, 26), [10, 20]);
  });

  it('a window closes when watermark ≥ end + grace', () => {
    const cfg = { ...tumbling, grace: 3 };
    assert.equal(isClosed(cfg, 0, 12), false);
    assert.equal(isClosed(cfg, 0, 13), true);
  });

  it('the watermark is the minimum over active inputs, monotonic; idle inputs leave the minimum', () => {
    const wm = new Watermark(100);
    const a = wm.input('a', 0);
    const b = wm.input('b', 0);
    Watermark.touch(a, 10);
    assert.equal(Watermark.observe(a, 50), true);
    assert.equal(wm.update(), -Infinity); // b has seen nothing yet
    Watermark.touch(b, 20);
    Watermark.observe(b, 30);
    assert.equal(wm.update(), 30);
    assert.equal(Watermark.observe(b, 20), false); // older: no effect
    assert.equal(wm.update(), 30);
    assert.equal(wm.checkIdle(115), false); // a idle (last seen 10), b not (20)
    assert.equal(wm.isIdle('a'), true);
    assert.equal(wm.update(), 30); // only b: max 30
    Watermark.touch(b, 116);
    Watermark.observe(b, 70);
    assert.equal(wm.update(), 70); // a idle: b alone decides
    Watermark.touch(a, 117); // a is back with an old max: the watermark does not move back
    assert.equal(wm.update(), 70);
  });

  it('durations: ms, s, m, h and composites; anything else is refused', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1m 30s'), 90_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration(1500), 1500);
    assert.throws(() => parseDuration('3d'), /unknown time unit "d"/);
    assert.throws(() => parseDuration('soon'), /expected a duration/);
    assert.equal(formatDuration(90_500), '1m 30s 500ms');
  });
});
