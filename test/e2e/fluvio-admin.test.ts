import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { connectFluvio, type FluvioClient } from '../helpers/fluvio.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let fluvio: FluvioClient;

before(async () => {
  node = await startTestNode();
  fluvio = await connectFluvio(node.endpoint);
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

test('createTopic, listTopic and findTopic tell the truth', async () => {
  const admin = await fluvio.admin();
  await admin.createTopic('orders', { partitions: 3, replicationFactor: 1, ignoreRackAssignment: false });
  const topics = JSON.parse(await admin.listTopic()) as { name: string; spec: unknown }[];
  const orders = topics.find((topic) => topic.name === 'orders');
  assert.ok(orders, `orders missing from ${JSON.stringify(topics)}`);
  assert.match(JSON.stringify(orders.spec), /"partitions":3/);
  const found = await admin.findTopic('orders');
  assert.equal(found.name, 'orders');
});

test('a duplicate topic is refused with the error Fluvio shows', async () => {
  const admin = await fluvio.admin();
  await admin.createTopic('dup-topic');
  await assert.rejects(admin.createTopic('dup-topic'), /Topic already exists/);
});

test('an invalid topic name is refused', async () => {
  const admin = await fluvio.admin();
  await assert.rejects(admin.createTopic('Bad_Name!'), /invalid|Invalid/);
  const topics = JSON.parse(await admin.listTopic()) as { name: string }[];
  assert.ok(!topics.some((topic) => topic.name === 'Bad_Name!'));
});

test('listPartitions and listSpu describe this node', async () => {
  const admin = await fluvio.admin();
  await admin.createTopic('parts', { partitions: 2, replicationFactor: 1, ignoreRackAssignment: false });
  const partitions = JSON.parse(await admin.listPartitions()) as { name: string; spec: { leader: number } }[];
  const names = partitions.map((partition) => partition.name).sort();
  assert.ok(names.includes('parts-0') && names.includes('parts-1'), JSON.stringify(names));
  const spus = JSON.parse(await admin.listSpu()) as { spec: { spuId: number } }[];
  assert.equal(spus.length, 1);
  assert.equal(partitions.find((partition) => partition.name === 'parts-0')?.spec.leader, spus[0].spec.spuId);
  assert.match(JSON.stringify(spus[0]), new RegExp(String(node.spuPort)));
});

test('deleteTopic removes the topic and its data', async () => {
  const admin = await fluvio.admin();
  await admin.createTopic('doomed');
  const producer = await fluvio.topicProducer('doomed');
  await producer.send('k', 'v');
  await producer.flush();
  const partitionDir = path.join(node.dataDir, 'partitions', 'doomed-0');
  await stat(partitionDir);
  await admin.deleteTopic('doomed');
  const topics = JSON.parse(await admin.listTopic()) as { name: string }[];
  assert.ok(!topics.some((topic) => topic.name === 'doomed'));
  await assert.rejects(stat(partitionDir), { code: 'ENOENT' });
  await assert.rejects(admin.deleteTopic('doomed'), /Topic not found/);
});
