// `freshet user` and `freshet acl` as an administrator uses them: the first
// administrator made on a stopped node's data dir (refused while a node holds
// it), then everything through the running node's HTTP API with a token,
// found from the cluster endpoint alone (-c). ACL changes take effect at
// once; list output never shows a secret; wrong and revoked tokens are
// refused with a clear error.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cliEnv, runCli } from '../helpers/cli.js';
import { freshetBin, repoRoot } from '../helpers/child-node.js';
import { removeDir, startTestNode, stopTestNode, tempDir } from '../helpers/test-node.js';

let dataDir: string;
let node: Awaited<ReturnType<typeof startTestNode>> | undefined;
let adminToken: string;

const PASSWORD = 'correct horse battery staple';

before(async () => {
  dataDir = await tempDir('freshet-security-cli-');
});

after(async () => {
  if (node) await stopTestNode(node);
  await removeDir(dataDir);
});

/** `freshet -c <node> ARGS` with a token. */
function asUser(token: string | undefined, args: string[], input?: string) {
  return runCli(['-c', node!.endpoint, ...args], { env: token ? { FRESHET_TOKEN: token } : {}, ...(input !== undefined ? { input } : {}) });
}

test('the first administrator is made on the stopped node\'s data dir', async () => {
  const added = await runCli(['user', 'add', 'admin', '--data-dir', dataDir, '--no-password']);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /user "admin" added \(in data dir .*\); no password/);
  const issued = await runCli(['user', 'token', 'admin', '--data-dir', dataDir]);
  assert.equal(issued.code, 0, issued.stderr);
  adminToken = issued.stdout.trim();
  assert.match(adminToken, /^fst_[0-9a-f]{12}_\S+$/);
  assert.match(issued.stderr, /shown only now/);
  const stored = await readFile(path.join(dataDir, 'metadata', 'users.json'), 'utf8');
  assert.ok(!stored.includes(adminToken), 'only a hash of the token is stored');
  const rule = await runCli(['acl', 'add', '--data-dir', dataDir, '--principal', 'Group:ops', '--resource', 'connector', '--name', 'ops-', '--prefix', '--operation', 'all']);
  assert.equal(rule.code, 0, rule.stderr);

  node = await startTestNode({ dataDir, auth: { enabled: true, superUsers: ['admin'] } });
  const refused = await runCli(['user', 'add', 'eve', '--data-dir', dataDir, '--no-password']);
  assert.equal(refused.code, 5);
  assert.match(refused.stderr, /in use by another freshet node/);
  assert.match(refused.stderr, /go through it/);
  assert.equal(node.users.get('eve'), undefined);
});

