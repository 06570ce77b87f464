// Topic deduplication as Fluvio has it: `freshet topic create t --dedup
// --dedup-count N --dedup-age D` stores a deduplication section with the
// topic (persisted, shown by topic list/describe, in the wire metadata the
// Fluvio client reads); the node then runs the filter
// (fluvio/dedup-bloom-filter, built in) on the produce path, so duplicates
// that @fluvio/client produces are not stored; the window survives a
// restart through the filter's look-back over the stored records.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, removeDir, tempDir } from '../helpers/test-node.js';
import { connectFluvio, Offset, take, type FluvioClient } from '../helpers/fluvio.js';
import { lines, runCli } from '../helpers/cli.js';
import { Freshet } from '../../src/client/index.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let fluvio: FluvioClient;
let profileDir: string;
const cli = (args: string[]) => runCli(['-c', node.endpoint, ...args], { env: { FRESHET_PROFILE_PATH: `${profileDir}/config` } });

before(async () => {
  node = await startTestNode();
  fluvio = await connectFluvio(node.endpoint);
  profileDir = await tempDir('freshet-cli-profile-');
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
  await removeDir(profileDir);
});

async function stored(topic: string): Promise<[string, string][]> {
  const consumer = await fluvio.partitionConsumer(topic, 0);
  const stream = await consumer.createStream(new Offset({ index: 0, from: 'beginning' }));
  const records = await take(stream, node.replicas.get(topic, 0)!.highWatermark());
  return records.map((r) => [r.keyString() ?? '', r.valueString() ?? '']);
}

test('topic create --dedup: persisted and shown; @fluvio/client duplicates are dropped on produce, also after a restart', async () => {
  const created = await cli(['topic', 'create', 'orders', '--dedup', '--dedup-count', '3', '--dedup-age', '1h']);
  assert.deepEqual([created.code, created.stdout, created.stderr], [0, 'topic "orders" created\n', '']);
  const refused = await cli(['topic', 'create', 'other', '--dedup-count', '3']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /--dedup-count needs --dedup/);

  const described = await cli(['topic', 'describe', 'orders']);
  assert.match(described.stdout, /Deduplication Filter\s+: fluvio\/dedup-bloom-filter@0\.1\.0/);
  assert.match(described.stdout, /Deduplication Count Bound : 3\n/);
  assert.match(described.stdout, /Deduplication Age Bound {3}: 1h\n/);
  const listed = lines((await cli(['topic', 'list'])).stdout);
  assert.match(listed.find((l) => l.trim().startsWith('orders')) ?? '', /fluvio\/dedup-bloom-filter@0\.1\.0/);

  // what Fluvio's client sees of the topic: the deduplication section on the wire
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  try {
    const info = await freshet.admin.describeTopic('orders');
    assert.deepEqual(info.deduplication, { count: 3, ageMs: 3_600_000, filter: 'fluvio/dedup-bloom-filter@0.1.0' });
  } finally {
    await freshet.close();
  }

  const producer = await fluvio.topicProducer('orders');
  await producer.sendAll([
    ['a', '1'],
    ['b', '2'],
    ['a', '3'], // a within the last 3
    ['c', '4'],
  ]);
  await producer.flush();
  await producer.send('b', '5'); // window [a, b, c]: a duplicate, in its own request
  await producer.send('d', '6'); // pushes a out of the window
  await producer.send('a', '7');
  await producer.flush();
  assert.deepEqual(await stored('orders'), [
    ['a', '1'],
    ['b', '2'],
    ['c', '4'],
    ['d', '6'],
    ['a', '7'],
  ]);
});

test('the deduplication window is seeded from the stored records when the node restarts', async () => {
  const dataDir = node.dataDir;
  await node.stop();
  node = await startTestNode({ dataDir });
  fluvio = await connectFluvio(node.endpoint);
  const topics = lines((await cli(['topic', 'list'])).stdout);
  assert.match(topics.find((l) => l.trim().startsWith('orders')) ?? '', /fluvio\/dedup-bloom-filter@0\.1\.0/, 'persisted with the topic');
  const producer = await fluvio.topicProducer('orders');
  await producer.send('a', '8'); // the last 3 stored: c, d, a
  await producer.send('e', '9');
  await producer.flush();
  const records = await stored('orders');
  assert.deepEqual(records.slice(5), [['e', '9']]);
});
