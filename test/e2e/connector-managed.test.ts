// Managed connectors through the CLI (a subprocess, as users run it): create
// (secrets from the CLI's environment), list/describe/logs, a failing
// connector restarted with backoff and its status and logs visible, a bad
// config refused with its key path, running again after a node restart with
// no record twice, delete.

import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { readAll, readRecords, waitFor } from '../helpers/connectors.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

interface Listed {
  name: string;
  type: string;
  status: { state: string; restarts: number; lastError?: string };
  stats: { records: number };
}

test('managed connectors: create via the CLI, status and logs, restart with backoff, survive a node restart, delete', async () => {
  const dir = await tempDir('freshet-managed-');
  const connectors = { minBackoffMs: 100, maxBackoffMs: 400 };
  let node = await startTestNode({ connectors });
  const dataDir = node.dataDir;
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['connector', ...args, '--data-dir', dataDir], { env });
  const listViaCli = async (): Promise<Listed[]> => {
    const result = await cli(['list', '-O', 'json']);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Listed);
  };
  // Polling goes to the admin endpoint directly (a CLI process per poll is slow on a busy 2-core machine).
  // The node records where its connector API is (its own admin endpoint, or the console's).
  const adminUrl = async () => (JSON.parse(await readFile(path.join(dataDir, 'connectors', 'admin.json'), 'utf8')) as { url: string }).url;
  const list = async (): Promise<Listed[]> => (await (await fetch(`${await adminUrl()}/connectors`)).json()) as Listed[];
  try {
    const input = path.join(dir, 'in.log');
    await writeFile(input, 'a\nb\n');
    const config = path.join(dir, 'tail.yaml');
    await writeFile(
      config,
      `apiVersion: 0.1.0
meta:
  name: tail-in
  type: file-source
  version: 0.1.0
  topic: managed-lines
  secrets:
    - name: LOG_PATH
file:
  path: \${{ secrets.LOG_PATH }}
  poll_interval: 50ms
`,
    );
    const created = await cli(['create', '--config', config], { LOG_PATH: input });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /connector "tail-in" \(file-source\) created/);
    await readRecords(node.endpoint, 'managed-lines', 2);
    const [listed] = await listViaCli();
    assert.equal(listed.name, 'tail-in');
    assert.equal(listed.status.state, 'running');

    const again = await cli(['create', '--config', config], { LOG_PATH: input });
    assert.equal(again.code, 5);
    assert.match(again.stderr, /a connector named "tail-in" already exists/);

    // A bad config is refused before anything starts, with the key path.
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: 0.1.0\nmeta:\n  name: bad\n  type: http-source\n  version: 0.5.0\n  topic: t\nhttp:\n  endpoint: http://127.0.0.1:1/\n  interval: often\n');
    const refused = await cli(['create', '--config', bad]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /http\.interval: expected a duration/);

    // A connector that keeps failing: restarted with backoff, its error and logs visible.
    const notAFile = path.join(dir, 'a-directory');
    await mkdir(notAFile);
    const failing = path.join(dir, 'failing.yaml');
    await writeFile(failing, `apiVersion: 0.1.0\nmeta:\n  name: broken\n  type: file-source\n  version: 0.1.0\n  topic: broken-lines\nfile:\n  path: ${notAFile}\n`);
    assert.equal((await cli(['create', '--config', failing])).code, 0);
    const broken = await waitFor('restarts', async () => {
      const found = (await list()).find((c) => c.name === 'broken');
      return found && found.status.restarts >= 2 ? found : undefined;
    });
    assert.equal(broken.status.state, 'restarting');
    assert.match(broken.status.lastError ?? '', /EISDIR/);
    const described = await cli(['describe', 'broken']);
    assert.equal(described.code, 0);
    assert.match(described.stdout, /Status\s+: restarting/);
    assert.match(described.stdout, /Last Error\s+: .*EISDIR/);
    const logs = await cli(['logs', 'broken', '-n', '20']);
    assert.equal(logs.code, 0);
    assert.match(logs.stdout, /ERROR connector failed; restarting .*EISDIR/);

    // Node restart: the connectors come back, the source resumes where it was.
    await appendFile(input, 'c\n');
    await readRecords(node.endpoint, 'managed-lines', 3);
    await node.stop();
    await appendFile(input, 'd\n');
    node = await startTestNode({ dataDir, connectors });
    await readRecords(node.endpoint, 'managed-lines', 4);
    const afterRestart = await waitFor('tail-in running again', async () => (await list()).find((c) => c.name === 'tail-in' && c.status.state === 'running'));
    assert.equal(afterRestart.type, 'file-source');
    assert.deepEqual(
      (await readAll(node.endpoint, 'managed-lines')).map((r) => r.valueString()),
      ['a', 'b', 'c', 'd'],
    );

    const deleted = await cli(['delete', 'broken', 'tail-in']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /connector "broken" deleted\nconnector "tail-in" deleted/);
    assert.deepEqual(await list(), []);
    await assert.rejects(stat(path.join(dataDir, 'connectors', 'tail-in')));
    const missing = await cli(['describe', 'tail-in']);
    assert.equal(missing.code, 4);
  } finally {
    await node.stop();
    await removeDir(dataDir);
    await removeDir(dir);
  }
});
