import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Consumer } from 'kafkajs';
import { createTopic, removeDir, tempDir } from '../helpers/test-node.js';
import { eventually, kafkaBroker, kafkajs, startKafkaTestNode } from '../helpers/kafka.js';
import { repoRoot } from '../helpers/child-node.js';
import { decodeAssignment } from '../../src/protocol/kafka/consumer-protocol.js';

const TOPIC = 'group-work';
const GROUP = 'workers';
const PARTITIONS = 6;
const RECORDS = 100_000;

interface Processing {
  member: string;
  partition: number;
  offset: number;
}

function startMember(broker: string, processed: Processing[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/helpers/kafka-group-member.ts'), broker, TOPIC, GROUP], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const state = { memberId: '', count: 0, exited: new Promise((resolve) => child.on('exit', resolve)) };
  let buffered = '';
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('join ')) {
        state.memberId = line.slice(5);
        continue;
      }
      const [partition, offset] = line.split(' ').map(Number);
      processed.push({ member: state.memberId, partition, offset });
      state.count++;
    }
  });
  return { child, state };
}

async function startInProcessMember(broker: string, processed: Processing[]): Promise<{ consumer: Consumer; member: () => string }> {
  const consumer = kafkajs(broker).consumer({ groupId: GROUP, sessionTimeout: 3000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
  let memberId = '';
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    memberId = event.payload.memberId;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      processed.push({ member: memberId, partition, offset: Number(message.offset) });
    },
  });
  return { consumer, member: () => memberId };
}

test('three kafkajs members share six partitions; one is killed, the others take over; offsets survive a restart', async () => {
  const dataDir = await tempDir();
  let node = await startKafkaTestNode({ dataDir });
  const broker = kafkaBroker(node);
  const stableGenerations: { generation: number; owners: Map<number, string> }[] = [];
  node.kafka!.groups.on('stable', (_group, generation, assignments) => {
    const owners = new Map<number, string>();
    for (const [member, assignment] of assignments) {
      for (const partition of decodeAssignment(assignment).flatMap((entry) => entry.partitions)) {
        assert.ok(!owners.has(partition), `generation ${generation}: partition ${partition} assigned twice`);
        owners.set(partition, member);
      }
    }
    stableGenerations.push({ generation, owners });
  });
  try {
    await createTopic(node, TOPIC, PARTITIONS);
    const producer = kafkajs(broker).producer();
    await producer.connect();
    for (let start = 0; start < RECORDS; start += 10_000) {
      const messages = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${(start + i) % 97}`, value: `r${start + i}` }));
      await producer.send({ topic: TOPIC, messages });
    }

    const processed: Processing[] = [];
    const doomed = startMember(broker, processed);
    await eventually(() => doomed.state.count > 0, 'the first member to process records');
    const survivors = [await startInProcessMember(broker, processed), await startInProcessMember(broker, processed)];
    await eventually(() => {
      const group = node.kafka!.groups.describe(GROUP);
      return group.state === 'Stable' && group.members.length === 3;
    }, 'a stable group of three');
    const countAtKill = doomed.state.count;
    await eventually(() => doomed.state.count > countAtKill, 'the doomed member to work in the group of three');
    doomed.child.kill('SIGKILL');
    await doomed.state.exited;
    const killedMember = doomed.state.memberId;

    const unique = () => new Set(processed.map((p) => `${p.partition}:${p.offset}`)).size;
    await eventually(() => unique() === RECORDS, `every record processed (${RECORDS})`, 60_000);
    const last = stableGenerations[stableGenerations.length - 1];
    assert.equal(new Set(last.owners.values()).size, 2, 'the last generation has the two survivors');
    assert.ok(![...last.owners.values()].includes(killedMember));

    // A record may be processed twice only when the killed member had it
    // (its last records were never committed); the survivors never overlap.
    const firstBy = new Map<string, string>();
    for (const p of processed) {
      const key = `${p.partition}:${p.offset}`;
      const earlier = firstBy.get(key);
      if (earlier === undefined) firstBy.set(key, p.member);
      else assert.equal(earlier, killedMember, `record ${key} processed by ${earlier} and again by ${p.member}`);
    }

    for (const survivor of survivors) await survivor.consumer.disconnect();
    const admin = kafkajs(broker).admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    await admin.disconnect();
    const total = committed[0].partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    assert.equal(total, RECORDS, 'the committed offsets are the end of each partition');
    await producer.disconnect();

    // Restart: the group resumes where it committed, seeing only new records.
    await node.stop();
    node = await startKafkaTestNode({ dataDir });
    const restartedBroker = kafkaBroker(node);
    const lateProducer = kafkajs(restartedBroker).producer();
    await lateProducer.connect();
    await lateProducer.send({ topic: TOPIC, messages: Array.from({ length: 60 }, (_, i) => ({ key: `late${i}`, value: `late${i}` })) });
    await lateProducer.disconnect();
    const after: Processing[] = [];
    const resumed = await startInProcessMember(restartedBroker, after);
    await eventually(() => after.length >= 60, 'the records produced after the restart');
    await resumed.consumer.disconnect();
    assert.equal(after.length, 60, 'nothing committed before the restart is read again');
  } finally {
    await node.stop();
    await removeDir(dataDir);
  }
});
