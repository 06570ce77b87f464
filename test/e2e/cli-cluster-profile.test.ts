// `freshet cluster start --daemon|status|shutdown|delete` on a temp data dir,
// and `freshet profile ...` on a temp profile file (never the real home).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, removeDir, tempDir } from '../helpers/test-node.js';
import { freePort } from '../helpers/child-node.js';
import { lines, runCli } from '../helpers/cli.js';

let dir: string;

before(async () => {
  dir = await tempDir('freshet-cli-cluster-');
});

after(async () => {
  await removeDir(dir);
});

test('cluster start --daemon answers at once; status, shutdown (SIGTERM, lock released) and delete', async () => {
  const dataDir = path.join(dir, 'data');
  const [scPort, spuPort] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${scPort}`;
  const started = await runCli(['cluster', 'start', '--daemon', '--data-dir', dataDir, '--sc-port', String(scPort), '--spu-port', String(spuPort)]);
  assert.equal(started.code, 0, started.stderr);
  const pid = Number(/running in the background \(pid (\d+)\)/.exec(started.stderr)?.[1]);
  assert.ok(pid > 0, started.stderr);
  assert.match(started.stderr, new RegExp(`SC  \\(connect here\\): ${endpoint}`));
  assert.equal(Number(await readFile(path.join(dataDir, 'freshet.lock'), 'utf8')), pid);

  const [created, status, statusJson, second, deleteRunning] = await Promise.all([
    runCli(['-c', endpoint, 'topic', 'create', 'kept']),
    runCli(['-c', endpoint, 'cluster', 'status', '--data-dir', dataDir]),
    runCli(['cluster', 'status', '--data-dir', dataDir, '-O', 'json'], { env: { FRESHET_ENDPOINT: endpoint } }),
    runCli(['cluster', 'start', '--daemon', '--data-dir', dataDir, '--sc-port', '0', '--spu-port', '0']),
    runCli(['cluster', 'delete', '--data-dir', dataDir, '--force']),
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`✓ SC is ok at ${endpoint}`));
  assert.match(status.stdout, new RegExp(`✓ \\(1/1\\) SPUs are online: 5001 at 127\\.0\\.0\\.1:${spuPort}`));
  assert.match(status.stdout, new RegExp(`✓ a node \\(pid ${pid}\\) is running on data dir`));
  const report = JSON.parse(statusJson.stdout);
  assert.deepEqual([report.reachable, report.endpoint, report.pid, report.spus.length], [true, endpoint, pid, 1]);
  assert.equal(second.code, 1, 'a second node on the same data dir is refused');
  assert.match(second.stderr, /in use by another freshet node/);
  assert.equal(deleteRunning.code, 1);
  assert.match(deleteRunning.stderr, /a node \(pid \d+\) is running on .*\nhint: stop it first: `freshet cluster shutdown --data-dir/);

  const stopped = await runCli(['cluster', 'shutdown', '--data-dir', dataDir]);
  assert.deepEqual([stopped.code, stopped.stdout], [0, `Freshet node (pid ${pid}) stopped; data kept in ${dataDir}\n`]);
  assert.ok(!existsSync(path.join(dataDir, 'freshet.lock')));
  assert.match(await readFile(path.join(dataDir, 'freshet.log'), 'utf8'), /SIGTERM received, stopping/);

  const [again, down, unconfirmed] = await Promise.all([
    runCli(['cluster', 'shutdown', '--data-dir', dataDir]),
    runCli(['-c', endpoint, 'cluster', 'status', '--data-dir', dataDir]),
    runCli(['cluster', 'delete', '--data-dir', dataDir]),
  ]);
  assert.deepEqual([again.code, again.stdout], [0, '']);
  assert.match(again.stderr, /no Freshet node is running on data dir .*nothing to stop/);
  assert.equal(down.code, 3);
  assert.match(down.stdout, /✗ Unable to reach a node/);
  assert.equal(unconfirmed.code, 2);
  assert.match(unconfirmed.stderr, /refusing to delete .* without confirmation\nhint: pass --force/);
  assert.ok(existsSync(path.join(dataDir, 'metadata')), 'nothing deleted without confirmation');

  const deleted = await runCli(['cluster', 'delete', '--data-dir', dataDir, '--force']);
  assert.deepEqual([deleted.code, deleted.stdout], [0, `Deleted data dir ${dataDir}\n`]);
  assert.ok(!existsSync(dataDir));
});

