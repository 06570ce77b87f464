import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { GroupCoordinator, DEFAULT_GROUP_LIMITS } from '../../../src/server/kafka/group-coordinator.js';
import { FileGroupOffsetStore } from '../../../src/server/kafka/group-offsets.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { removeDir, tempDir } from '../../helpers/test-node.js';

const SESSION_MS = 300;

async function coordinator(dataDir: string): Promise<GroupCoordinator> {
  return new GroupCoordinator(await FileGroupOffsetStore.open(dataDir), { ...DEFAULT_GROUP_LIMITS, minSessionTimeoutMs: 100, initialRebalanceDelayMs: 0 }, pino({ level: 'silent' }));
}

function join(groups: GroupCoordinator, memberId: string, protocols = ['range']) {
  return groups.join({
    groupId: 'g',
    memberId,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: 2000,
    protocolType: 'consumer',
    protocols: protocols.map((name) => ({ name, metadata: Buffer.from(name) })),
    requireKnownMemberId: true,
  });
}

async function joinNew(groups: GroupCoordinator) {
  const first = await join(groups, '');
  assert.equal(first.errorCode, KafkaError.MemberIdRequired);
  return first.memberId;
}

test('join (member id required first), sync, heartbeat; a second member triggers a rebalance; stale generations are refused', async () => {
  const dir = await tempDir();
  const groups = await coordinator(dir);
  try {
    const a = await joinNew(groups);
    const joined = await join(groups, a);
    assert.equal(joined.errorCode, KafkaError.None);
    assert.equal(joined.leader, a);
    assert.equal(joined.members.length, 1);
    const sync = await groups.sync('g', joined.generationId, a, [{ memberId: a, assignment: Buffer.from('all') }]);
    assert.deepEqual(sync, { errorCode: KafkaError.None, assignment: Buffer.from('all') });
    assert.equal(groups.heartbeat('g', joined.generationId, a), KafkaError.None);
    assert.equal(groups.describe('g').state, 'Stable');

    const b = await joinNew(groups);
    const bJoin = join(groups, b);
    assert.equal(groups.heartbeat('g', joined.generationId, a), KafkaError.RebalanceInProgress);
    assert.equal(groups.checkCommit('g', joined.generationId, a), KafkaError.None, 'the old generation may commit before rejoining');
    const [aAgain, bJoined] = await Promise.all([join(groups, a), bJoin]);
    assert.equal(aAgain.generationId, joined.generationId + 1);
    assert.equal(bJoined.generationId, aAgain.generationId);
    assert.equal(aAgain.members.length, 2, 'the leader sees both members');
    assert.equal(bJoined.members.length, 0);
    assert.equal(groups.heartbeat('g', joined.generationId, a), KafkaError.IllegalGeneration);
    assert.equal(groups.checkCommit('g', aAgain.generationId, b), KafkaError.RebalanceInProgress, 'no commit while the assignment is handed out');
    const bSync = groups.sync('g', bJoined.generationId, b, []);
    await groups.sync('g', aAgain.generationId, a, [
      { memberId: a, assignment: Buffer.from('a') },
      { memberId: b, assignment: Buffer.from('b') },
    ]);
    assert.deepEqual((await bSync).assignment, Buffer.from('b'));
    assert.equal(groups.heartbeat('g', bJoined.generationId, 'nobody'), KafkaError.UnknownMemberId);
  } finally {
    groups.close();
    await removeDir(dir);
  }
});

test('a member that stops heartbeating is removed after its session timeout and the group rebalances', async () => {
  const dir = await tempDir();
  const groups = await coordinator(dir);
  try {
    const a = await joinNew(groups);
    const b = await joinNew(groups);
    const [aJoined, bJoined] = await Promise.all([join(groups, a), join(groups, b)]);
    await Promise.all([groups.sync('g', aJoined.generationId, a, []), groups.sync('g', bJoined.generationId, b, [])]);
    // Only a heartbeats; b's session expires.
    const beats = setInterval(() => groups.heartbeat('g', groups.describe('g').generationId, a), 50);
    try {
      while (groups.describe('g').state !== 'PreparingRebalance') await new Promise((resolve) => setTimeout(resolve, 20));
      const rejoined = await join(groups, a);
      assert.equal(rejoined.errorCode, KafkaError.None);
      assert.deepEqual(rejoined.members.map((m) => m.memberId), [a]);
      assert.deepEqual(groups.describe('g').members.map((m) => m.memberId), [a]);
    } finally {
      clearInterval(beats);
    }
  } finally {
    groups.close();
    await removeDir(dir);
  }
});

test('committed offsets are durable, a commit outside any generation needs an empty group, and protocols must overlap', async () => {
  const dir = await tempDir();
  let groups = await coordinator(dir);
  try {
    assert.equal(groups.checkCommit('g', -1, ''), KafkaError.None);
    await groups.offsets.commit('g', [{ topic: 't', partition: 0, committed: { offset: 42, leaderEpoch: -1, metadata: null } }]);
    groups.close();
    groups = await coordinator(dir);
    assert.equal(groups.offsets.get('g', 't', 0)?.offset, 42);
    assert.deepEqual(groups.list(), [{ groupId: 'g', protocolType: 'consumer', state: 'Empty' }]);

    const a = await joinNew(groups);
    await join(groups, a, ['range']);
    assert.equal(groups.checkCommit('g', -1, ''), KafkaError.UnknownMemberId);
    const other = await joinNew(groups);
    assert.equal((await join(groups, other, ['sticky'])).errorCode, KafkaError.InconsistentGroupProtocol);
  } finally {
    groups.close();
    await removeDir(dir);
  }
});
