import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { stopTestNode } from '../helpers/test-node.js';
import { kafkaBroker, startKafkaTestNode } from '../helpers/kafka.js';

let node: Awaited<ReturnType<typeof startKafkaTestNode>>;
let broker: string;

before(async () => {
  node = await startKafkaTestNode();
  broker = kafkaBroker(node);
});

after(async () => {
  await stopTestNode(node);
});

test('@platformatic/kafka admin creates, describes and deletes topics', async () => {
  const admin = new Admin({ clientId: 'pk-admin', bootstrapBrokers: [broker] });
  try {
    await admin.createTopics({ topics: ['pk-admin'], partitions: 2, replicas: 1 });
    const metadata = await admin.metadata({ topics: ['pk-admin'] });
    assert.equal(metadata.topics.get('pk-admin')?.partitionsCount, 2);
    await admin.deleteTopics({ topics: ['pk-admin'] });
    assert.equal(node.topics.get('pk-admin'), undefined);
  } finally {
    await admin.close();
  }
});

test('@platformatic/kafka produces (idempotent) and consumes in a group: keys, values, headers', async () => {
  const admin = new Admin({ clientId: 'pk-admin2', bootstrapBrokers: [broker] });
  await admin.createTopics({ topics: ['pk-data'], partitions: 3, replicas: 1 });
  await admin.close();
  const producer = new Producer({ clientId: 'pk-producer', bootstrapBrokers: [broker], serializers: stringSerializers, idempotent: true });
  const messages = Array.from({ length: 30 }, (_, i) => ({ topic: 'pk-data', key: `k${i}`, value: `v${i}`, headers: { n: `${i}` } }));
  await producer.send({ messages });
  await producer.close();

  const consumer = new Consumer({ groupId: 'pk-group', clientId: 'pk-consumer', bootstrapBrokers: [broker], deserializers: stringDeserializers });
  const stream = await consumer.consume({ autocommit: true, topics: ['pk-data'], mode: 'earliest', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTime: 200 });
  const seen = new Map<string, { value: string; header: string }>();
  for await (const message of stream) {
    seen.set(message.key, { value: message.value, header: String(message.headers.get('n')) });
    if (seen.size === 30) break;
  }
  await stream.close();
  await consumer.close();
  for (let i = 0; i < 30; i++) assert.deepEqual(seen.get(`k${i}`), { value: `v${i}`, header: `${i}` });
  const total = [0, 1, 2].reduce((sum, p) => sum + node.replicas.get('pk-data', p)!.highWatermark(), 0);
  assert.equal(total, 30);
});