test('cluster delete refuses a directory that is not a data dir; a missing one is nothing to do', async () => {
  const other = path.join(dir, 'not-data');
  await mkdir(other, { recursive: true });
  await writeFile(path.join(other, 'precious.txt'), 'keep me');
  const [refused, missing] = await Promise.all([
    runCli(['cluster', 'delete', '--data-dir', other, '--force']),
    runCli(['cluster', 'delete', '--data-dir', path.join(dir, 'nowhere'), '--force']),
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not look like a Freshet data dir \(it holds precious\.txt\)/);
  assert.equal(await readFile(path.join(other, 'precious.txt'), 'utf8'), 'keep me');
  assert.equal(missing.code, 0);
  assert.match(missing.stderr, /nothing to delete/);
});

test('profiles: add, list, switch, current, delete on FRESHET_PROFILE_PATH; commands connect through the profile', async () => {
  const node = await startTestNode();
  try {
    const env = { FRESHET_PROFILE_PATH: path.join(dir, 'profiles', 'config') };
    const profile = (args: string[]) => runCli(args, { env });
    const [none, noneList] = await Promise.all([profile(['profile']), profile(['profile', 'list'])]);
    assert.equal(none.code, 4);
    assert.match(none.stderr, /no profile can be found.*\nhint: add one with `freshet profile add NAME HOST:PORT`/);
    assert.deepEqual([noneList.code, noneList.stdout], [0, '']);

    assert.deepEqual((await profile(['profile', 'add', 'test', node.endpoint])).stdout, 'Switched to profile test\n');
    assert.equal((await profile(['profile', 'add', 'other', '10.255.255.1:9003'])).code, 0);
    const [listed, json, current] = await Promise.all([profile(['profile', 'list']), profile(['profile', 'list', '-O', 'json']), profile(['profile', 'current'])]);
    assert.deepEqual(lines(listed.stdout), [
      '    PROFILE  CLUSTER  ADDRESS            TLS',
      ` *  other    other    10.255.255.1:9003  Disabled`,
      `    test     test     ${node.endpoint.padEnd(17)}  Disabled`,
    ]);
    assert.deepEqual(lines(json.stdout).map((line) => JSON.parse(line)).map((p) => [p.name, p.current, p.endpoint]), [
      ['other', true, '10.255.255.1:9003'],
      ['test', false, node.endpoint],
    ]);
    assert.equal(current.stdout, 'other\n');

    const switched = await profile(['profile', 'switch', 'test']);
    assert.deepEqual([switched.code, switched.stdout, switched.stderr], [0, '', '']);
    const viaCurrent = await profile(['topic', 'create', 'through-profile']);
    const [viaFlag, unknownSwitch, bothGlobals] = await Promise.all([
      profile(['-P', 'test', 'topic', 'list', '-O', 'json']),
      profile(['profile', 'switch', 'nope']),
      profile(['-P', 'test', '-c', node.endpoint, 'topic', 'list']),
    ]);
    assert.equal(viaCurrent.code, 0, viaCurrent.stderr);
    assert.equal(JSON.parse(viaFlag.stdout).name, 'through-profile');
    assert.equal(unknownSwitch.code, 4);
    assert.match(unknownSwitch.stderr, /profile "nope" not found .*\nhint: profiles: other, test/);
    assert.equal(bothGlobals.code, 2);

    const removed = await profile(['profile', 'delete', 'test']);
    assert.equal(removed.stdout, 'profile test deleted\n');
    assert.match(removed.stderr, /that was the current profile/);
    const toml = await readFile(env.FRESHET_PROFILE_PATH, 'utf8');
    assert.match(toml, /\[cluster\.other\]\nendpoint = "10\.255\.255\.1:9003"/);
    assert.doesNotMatch(toml, /test/);
    const [noCurrent, unknownProfile] = await Promise.all([profile(['profile', 'current']), profile(['-P', 'gone', 'topic', 'list'])]);
    assert.equal(noCurrent.code, 4);
    assert.match(noCurrent.stderr, /no current profile set/);
    assert.equal(unknownProfile.code, 4);
    assert.match(unknownProfile.stderr, /profile "gone" not found/);
  } finally {
    await node.stop();
    await removeDir(node.dataDir);
  }
});