test('on a terminal the password is asked twice, without echo (a pty from util-linux script)', async () => {
  const scratch = await tempDir('freshet-security-tty-');
  try {
    const command = `${process.execPath} ${freshetBin} user add tty-user --data-dir ${scratch}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: repoRoot, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = 0;
    child.stdout.setEncoding('utf8').on('data', (data: string) => {
      screen += data;
      // Answer each prompt once it is on the screen.
      const prompts = (screen.match(/Password for tty-user: |Again: /g) ?? []).length;
      for (; answered < prompts; answered++) child.stdin.write(`${PASSWORD}\r`);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, screen);
    assert.equal(answered, 2);
    assert.match(screen, /user "tty-user" added/);
    assert.ok(!screen.includes(PASSWORD), 'the password is not echoed');
    const stored = await readFile(path.join(scratch, 'metadata', 'users.json'), 'utf8');
    assert.ok(!stored.includes(PASSWORD));
    assert.match(stored, /SCRAM-SHA-512/);
  } finally {
    await removeDir(scratch);
  }
});

test('users through the running node, found from -c; no secret in list output', async () => {
  const added = await asUser(adminToken, ['user', 'add', 'alice', '--password-stdin', '--group', 'ops'], `${PASSWORD}\n`);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /user "alice" added \(on the node at http:\/\/127\.0\.0\.1:\d+\)/);
  assert.ok(node!.users.checkPassword('alice', PASSWORD), 'the node knows the password at once');

  const listed = await asUser(adminToken, ['user', 'list', '-O', 'json']);
  assert.equal(listed.code, 0, listed.stderr);
  const users = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string; groups: string[]; mechanisms: string[] });
  assert.deepEqual(users.map((u) => u.name), ['admin', 'alice']);
  assert.deepEqual(users[1]!.groups, ['ops']);
  assert.deepEqual(users[1]!.mechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-512']);
  for (const secret of [PASSWORD, adminToken, 'storedKey', 'serverKey', 'sha256', 'salt']) assert.ok(!listed.stdout.includes(secret), `list shows no ${secret}`);

  const table = await asUser(adminToken, ['user', 'list']);
  assert.match(table.stdout, /alice\s+ops\s+SCRAM-SHA-256,SCRAM-SHA-512/);
});

test('ACL changes take effect at once; refusals name the resource', async () => {
  const issued = await asUser(adminToken, ['user', 'token', 'alice']);
  assert.equal(issued.code, 0, issued.stderr);
  const aliceToken = issued.stdout.trim();

  // Alice is in Group:ops: the prefix rule from the data dir lets her at ops-* connectors only.
  const listUsers = await asUser(aliceToken, ['user', 'list']);
  assert.equal(listUsers.code, 5);
  assert.match(listUsers.stderr, /alice may not describe cluster "freshet"/);

  const dataflow = await fetch(`${node!.consoleUrl}/dataflows/prices`, { headers: { authorization: `Bearer ${aliceToken}` } });
  assert.equal(dataflow.status, 403);
  assert.deepEqual(((await dataflow.json()) as { resource: unknown }).resource, { type: 'dataflow', name: 'prices' });

  const rule = ['--principal', 'User:alice', '--resource', 'dataflow', '--name', 'prices', '--operation', 'describe'];
  assert.equal((await asUser(adminToken, ['acl', 'add', ...rule])).code, 0);
  const allowed = await fetch(`${node!.consoleUrl}/dataflows/prices`, { headers: { authorization: `Bearer ${aliceToken}` } });
  assert.equal(allowed.status, 404, 'past the check: there is no such dataflow');

  const rules = await asUser(adminToken, ['acl', 'list']);
  assert.equal(rules.code, 0, rules.stderr);
  assert.match(rules.stdout, /Group:ops\s+connector\s+ops-\*\s+all\s+allow\s+managed/);
  assert.match(rules.stdout, /User:alice\s+dataflow\s+prices\s+describe\s+allow\s+managed/);
  const duplicate = await asUser(adminToken, ['acl', 'add', ...rule]);
  assert.equal(duplicate.code, 5);
  assert.match(duplicate.stderr, /exists already/);

  assert.equal((await asUser(adminToken, ['acl', 'remove', ...rule])).code, 0);
  const again = await fetch(`${node!.consoleUrl}/dataflows/prices`, { headers: { authorization: `Bearer ${aliceToken}` } });
  assert.equal(again.status, 403, 'removed at once too');
  const missing = await asUser(adminToken, ['acl', 'remove', ...rule]);
  assert.equal(missing.code, 4);

  const bad = await asUser(adminToken, ['acl', 'add', '--principal', 'alice', '--resource', 'topic', '--name', 't', '--operation', 'read']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expected User:<name>, Group:<name> or User:\*/);

  // A user revokes its own token.
  const id = aliceToken.split('_')[1]!;
  const revoked = await asUser(aliceToken, ['user', 'token', 'revoke', 'alice', id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  const gone = await asUser(aliceToken, ['connector', 'list']);
  assert.equal(gone.code, 5);
  assert.match(gone.stderr, /invalid or revoked token/);
});

test('without a token, or with a wrong one: refused, saying how to authenticate', async () => {
  const none = await asUser(undefined, ['user', 'list']);
  assert.equal(none.code, 5);
  assert.match(none.stderr, /authentication required/);
  assert.match(none.stderr, /--token or FRESHET_TOKEN/);
  const wrong = await asUser('fst_000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', ['acl', 'list']);
  assert.equal(wrong.code, 5);
  assert.match(wrong.stderr, /invalid or revoked token/);
  // Deleting a user ends its access.
  assert.equal((await asUser(adminToken, ['user', 'delete', 'alice'])).code, 0);
  assert.equal(node!.users.get('alice'), undefined);
});
