// `freshet consume --group` and `freshet consumer-group list|describe` as
// subprocesses against a test node's Kafka listener.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTopic, stopTestNode } from '../helpers/test-node.js';
import { runCli } from '../helpers/cli.js';
import { kafkaBroker, kafkajs, startKafkaTestNode } from '../helpers/kafka.js';

let node: Awaited<ReturnType<typeof startKafkaTestNode>>;
const cli = (args: string[]) => runCli(['-c', node.endpoint, ...args]);

before(async () => {
  node = await startKafkaTestNode();
});

after(async () => {
  await stopTestNode(node);
});

test('consume --group reads once per group; consumer-group list and describe show state, members and lag', async () => {
  await createTopic(node, 'cli-group', 2);
  const producer = kafkajs(kafkaBroker(node)).producer();
  await producer.connect();
  await producer.send({ topic: 'cli-group', messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })) });

  const first = await cli(['consume', 'cli-group', '--group', 'cli', '-B', '-d', '--kafka', kafkaBroker(node)]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.stdout.trim().split('\n').sort(), Array.from({ length: 10 }, (_, i) => `v${i}`).sort());
  // The group committed: a second run sees only what came since.
  await producer.send({ topic: 'cli-group', messages: [{ value: 'new', partition: 0 }] });
  const second = await cli(['consume', 'cli-group', '--group', 'cli', '-B', '-d', '--kafka', kafkaBroker(node)]);
  assert.equal(second.stdout.trim(), 'new');
  await producer.send({ topic: 'cli-group', messages: [{ value: 'unread', partition: 1 }] });
  await producer.disconnect();

  const list = await cli(['consumer-group', 'list', '--kafka', kafkaBroker(node)]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /cli\s+Empty\s+consumer/);
  const describe = await cli(['consumer-group', 'describe', 'cli', '-O', 'json', '--kafka', kafkaBroker(node)]);
  assert.equal(describe.code, 0, describe.stderr);
  const details = JSON.parse(describe.stdout);
  assert.equal(details.state, 'Empty');
  assert.deepEqual(
    details.partitions.map((p: { partition: number; committed: number; lag: number }) => [p.partition, p.committed, p.lag]),
    [
      [0, 6, 0],
      [1, 5, 1],
    ],
  );
  const table = await cli(['consumer-group', 'describe', 'cli', '--kafka', kafkaBroker(node)]);
  assert.match(table.stdout, /group cli: Empty/);
  const missing = await cli(['consumer-group', 'describe', 'nobody', '--kafka', kafkaBroker(node)]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /not found/);
  const clash = await cli(['consume', 'cli-group', '--group', 'cli', '-p', '0', '--kafka', kafkaBroker(node)]);
  assert.notEqual(clash.code, 0);
  assert.match(clash.stderr, /--group cannot be used with --partition/);
});
