import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Lifecycle } from '../../../src/node/lifecycle.js';

const quiet = pino({ level: 'silent' });

test('parts stop in reverse start order', async () => {
  const life = new Lifecycle(quiet);
  const events: string[] = [];
  for (const part of ['a', 'b', 'c']) {
    await life.start(part, () => events.push(`start ${part}`), () => void events.push(`stop ${part}`));
  }
  life.onClose('d', () => void events.push('stop d'));
  assert.deepEqual(life.parts, ['a', 'b', 'c', 'd']);
  await life.close();
  assert.deepEqual(events, ['start a', 'start b', 'start c', 'stop d', 'stop c', 'stop b', 'stop a']);
});

test('a failed start-up step releases what started before it, and only that', async () => {
  const life = new Lifecycle(quiet);
  const stopped: string[] = [];
  await assert.rejects(
    life.compose(async () => {
      await life.start('first', () => 1, () => void stopped.push('first'));
      await life.start('second', () => 2, () => void stopped.push('second'));
      await life.start(
        'third',
        () => {
          throw new Error('port in use');
        },
        () => void stopped.push('third'),
      );
      await life.start('never', () => 4, () => void stopped.push('never'));
    }),
    /port in use/,
  );
  assert.deepEqual(stopped, ['second', 'first']);
});

test('a part that fails to stop does not keep the others from stopping; the first failure is rethrown', async () => {
  const life = new Lifecycle(quiet);
  const stopped: string[] = [];
  await life.start('a', () => 'a', () => void stopped.push('a'));
  await life.start('b', () => 'b', () => {
    throw new Error('b would not stop');
  });
  await life.start('c', () => 'c', async () => {
    await Promise.resolve();
    throw new Error('c would not stop');
  });
  await assert.rejects(life.close(), /c would not stop/);
  assert.deepEqual(stopped, ['a']);
});

test('close is idempotent and later starts are refused', async () => {
  const life = new Lifecycle(quiet);
  let stops = 0;
  await life.start('a', () => 'a', () => void stops++);
  const first = life.close();
  assert.equal(life.close(), first);
  await first;
  assert.equal(stops, 1);
  await assert.rejects(life.start('late', () => 1, () => {}), /node is stopping/);
  assert.throws(() => life.onClose('late', () => {}), /node is stopping/);
});

test('a start-up step that fails before anything started closes nothing and rethrows', async () => {
  const life = new Lifecycle(quiet);
  await assert.rejects(
    life.compose(async () => {
      throw new Error('bad config');
    }),
    /bad config/,
  );
  await life.close();
});
