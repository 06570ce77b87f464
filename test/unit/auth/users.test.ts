import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LoginGuard, UserError, UserStore } from '../../../src/auth/index.js';

test('users: add, password check, groups, tokens, delete; no secret on disk or in listings', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'freshet-users-'));
  try {
    const users = await UserStore.open(dir);
    await users.add('alice', { password: 'wonderland!', groups: ['analysts'] });
    await assert.rejects(users.add('alice', { password: 'another-one' }), (e: UserError) => e.code === 'exists');
    await assert.rejects(users.add('bad name', { password: 'whatever1' }), (e: UserError) => e.code === 'invalid');
    await assert.rejects(users.add('short', { password: 'abc' }), /at least 8/);
    assert.deepEqual(users.checkPassword('alice', 'wonderland!'), { user: 'alice', groups: ['analysts'], mechanism: 'PLAIN' });
    assert.equal(users.checkPassword('alice', 'wonderland?'), undefined);
    assert.equal(users.checkPassword('nobody', 'wonderland!'), undefined);

    const { id, token } = await users.issueToken('alice');
    assert.deepEqual(users.checkToken(token), { user: 'alice', groups: ['analysts'], mechanism: 'token' });
    assert.equal(users.checkToken(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')), undefined);
    assert.equal(users.checkToken('not a token'), undefined);

    const onDisk = await readFile(path.join(dir, 'metadata', 'users.json'), 'utf8');
    assert.ok(!onDisk.includes('wonderland') && !onDisk.includes(token), 'neither the password nor the token is stored');
    assert.ok(!JSON.stringify(users.list()).includes('storedKey'));
    assert.deepEqual(users.list()[0]!.mechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-512']);

    const again = await UserStore.open(dir);
    assert.deepEqual(again.checkToken(token)?.user, 'alice');
    await again.revokeToken('alice', id);
    assert.equal(again.checkToken(token), undefined);
    await again.delete('alice');
    assert.equal(again.checkPassword('alice', 'wonderland!'), undefined);
    await assert.rejects(again.delete('alice'), (e: UserError) => e.code === 'not-found');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('login guard: lockouts grow after free failures, a success clears them, memory is bounded', () => {
  let now = 0;
  const guard = new LoginGuard({ freeFailures: 2, baseLockoutMs: 100, maxLockoutMs: 400, maxEntries: 50 }, () => now);
  guard.failure('1.2.3.4', 'alice');
  guard.failure('1.2.3.4', 'alice');
  assert.equal(guard.lockedFor('1.2.3.4', 'alice'), 0);
  guard.failure('1.2.3.4', 'alice');
  assert.equal(guard.lockedFor('1.2.3.4', 'alice'), 100);
  assert.equal(guard.lockedFor('5.6.7.8', 'alice'), 100, 'the user is locked from every address');
  assert.equal(guard.lockedFor('5.6.7.8', 'bob'), 0);
  for (let i = 0; i < 5; i++) guard.failure('1.2.3.4', 'alice');
  assert.equal(guard.lockedFor('1.2.3.4', 'alice'), 400, 'capped');
  now += 400;
  assert.equal(guard.lockedFor('1.2.3.4', 'alice'), 0);
  guard.success('1.2.3.4', 'alice');
  for (let i = 0; i < 10_000; i++) guard.failure(`10.0.${i >> 8}.${i & 255}`, `user${i}`);
  assert.ok(guard.entries <= 100, `${guard.entries} entries`);
  assert.ok(guard.refused >= 2);
});
