// `freshet topic|partition|version`, help, usage errors and the error paths
// (no node, unknown topic), driving bin/freshet.js as a subprocess.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestNode, removeDir, tempDir } from '../helpers/test-node.js';
import { freePort } from '../helpers/child-node.js';
import { hasAnsi, lines, runCli } from '../helpers/cli.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let profileDir: string;
/** The CLI against the test node: -c before the command, a profile file that does not exist. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(['-c', node.endpoint, ...args], { env: { FRESHET_PROFILE_PATH: `${profileDir}/config`, ...env } });

before(async () => {
  node = await startTestNode();
  profileDir = await tempDir('freshet-cli-profile-');
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
  await removeDir(profileDir);
});

test('topic create (every flag), describe, list as table and JSON lines, delete', async () => {
  const created = await cli([
    'topic', 'create', 'orders', '-p', '3', '-r', '1', '--retention-time', '2d 1h', '--segment-size', '64 KiB',
    '--max-partition-size', '10 MiB', '--compression-type', 'GZIP',
  ]);
  assert.deepEqual([created.code, created.stdout, created.stderr], [0, 'topic "orders" created\n', '']);
  const [dry, second] = await Promise.all([cli(['topic', 'create', 'dry', '--dry-run']), cli(['topic', 'create', 'plain'])]);
  assert.equal(dry.code, 0);
  assert.equal(second.code, 0);

  const [described, describedJson, listed, listedJson] = await Promise.all([
    cli(['topic', 'describe', 'orders']),
    cli(['topic', 'describe', 'orders', '-O', 'json']),
    cli(['topic', 'list']),
    cli(['topic', 'list', '-O', 'json']),
  ]);
  assert.equal(described.code, 0);
  assert.match(described.stdout, /^ Name +: orders$/m);
  assert.match(described.stdout, /^ Partition Count +: 3$/m);
  assert.match(described.stdout, /^ Retention Time +: 2days 1h$/m);
  assert.match(described.stdout, /^ Segment Size +: 64\.0 KiB$/m);
  assert.match(described.stdout, /^ Max Partition Size +: 10\.0 MiB$/m);
  assert.match(described.stdout, /^ Compression +: gzip$/m);
  const info = JSON.parse(describedJson.stdout);
  assert.deepEqual(
    [info.name, info.partitions, info.retentionSeconds, info.segmentSize, info.maxPartitionSize, info.compression],
    ['orders', 3, 2 * 86_400 + 3600, 65_536, 10 * 1024 * 1024, 'gzip'],
  );
  assert.equal(lines(describedJson.stdout).length, 1);

  const table = lines(listed.stdout);
  assert.match(table[0], /^ NAME +TYPE +PARTITIONS +REPLICAS +RETENTION TIME +COMPRESSION +DEDUPLICATION +STATUS +REASON$/);
  assert.deepEqual(
    table.slice(1).map((line) => line.trim().split(/ +/)),
    [
      ['orders', 'computed', '3', '1', '2days', '1h', 'gzip', 'none', 'resolution::provisioned'],
      ['plain', 'computed', '1', '1', '7days', 'any', 'none', 'resolution::provisioned'],
    ],
  );
  const statusColumn = table[0].indexOf('STATUS');
  assert.ok(table.slice(1).every((line) => line.indexOf('resolution::') === statusColumn), 'columns are aligned');
  assert.deepEqual(lines(listedJson.stdout).map((line) => JSON.parse(line).name), ['orders', 'plain']);
  assert.ok(!hasAnsi(listed.stdout + listed.stderr), 'no colour when stdout is not a terminal');

  const deleted = await cli(['topic', 'delete', 'plain', 'orders']);
  assert.deepEqual([deleted.code, deleted.stdout], [0, 'topic "plain" deleted\ntopic "orders" deleted\n']);
  const empty = await cli(['topic', 'list']);
  assert.deepEqual([empty.code, empty.stdout, empty.stderr], [0, '', 'No topics found\n']);
  const emptyJson = await cli(['topic', 'list', '-O', 'json']);
  assert.deepEqual([emptyJson.code, emptyJson.stdout, emptyJson.stderr], [0, '', '']);
});

test('refusals, unknown topics and partitions: messages that say what to do, distinct exit codes', async () => {
  assert.equal((await cli(['topic', 'create', 'known'])).code, 0);
  const [duplicate, badName, describeUnknown, deleteUnknown, partitionsUnknown] = await Promise.all([
    cli(['topic', 'create', 'known']),
    cli(['topic', 'create', 'Bad_Name']),
    cli(['topic', 'describe', 'nope']),
    cli(['topic', 'delete', 'nope']),
    cli(['partition', 'list', 'nope']),
  ]);
  const continued = await cli(['topic', 'delete', 'missing', 'known', '--continue-on-error']);
  assert.equal(duplicate.code, 5);
  assert.equal(duplicate.stdout, '');
  assert.match(duplicate.stderr, /^error: .*already exists/m);
  assert.match(duplicate.stderr, /^hint: .*freshet topic list/m);
  assert.equal(badName.code, 5);
  assert.match(badName.stderr, /invalid topic name "Bad_Name"/);
  for (const result of [describeUnknown, deleteUnknown, partitionsUnknown]) {
    assert.equal(result.code, 4, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /topic "nope" not found; topics that exist: known/);
    assert.match(result.stderr, /hint: create it with `freshet topic create nope`/);
  }
  assert.equal(continued.code, 4);
  assert.equal(continued.stdout, 'topic "known" deleted\n');
  assert.match(continued.stderr, /topic "missing" delete failed with: topic "missing" not found/);
  assert.match(continued.stderr, /Failed deleting topic\(s\)/);
});

test('no node at the endpoint: exit 3 with how to start one; the same through FRESHET_ENDPOINT', async () => {
  const port = await freePort();
  const [flag, env, status] = await Promise.all([
    runCli(['-c', `127.0.0.1:${port}`, 'topic', 'list']),
    runCli(['topic', 'create', 'x'], { env: { FRESHET_ENDPOINT: `127.0.0.1:${port}` } }),
    runCli(['-c', `127.0.0.1:${port}`, 'cluster', 'status', '--data-dir', profileDir]),
  ]);
  for (const result of [flag, env]) {
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`no Freshet node at 127\\.0\\.0\\.1:${port}.*freshet cluster start`));
  }
  assert.equal(status.code, 3);
  assert.match(status.stdout, new RegExp(`✗ Unable to reach a node at 127\\.0\\.0\\.1:${port}`));
  assert.match(status.stdout, /no node is running on data dir/);
});

test('usage errors exit 2 (unknown command, option or value; global option after the command)', async () => {
  const results = await Promise.all([
    runCli(['nosuch']),
    runCli(['topic', 'list', '--bogus']),
    runCli(['topic', 'create', 'x', '-p', 'many']),
    runCli(['topic', 'list', '-O', 'yaml']),
    runCli(['consume', 't', '-B', '-T', '3']),
    runCli(['topic', 'list', '-c', '127.0.0.1:9003']),
    runCli(['-c', 'nohostport', 'topic', 'list']),
    runCli(['topic']),
  ]);
  for (const result of results) {
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
  }
  const [command, option, value, yaml, conflict, global, endpoint, group] = results.map((result) => result.stderr);
  assert.match(command, /unknown command 'nosuch'/);
  assert.match(option, /unknown option '--bogus'/);
  assert.match(value, /expected a non-negative integer/);
  assert.match(yaml, /yaml output is not supported by freshet; use table or json/);
  assert.match(conflict, /cannot be used with/);
  assert.match(global, /hint: global options go before the command/);
  assert.match(endpoint, /expected HOST:PORT/);
  assert.match(group, /Usage: freshet topic/);
});

test('help: examples at every level, exit codes and environment at the top; version', async () => {
  const [root, leaf, none, version, versionJson, versionOnTerminal, versionNoNode] = await Promise.all([
    runCli(['--help']),
    runCli(['consume', '--help']),
    runCli([]),
    cli(['version']),
    cli(['version', '-O', 'json']),
    runCli(['-c', node.endpoint, 'version'], { fakeTty: ['stdout'] }),
    runCli(['-c', '127.0.0.1:1', 'version']),
  ]);
  // Every form ends its last line, so a shell prompt starts on a line of its own.
  for (const result of [version, versionJson, versionOnTerminal, versionNoNode]) {
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /OS Details +.*: .+\n$|"os":".+"\}\n$/);
  }
  assert.equal(root.code, 0);
  assert.match(root.stdout, /Examples:\n {2}\$ freshet/);
  assert.match(root.stdout, /Exit status:\n {2}0 {2}success[\s\S]* 3 {2}no node reachable[\s\S]* 4 {2}not found/);
  assert.match(root.stdout, /FRESHET_ENDPOINT/);
  assert.equal(leaf.code, 0);
  assert.match(leaf.stdout, /-O, --output <type>[\s\S]*Examples:\n {2}\$ freshet consume/);
  assert.match(leaf.stdout, /--smartmodule <name> +run this SmartModule/);
  assert.deepEqual([none.code, none.stdout], [0, root.stdout]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^ Freshet CLI +: \d+\.\d+\.\d+$/m);
  assert.match(version.stdout, new RegExp(`^ Freshet Platform +: \\S+ \\(at ${node.endpoint}\\)$`, 'm'));
  assert.equal(JSON.parse(versionJson.stdout).endpoint, node.endpoint);
});

test('partition list as a table and JSON; colour only on a terminal and never with NO_COLOR', async () => {
  assert.equal((await cli(['topic', 'create', 'parts', '-p', '2'])).code, 0);
  const produced = await runCli(['-c', node.endpoint, 'produce', 'parts', '-p', '1'], { input: 'a\nb\n' });
  assert.deepEqual([produced.code, produced.stdout, produced.stderr], [0, '', '']);
  const tty = { fakeTty: ['stdout' as const, 'stderr' as const] };
  const [table, json, colour, noColour] = await Promise.all([
    cli(['partition', 'list']),
    cli(['partition', 'list', 'parts', '-O', 'json']),
    runCli(['-c', node.endpoint, 'partition', 'list'], tty),
    runCli(['-c', node.endpoint, 'partition', 'list'], { ...tty, env: { NO_COLOR: '1' } }),
  ]);
  for (const result of [table, json, colour, noColour]) assert.equal(result.code, 0, result.stderr);
  const rows = lines(table.stdout);
  assert.match(rows[0], /^ TOPIC +PARTITION +LEADER +MIRROR +REPLICAS +RESOLUTION +SIZE +BASE +HW +LEO +LRS +FOLLOWER OFFSETS$/);
  assert.match(rows.find((row) => /^ parts +1 /.test(row))!, /Online +\d+ B +0 +2 +2 +1 +\[\]$/);
  assert.deepEqual(
    lines(json.stdout).map((line) => JSON.parse(line)).map((p) => [p.topic, p.partition, p.highWatermark]),
    [
      ['parts', 0, 0],
      ['parts', 1, 2],
    ],
  );
  assert.ok(!hasAnsi(table.stdout));
  assert.ok(colour.stdout.includes('\x1b[1m TOPIC'), colour.stdout);
  assert.ok(!hasAnsi(noColour.stdout + noColour.stderr));
  assert.equal(noColour.stdout, table.stdout);
});
