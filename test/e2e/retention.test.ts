import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';

const node = await startTestNode({ storage: { retentionCheckIntervalMs: 100 } });

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('consuming right after retention removed segments starts at the oldest stored record', async () => {
  await node.topics.create({
    name: 'short-lived',
    partitions: 1,
    replicationFactor: 1,
    ignoreRackAssignment: false,
    retentionSeconds: 1,
    segmentSize: 4096,
    compression: 'any',
    createdAt: new Date().toISOString(),
  });
  const fluvio = await connectFluvio(node.endpoint);
  const producer = await fluvio.topicProducer('short-lived');
  for (let i = 0; i < 40; i++) {
    await producer.send(`k${i}`, `${i}:${'x'.repeat(400)}`);
    await producer.flush();
  }
  const store = node.replicas.get('short-lived', 0)!;
  assert.equal(store.highWatermark(), 40);

  // A consumer that started before retention ran, paused after a few records.
  const early = await (await fluvio.partitionConsumer('short-lived', 0)).createStream(new Offset({ index: 0, from: 'beginning' }));
  const firstFew = await take(early, 2);
  assert.deepEqual(firstFew.map((record) => record.valueString().split(':')[0]), ['0', '1']);

  await waitFor(() => store.logStartOffset() > 0, 'retention to remove the oldest segments');
  const start = store.logStartOffset();

  const late = await (await fluvio.partitionConsumer('short-lived', 0)).createStream(new Offset({ index: 0, from: 'beginning' }));
  // Retention may remove more segments meanwhile; whatever the stream starts at,
  // it must be a stored record and everything after it must follow in order.
  const remaining: number[] = [];
  while (remaining.at(-1) !== 39) {
    const [record] = await take(late, 1);
    remaining.push(Number(record.valueString().split(':')[0]));
  }
  assert.ok(remaining[0] >= start, `stream started at ${remaining[0]}, before the log start ${start}`);
  assert.deepEqual(remaining, Array.from({ length: remaining.length }, (_, i) => remaining[0] + i));

  // The consumer that started before retention ran is not broken by it.
  const rest = await take(early, 1);
  assert.equal(rest.length, 1);
  // New records still arrive on both.
  await producer.send('k40', '40:new');
  await producer.flush();
  const [fresh] = await take(late, 1);
  assert.equal(fresh.valueString(), '40:new');
});
