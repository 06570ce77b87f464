import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { builtinSmartModule } from '../../src/smartengine/builtins.js';
import { connectFluvio, Offset, take, type FluvioClient } from '../helpers/fluvio.js';

// SmartModules on the consume side through the real @fluvio/client: a
// built-in by name, with the parameters Fluvio's documentation uses.

let node: Awaited<ReturnType<typeof startTestNode>>;
let fluvio: FluvioClient;

before(async () => {
  // A built-in is compiled from its AssemblyScript source on first use (and
  // cached on disk); do that here so the stream below is not timed on it.
  await builtinSmartModule('infinyon/array-map-json');
  node = await startTestNode();
  fluvio = await connectFluvio(node.endpoint);
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

const beginning = () => new Offset({ index: 0, from: 'beginning' });

test('a built-in SmartModule named in streamWithConfig runs on the SPU', { timeout: 120_000 }, async () => {
  await (await fluvio.admin()).createTopic('animals');
  const producer = await fluvio.topicProducer('animals');
  for (const value of ['cat', 'dog', 'Cat food', 'bird', 'catalog']) await producer.send('', value);
  await producer.flush();
  // The Node client cannot send init params, so use a built-in that needs none.
  await (await fluvio.admin()).createTopic('lists');
  const lists = await fluvio.topicProducer('lists');
  await lists.send('', JSON.stringify(['a', 'b', 'c']));
  await lists.send('', JSON.stringify([1, 2]));
  await lists.flush();
  const listConsumer = await fluvio.partitionConsumer('lists', 0);
  const stream = await listConsumer.streamWithConfig(beginning(), {
    smartmoduleType: 'array_map',
    smartmoduleName: 'infinyon/array-map-json',
  } as Parameters<typeof listConsumer.streamWithConfig>[1]);
  const items = await take(stream, 5);
  assert.deepEqual(
    items.map((record) => record.valueString()),
    ['"a"', '"b"', '"c"', '1', '2'],
  );
});

test('an unknown SmartModule name ends that stream with an error and the node serves on', async () => {
  const consumer = await fluvio.partitionConsumer('animals', 0);
  const stream = await consumer.streamWithConfig(beginning(), {
    smartmoduleType: 'filter',
    smartmoduleName: 'no-such-module',
  } as Parameters<typeof consumer.streamWithConfig>[1]);
  await assert.rejects(take(stream, 1, 5_000), /no-such-module/);
  const plain = await take(await consumer.createStream(beginning()), 5);
  assert.equal(plain.length, 5);
});

test('an inline module that is not WebAssembly is refused clearly', async () => {
  const consumer = await fluvio.partitionConsumer('animals', 0);
  const stream = await consumer.streamWithConfig(beginning(), {
    smartmoduleType: 'map',
    smartmoduleData: gzipSync(Buffer.from('not wasm at all')).toString('base64'),
  } as Parameters<typeof consumer.streamWithConfig>[1]);
  await assert.rejects(take(stream, 1, 5_000), /SmartModule|invalid|Invalid/);
});
