import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, removeDir, tempDir } from '../helpers/test-node.js';
import { startChildNode, type ChildNode } from '../helpers/child-node.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';

const children: ChildNode[] = [];
const dirs: string[] = [];

after(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  for (const dir of dirs) await removeDir(dir);
});

const beginning = () => new Offset({ index: 0, from: 'beginning' });

test('a graceful restart keeps topics and records, and offsets continue', async () => {
  const first = await startTestNode();
  dirs.push(first.dataDir);
  const fluvio = await connectFluvio(first.endpoint);
  await (await fluvio.admin()).createTopic('kept', { partitions: 2, replicationFactor: 1, ignoreRackAssignment: false });
  const producer = await fluvio.topicProducer('kept');
  await producer.sendAll(Array.from({ length: 1000 }, (_, i): [string, string] => [`k${i}`, `v${i}`]));
  await producer.flush();
  const before = [0, 1].map((p) => first.replicas.get('kept', p)!.highWatermark());
  assert.equal(before[0] + before[1], 1000);
  await first.stop();

  const second = await startTestNode({ dataDir: first.dataDir });
  try {
    const again = await connectFluvio(second.endpoint);
    const topics = JSON.parse(await (await again.admin()).listTopic()) as { name: string }[];
    assert.deepEqual(topics.map((topic) => topic.name), ['kept']);
    assert.deepEqual([0, 1].map((p) => second.replicas.get('kept', p)!.highWatermark()), before);
    const records = await take(await (await again.partitionConsumer('kept', 0)).createStream(beginning()), before[0]);
    assert.equal(records.length, before[0]);
    const producer2 = await again.topicProducer('kept');
    await producer2.sendRecord('one more', 0);
    await producer2.flush();
    const total = [0, 1].map((p) => second.replicas.get('kept', p)!.highWatermark());
    assert.equal(total[0] + total[1], 1001);
  } finally {
    await second.stop();
  }
});

test('SIGKILL in the middle of a heavy produce loses no acknowledged record and duplicates none', async () => {
  const dataDir = await tempDir();
  dirs.push(dataDir);
  const victim = await startChildNode(dataDir);
  children.push(victim);
  const fluvio = await connectFluvio(victim.endpoint);
  await (await fluvio.admin()).createTopic('heavy', { partitions: 2, replicationFactor: 1, ignoreRackAssignment: false });
  const producer = await fluvio.topicProducer('heavy');
  const acknowledged: string[] = [];
  let chunk = 0;
  const deadline = Date.now() + 20_000;
  // Produce in flushed chunks; a chunk counts as acknowledged once its flush resolved.
  while (acknowledged.length < 30_000 && Date.now() < deadline) {
    const values = Array.from({ length: 1000 }, (_, i) => `c${chunk}-${i}`);
    await producer.sendAll(values.map((value): [string, string] => [value, value]));
    await producer.flush();
    acknowledged.push(...values);
    chunk++;
  }
  // One more chunk in flight while the node dies.
  const inFlight = Array.from({ length: 1000 }, (_, i) => `c${chunk}-${i}`);
  void producer.sendAll(inFlight.map((value): [string, string] => [value, value])).then(() => producer.flush()).catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 5));
  victim.process.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');

  const survivor = await startChildNode(dataDir);
  children.push(survivor);
  const client = await connectFluvio(survivor.endpoint);
  const admin = await client.admin();
  const endOffsets = async () =>
    (JSON.parse(await admin.listPartitions()) as { name: string; status: { leader: { leo: number } } }[])
      .filter((partition) => partition.name.startsWith('heavy-'))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((partition) => partition.status.leader.leo);
  const stored = await endOffsets();
  const seen = new Map<string, number>();
  for (const partition of [0, 1]) {
    const consumer = await client.partitionConsumer('heavy', partition);
    const records = await take(await consumer.createStream(beginning()), stored[partition], 60_000);
    assert.equal(records.length, stored[partition], 'every stored offset is readable');
    for (const record of records) seen.set(record.valueString(), (seen.get(record.valueString()) ?? 0) + 1);
  }
  const lost = acknowledged.filter((value) => !seen.has(value));
  assert.deepEqual(lost.slice(0, 5), [], `${lost.length} acknowledged records lost`);
  const duplicated = [...seen].filter(([, count]) => count > 1);
  assert.deepEqual(duplicated.slice(0, 5), [], 'no record stored twice');
  assert.equal(seen.size, stored[0] + stored[1]);

  // Offsets continue where the recovered log ends.
  const producer2 = await client.topicProducer('heavy');
  await producer2.sendRecord('after restart', 0);
  await producer2.flush();
  const after = await endOffsets();
  assert.equal(after[0] + after[1], stored[0] + stored[1] + 1);
  survivor.process.kill('SIGTERM');
  assert.equal(await survivor.exited, 0);
});

test('a torn last batch is found by its CRC and cut off', async () => {
  const first = await startTestNode();
  dirs.push(first.dataDir);
  const fluvio = await connectFluvio(first.endpoint);
  await (await fluvio.admin()).createTopic('torn');
  const producer = await fluvio.topicProducer('torn');
  for (let i = 0; i < 3; i++) {
    await producer.send(`k${i}`, `v${i}`);
    await producer.flush();
  }
  await first.stop();
  const partitionDir = path.join(first.dataDir, 'partitions', 'torn-0');
  const segment = path.join(partitionDir, (await readdir(partitionDir)).filter((name) => name.endsWith('.log')).sort().at(-1)!);
  const bytes = await readFile(segment);
  // Half of a copy of the first batch: what a crash in the middle of a write leaves.
  const firstBatchLength = 12 + bytes.readInt32BE(8);
  await appendFile(segment, bytes.subarray(0, Math.floor(firstBatchLength / 2)));

  const second = await startTestNode({ dataDir: first.dataDir });
  try {
    assert.equal(second.replicas.get('torn', 0)!.highWatermark(), 3);
    const client = await connectFluvio(second.endpoint);
    const producer2 = await client.topicProducer('torn');
    await producer2.send('k3', 'v3');
    await producer2.flush();
    const records = await take(await (await client.partitionConsumer('torn', 0)).createStream(beginning()), 4);
    assert.deepEqual(records.map((record) => record.valueString()), ['v0', 'v1', 'v2', 'v3']);
    assert.equal(second.replicas.get('torn', 0)!.highWatermark(), 4);
  } finally {
    await second.stop();
  }
});
