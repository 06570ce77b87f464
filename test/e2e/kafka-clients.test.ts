import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, stopTestNode } from '../helpers/test-node.js';
import { connectFluvio, Offset, take, type FluvioClient } from '../helpers/fluvio.js';
import { eventually, kafkaBroker, kafkajs, run, startKafkaTestNode } from '../helpers/kafka.js';
import { Freshet } from '../../src/client/index.js';
import { RawKafka } from '../helpers/kafka-raw.js';
import { KafkaApiKey } from '../../src/protocol/kafka/api-keys.js';
import { decodeKafkaBatch, encodeKafkaBatch } from '../../src/protocol/kafka/records.js';

let node: Awaited<ReturnType<typeof startKafkaTestNode>>;
let broker: string;
let fluvio: FluvioClient;

before(async () => {
  node = await startKafkaTestNode();
  broker = kafkaBroker(node);
  fluvio = await connectFluvio(node.endpoint);
});

after(async () => {
  await stopTestNode(node);
});

test('kcat produces keyed records and consumes them from the beginning', async () => {
  await createTopic(node, 'kcat-keyed');
  await run('kcat', ['-b', broker, '-P', '-t', 'kcat-keyed', '-K:'], 'k1:v1\nk2:v2\n:no-key\n');
  await run('kcat', ['-b', broker, '-P', '-t', 'kcat-keyed'], 'plain\n');
  const out = await run('kcat', ['-b', broker, '-C', '-t', 'kcat-keyed', '-o', 'beginning', '-e', '-f', '%k|%s|%o\n']);
  assert.deepEqual(out.trim().split('\n'), ['k1|v1|0', 'k2|v2|1', '|no-key|2', '|plain|3']);
  const listing = await run('kcat', ['-b', broker, '-L', '-t', 'kcat-keyed']);
  assert.match(listing, /topic "kcat-keyed" with 1 partitions/);
});

test('kafkajs admin creates, lists and deletes topics', async () => {
  const admin = kafkajs(broker).admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 3 }] }), true);
    assert.ok((await admin.listTopics()).includes('kjs-admin'));
    const metadata = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
    assert.equal(metadata.topics[0].partitions.length, 3);
    await assert.rejects(admin.createTopics({ topics: [{ topic: 'Bad_Name', numPartitions: 1 }] }));
    await admin.deleteTopics({ topics: ['kjs-admin'] });
    assert.ok(!(await admin.listTopics()).includes('kjs-admin'));
  } finally {
    await admin.disconnect();
  }
});

test('kafkajs produces and consumes keys, values, headers and timestamps', async () => {
  await createTopic(node, 'kjs-data', 2);
  const kafka = kafkajs(broker);
  const producer = kafka.producer();
  await producer.connect();
  const timestamp = Date.now() - 60_000;
  await producer.send({
    topic: 'kjs-data',
    messages: [
      { key: 'a', value: 'one', partition: 0, timestamp: String(timestamp), headers: { trace: 'x1', n: Buffer.from([1, 2]) } },
      { key: null, value: 'two', partition: 1, timestamp: String(timestamp + 1) },
    ],
  });
  const consumer = kafka.consumer({ groupId: 'kjs-data-reader', maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'kjs-data', fromBeginning: true });
  const seen: { partition: number; key: string | null; value: string; timestamp: string; headers: Record<string, unknown> }[] = [];
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, key: message.key?.toString() ?? null, value: message.value!.toString(), timestamp: message.timestamp, headers: message.headers ?? {} });
    },
  });
  await eventually(() => seen.length === 2, 'the first two records');
  await producer.send({ topic: 'kjs-data', messages: [{ key: 'late', value: 'three', partition: 0 }] });
  await eventually(() => seen.length === 3, 'the appended record');
  await consumer.disconnect();
  await producer.disconnect();
  const first = seen.find((r) => r.value === 'one')!;
  assert.equal(first.key, 'a');
  assert.equal(first.timestamp, String(timestamp));
  assert.equal(first.headers.trace?.toString(), 'x1');
  assert.deepEqual([...(first.headers.n as Buffer)], [1, 2]);
  const second = seen.find((r) => r.value === 'two')!;
  assert.equal(second.key, null);
  assert.equal(second.partition, 1);
  assert.equal(second.timestamp, String(timestamp + 1));
});

