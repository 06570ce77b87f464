// Interoperability with the real @fluvio/client (Fluvio's Rust client, native):
// what we write (with every compression) it reads, what it writes we read,
// and a key lands in the same partition whichever client sent it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { connectFluvio, Offset as FluvioOffset, take, type FluvioClient } from '../helpers/fluvio.js';
import { decodeRecords, parseBatchHeader, splitRecordSet } from '../../src/protocol/record-batch.js';
import { Freshet, keyPartition, type CompressionName, type ConsumerRecord } from '../../src/client/index.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let freshet: Freshet;
let fluvio: FluvioClient;

before(async () => {
  node = await startTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
  fluvio = await connectFluvio(node.endpoint);
});

after(async () => {
  await freshet.close();
  await node.stop();
  await removeDir(node.dataDir);
});

async function storedRecords(topic: string, partition: number) {
  const { chunks } = await node.replicas.get(topic, partition)!.read(0, 64 * 1024 * 1024);
  return chunks.flatMap((chunk) => splitRecordSet(chunk)).flatMap((batch) => decodeRecords(batch));
}

for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
  test(`@fluvio/client reads what we produce with ${compression} compression`, async () => {
    const topic = `interop-${compression}`;
    await freshet.admin.createTopic(topic);
    const producer = await freshet.producer(topic, { compression, lingerMs: 20, batchSize: 1024 * 1024 });
    // Compressible values, a keyless record, an empty value, and a batch past snappy's 64 KiB chunk size.
    const records: [string | null, string][] = Array.from({ length: 500 }, (_, i) => [
      i % 7 === 0 ? null : `key-${i}`,
      i === 5 ? '' : `value-${i}-${'fluvio '.repeat(i % 50)}`,
    ]);
    const offsets = await Promise.all(records.map(([key, value]) => producer.send(key, value)));
    assert.deepEqual(offsets, [...offsets.keys()]);
    const { chunks } = await node.replicas.get(topic, 0)!.read(0, 64 * 1024 * 1024);
    const stored = chunks.flatMap((chunk) => splitRecordSet(chunk)).map((batch) => parseBatchHeader(batch, 0).compression);
    assert.equal(stored.length, 1, 'one batch of about 90 KB');
    assert.ok(stored.every((id) => id === ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(compression)), `stored compression ids ${stored}`);

    const consumer = await fluvio.partitionConsumer(topic, 0);
    const received = await take(await consumer.createStream(new FluvioOffset({ index: 0, from: 'beginning' })), records.length);
    assert.deepEqual(
      received.map((record) => [record.hasKey() ? record.keyString() : null, record.valueString()]),
      records,
    );
  });
}

test('we read what @fluvio/client produces', async () => {
  const topic = 'interop-from-fluvio';
  await (await fluvio.admin()).createTopic(topic, { partitions: 1, replicationFactor: 1, ignoreRackAssignment: false });
  const producer = await fluvio.topicProducer(topic);
  const items: [string, string][] = Array.from({ length: 200 }, (_, i) => [`k${i}`, `v${i}`]);
  await producer.sendAll(items);
  await producer.sendRecord('no key given', 0);
  await producer.flush();
  const consumer = await freshet.consumer(topic, { offset: 'beginning', continuous: false });
  const received: ConsumerRecord[] = [];
  for await (const record of consumer) received.push(record);
  assert.deepEqual(
    received.slice(0, 200).map((record) => [record.keyString(), record.valueString()]),
    items,
  );
  // sendRecord writes an empty key (Some("")), not a missing one.
  assert.equal(received[200].keyString(), '');
  assert.equal(received[200].valueString(), 'no key given');
  assert.deepEqual(received.map((record) => record.offset), [...received.keys()]);
});

test('a key lands in the partition @fluvio/client would choose (5 partitions)', async () => {
  const keys = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? `user-${i}` : i % 3 === 1 ? `${i}` : `ключ-${i}-${'x'.repeat(i % 17)}`));
  keys.push('');
  await (await fluvio.admin()).createTopic('keys-fluvio', { partitions: 5, replicationFactor: 1, ignoreRackAssignment: false });
  await freshet.admin.createTopic('keys-freshet', { partitions: 5 });

  const fluvioProducer = await fluvio.topicProducer('keys-fluvio');
  await fluvioProducer.sendAll(keys.map((key): [string, string] => [key, key]));
  await fluvioProducer.flush();
  const ours = await freshet.producer('keys-freshet');
  const sent = await Promise.all(keys.map((key) => ours.sendRecord({ key, value: key })));

  const fluvioChoice = new Map<string, number>();
  for (let partition = 0; partition < 5; partition++) {
    for (const record of await storedRecords('keys-fluvio', partition)) fluvioChoice.set(record.value.toString(), partition);
  }
  assert.equal(fluvioChoice.size, keys.length);
  const used = new Set<number>();
  keys.forEach((key, i) => {
    assert.equal(sent[i].partition, fluvioChoice.get(key), `key "${key}"`);
    assert.equal(keyPartition(Buffer.from(key), 5), fluvioChoice.get(key));
    used.add(sent[i].partition);
  });
  assert.equal(used.size, 5);
  // And what landed is readable through our consumer in the same places.
  for (let partition = 0; partition < 5; partition++) {
    const stored = await storedRecords('keys-freshet', partition);
    for (const record of stored) assert.equal(fluvioChoice.get(record.value.toString()), partition);
  }
});
