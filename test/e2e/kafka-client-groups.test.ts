import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, stopTestNode } from '../helpers/test-node.js';
import { eventually, kafkaBroker, run, startKafkaTestNode } from '../helpers/kafka.js';
import { Freshet, type GroupConsumer, type GroupRecord } from '../../src/client/index.js';

let node: Awaited<ReturnType<typeof startKafkaTestNode>>;
let freshet: Freshet;

before(async () => {
  node = await startKafkaTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint, kafkaEndpoint: kafkaBroker(node) });
});

after(async () => {
  await freshet.close();
  await stopTestNode(node);
});

test('idempotent: true produces through the Kafka listener; records are read by Fluvio and Kafka readers', async () => {
  await createTopic(node, 'ours-idempotent', 2);
  const producer = await freshet.producer('ours-idempotent', { idempotent: true });
  const offsets = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send(`k${i % 5}`, `v${i}`, { headers: { n: String(i) } })));
  await producer.close();
  assert.equal(new Set(offsets).size <= 50, true);
  const total = node.replicas.get('ours-idempotent', 0)!.highWatermark() + node.replicas.get('ours-idempotent', 1)!.highWatermark();
  assert.equal(total, 50);
  const out = await run('kcat', ['-b', kafkaBroker(node), '-C', '-t', 'ours-idempotent', '-o', 'beginning', '-e', '-f', '%s\n']);
  assert.equal(out.trim().split('\n').length, 50);
  const seen = [];
  for await (const record of await freshet.consumer('ours-idempotent', { offset: 'beginning', partition: 0 })) {
    seen.push(record.value.toString());
    if (seen.length === node.replicas.get('ours-idempotent', 0)!.highWatermark()) break;
  }
  assert.ok(seen.every((value) => value.startsWith('v')));
});

async function drain(consumer: GroupConsumer, into: GroupRecord[]): Promise<void> {
  for await (const record of consumer) into.push(record);
}

test('group consumers of our client share partitions, take over on leave, and report lag', async () => {
  await createTopic(node, 'ours-group', 4);
  const producer = await freshet.producer('ours-group');
  for (let i = 0; i < 400; i++) void producer.send(null, `r${i}`, { partition: i % 4 });
  await producer.flush();

  const first = await freshet.groupConsumer('ours-group', { group: 'ours', sessionTimeoutMs: 5000, heartbeatIntervalMs: 200 });
  const second = await freshet.groupConsumer('ours-group', { group: 'ours', sessionTimeoutMs: 5000, heartbeatIntervalMs: 200 });
  const a: GroupRecord[] = [];
  const b: GroupRecord[] = [];
  const runs = [drain(first, a), drain(second, b)];
  await eventually(() => a.length + b.length >= 400 && node.kafka!.groups.describe('ours').members.length === 2, 'all 400 records');
  const partitionsOf = (records: GroupRecord[]) => new Set(records.map((r) => r.partition));
  assert.equal(new Set([...a, ...b].map((r) => `${r.partition}:${r.offset}`)).size, 400);

  const details = await freshet.describeConsumerGroup('ours');
  assert.equal(details.members.length, 2);
  assert.deepEqual(details.members.flatMap((m) => m.assignment.flatMap((t) => t.partitions)).sort(), [0, 1, 2, 3]);

  await second.close();
  const mark = a.length;
  for (let i = 0; i < 40; i++) void producer.send(null, `late${i}`, { partition: i % 4 });
  await producer.flush();
  await eventually(() => a.length - mark >= 40, 'the late records');
  assert.deepEqual(partitionsOf(a.slice(mark)), new Set([0, 1, 2, 3]), 'the remaining member took every partition');
  await first.close();
  await Promise.all(runs);
  await eventually(async () => (await freshet.describeConsumerGroup('ours')).members.length === 0, 'the group to empty');
  const after = await freshet.describeConsumerGroup('ours');
  assert.deepEqual(after.partitions.map((p) => p.lag), [0, 0, 0, 0]);
  assert.ok((await freshet.listConsumerGroups()).some((g) => g.group === 'ours'));
});