test('records from @fluvio/client are read by kafkajs, and kafkajs records by @fluvio/client', async () => {
  await createTopic(node, 'interop');
  const fluvioProducer = await fluvio.topicProducer('interop');
  await fluvioProducer.send('fk', 'from-fluvio');
  await fluvioProducer.sendRecord('no-key-from-fluvio', 0);
  await fluvioProducer.flush();
  const kafka = kafkajs(broker);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'interop', messages: [{ key: 'kk', value: 'from-kafka' }, { key: null, value: 'no-key-from-kafka' }] });
  await producer.disconnect();

  const consumer = await fluvio.partitionConsumer('interop', 0);
  const records = await take(await consumer.createStream(new Offset({ index: 0, from: 'beginning' })), 4);
  assert.deepEqual(
    records.map((r) => [r.hasKey() ? r.keyString() : null, r.valueString()]),
    [
      ['fk', 'from-fluvio'],
      ['', 'no-key-from-fluvio'],
      ['kk', 'from-kafka'],
      [null, 'no-key-from-kafka'],
    ],
  );

  const reader = kafka.consumer({ groupId: 'interop-reader', maxWaitTimeInMs: 500 });
  await reader.connect();
  await reader.subscribe({ topic: 'interop', fromBeginning: true });
  const seen: [string | null, string, string][] = [];
  await reader.run({ eachMessage: async ({ message }) => void seen.push([message.key?.toString() ?? null, message.value!.toString(), message.offset]) });
  await eventually(() => seen.length === 4, 'four records through kafkajs');
  await reader.disconnect();
  assert.deepEqual(seen, [
    ['fk', 'from-fluvio', '0'],
    ['', 'no-key-from-fluvio', '1'],
    ['kk', 'from-kafka', '2'],
    [null, 'no-key-from-kafka', '3'],
  ]);
});

test('timestamps survive both ways between our client and kafkajs', async () => {
  await createTopic(node, 'interop-time');
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  const kafka = kafkajs(broker);
  try {
    const producer = await freshet.producer('interop-time');
    await producer.send('ours', 'v1', { timestamp: 1_700_000_000_000 });
    await producer.flush();
    const kafkaProducer = kafka.producer();
    await kafkaProducer.connect();
    await kafkaProducer.send({ topic: 'interop-time', messages: [{ key: 'theirs', value: 'v2', timestamp: '1700000000500' }] });
    await kafkaProducer.disconnect();

    const ours = [];
    for await (const record of await freshet.consumer('interop-time', { offset: 'beginning' })) {
      ours.push([record.key?.toString(), record.value.toString(), record.timestamp]);
      if (ours.length === 2) break;
    }
    assert.deepEqual(ours, [
      ['ours', 'v1', 1_700_000_000_000],
      ['theirs', 'v2', 1_700_000_000_500],
    ]);
    const out = await run('kcat', ['-b', broker, '-C', '-t', 'interop-time', '-o', 'beginning', '-e', '-f', '%k|%s|%T\n']);
    assert.deepEqual(out.trim().split('\n'), ['ours|v1|1700000000000', 'theirs|v2|1700000000500']);
  } finally {
    await freshet.close();
  }
});

test('a Fetch long poll is answered by the append, not by its max wait', { timeout: 20_000 }, async () => {
  await createTopic(node, 'long-poll');
  const raw = await RawKafka.connect(node.kafka!.port);
  try {
    // max_wait_ms 30 s is beyond this test's 20 s deadline: only the append can answer in time.
    const answer = raw.request<{ responses: { partitions: { errorCode: number; highWatermark: number; records: Buffer | null }[] }[] }>(KafkaApiKey.Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'long-poll', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await node.replicas.get('long-poll', 0)!.append([encodeKafkaBatch([{ value: Buffer.from('woken') }], { firstTimestamp: Date.now() })]);
    const partition = (await answer).responses[0].partitions[0];
    assert.equal(partition.errorCode, 0);
    assert.equal(partition.highWatermark, 1);
    const records = await decodeKafkaBatch(partition.records!);
    assert.equal(records[0].value!.toString(), 'woken');
  } finally {
    raw.close();
  }
});

test('kcat in a balanced consumer group (librdkafka) reads every record and commits', async () => {
  await createTopic(node, 'kcat-group', 3);
  await run('kcat', ['-b', broker, '-P', '-t', 'kcat-group', '-K:'], 'a:1\nb:2\nc:3\nd:4\n');
  const out = await run('kcat', ['-b', broker, '-G', 'kcat-readers', '-o', 'beginning', '-e', '-f', '%k=%s\n', 'kcat-group'], undefined, 40_000);
  assert.deepEqual(out.trim().split('\n').sort(), ['a=1', 'b=2', 'c=3', 'd=4']);
  const committed = node.kafka!.groups.offsets.all('kcat-readers').get('kcat-group')!;
  const total = [...committed.values()].reduce((sum, c) => sum + c.offset, 0);
  assert.equal(total, 4);
});
