import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ANONYMOUS, AuthorizationError, Authorizer, decide, parseAclRules, type Principal } from '../../../src/auth/index.js';

const alice: Principal = { user: 'alice', groups: ['analysts'], mechanism: 'x509' };
const bob: Principal = { user: 'bob', groups: [], mechanism: 'SCRAM-SHA-256' };

const rules = parseAclRules(
  {
    rules: [
      { principal: 'User:alice', resource: 'topic', name: 'orders', pattern: 'prefix', operations: ['read', 'write'] },
      { principal: 'User:alice', resource: 'topic', name: 'orders-secret', operations: ['all'], effect: 'deny' },
      { principal: 'Group:analysts', resource: 'group', name: '*', operations: ['read'] },
      { principal: 'User:*', resource: 'topic', name: 'public', operations: ['read'] },
    ],
  },
  'policy.yaml',
);

test('prefix and literal names, deny over allow, groups, every authenticated user', () => {
  assert.equal(decide(rules, alice, 'write', 'topic', 'orders-eu').allowed, true);
  assert.equal(decide(rules, alice, 'read', 'topic', 'orders').allowed, true);
  assert.deepEqual(decide(rules, alice, 'read', 'topic', 'orders-secret'), { allowed: false, reason: 'denied by rule', rule: rules[1] });
  assert.equal(decide(rules, alice, 'delete', 'topic', 'orders-eu').allowed, false);
  assert.equal(decide(rules, alice, 'read', 'group', 'any-group').allowed, true);
  assert.equal(decide(rules, bob, 'read', 'group', 'g').allowed, false);
  assert.equal(decide(rules, bob, 'read', 'topic', 'public').allowed, true);
  assert.equal(decide(rules, ANONYMOUS, 'read', 'topic', 'public').allowed, false, 'User:* means authenticated users');
  assert.deepEqual(decide(rules, bob, 'write', 'topic', 'public'), { allowed: false, reason: 'no rule allows it' });
});

test('read, write, delete and alter imply describe; create does not', () => {
  assert.equal(decide(rules, alice, 'describe', 'topic', 'orders-eu').allowed, true);
  assert.equal(decide(rules, bob, 'describe', 'topic', 'public').allowed, true);
  const creator = parseAclRules([{ principal: 'User:bob', resource: 'topic', name: '*', operations: ['create'] }], 'x');
  assert.equal(decide(creator, bob, 'describe', 'topic', 't').allowed, false);
  assert.equal(decide(rules, alice, 'describe', 'topic', 'orders-secret').allowed, false, 'a deny of all covers describe');
});

test('bad policy documents name the rule and the key', () => {
  assert.throws(() => parseAclRules({ rules: [{ principal: 'alice', resource: 'topic', name: 'x', operations: ['read'] }] }, 'p.yaml'), /p\.yaml: rule 1 \(principal\): expected User/);
  assert.throws(() => parseAclRules([{ principal: 'User:a', resource: 'table', name: 'x', operations: ['read'] }], 'p.yaml'), /rule 1 \(resource\)/);
  assert.throws(() => parseAclRules([{ principal: 'User:a', resource: 'topic', name: 'x', operations: ['fly'] }], 'p.yaml'), /rule 1 \(operations\.0\)/);
  assert.throws(() => parseAclRules({}, 'p.yaml'), /expected a list of ACL rules/);
  assert.throws(() => parseAclRules([{ principal: 'User:a', resource: 'topic', name: 'x', operations: ['read'], extra: 1 }], 'p.yaml'), /rule 1/);
});

test('the authorizer: off allows all, super users pass, denials are counted, managed rules persist', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'freshet-acl-'));
  try {
    const log = pino({ level: 'silent' });
    const off = await Authorizer.open(dir, { enabled: false, superUsers: [], policyRules: [] }, log);
    assert.equal(off.allows(ANONYMOUS, 'delete', 'cluster', 'freshet'), true);

    const on = await Authorizer.open(dir, { enabled: true, superUsers: ['root'], policyRules: rules }, log);
    assert.equal(on.allows({ user: 'root', groups: [], mechanism: 'x509' }, 'delete', 'topic', 'orders'), true);
    assert.throws(() => on.check(bob, 'write', 'topic', 'orders'), (e: AuthorizationError) => e.resourceName === 'orders' && /bob may not write topic "orders"/.test(e.message));
    assert.equal(on.denials.get('topic:write'), 1);

    const grant = parseAclRules([{ principal: 'User:bob', resource: 'topic', name: 'orders', operations: ['write'] }], 'cli')[0]!;
    await on.add(grant);
    await assert.rejects(on.add(grant), /exists already/);
    assert.equal(on.allows(bob, 'write', 'topic', 'orders'), true);
    const reopened = await Authorizer.open(dir, { enabled: true, superUsers: [], policyRules: [] }, log);
    assert.equal(reopened.allows(bob, 'write', 'topic', 'orders'), true);
    assert.match(await readFile(path.join(dir, 'metadata', 'acls.json'), 'utf8'), /"User:bob"/);
    await reopened.remove(grant);
    assert.equal(reopened.allows(bob, 'write', 'topic', 'orders'), false);
    await assert.rejects(reopened.remove(grant), /no rule/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
