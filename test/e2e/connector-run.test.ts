// `freshet connector run`: a connector in the foreground against a node, as a
// user develops one; Ctrl-C stops it cleanly.

import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { spawnCli } from '../helpers/cli.js';
import { readRecords } from '../helpers/connectors.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

test('connector run tails a file into a topic in the foreground and stops on SIGINT', async () => {
  const node = await startTestNode();
  const dir = await tempDir('freshet-run-');
  try {
    const input = path.join(dir, 'in.log');
    await writeFile(input, 'first\nsecond\n');
    const config = path.join(dir, 'tail.yaml');
    await writeFile(
      config,
      `apiVersion: 0.1.0
meta:
  name: tail-run
  type: file-source
  version: 0.1.0
  topic: run-lines
file:
  path: ${input}
  poll_interval: 50ms
`,
    );
    const { child, result } = spawnCli(['-c', node.endpoint, 'connector', 'run', '--config', config, '--state-dir', path.join(dir, 'state')]);
    child.stdin!.end();
    const first = await readRecords(node.endpoint, 'run-lines', 2, 30_000);
    assert.deepEqual(first.map((record) => record.valueString()), ['first', 'second']);
    await appendFile(input, 'third\n');
    const all = await readRecords(node.endpoint, 'run-lines', 3, 30_000);
    assert.equal(all[2].valueString(), 'third');
    child.kill('SIGINT');
    const ended = await result;
    assert.equal(ended.code, 0, ended.stderr);
  } finally {
    await node.stop();
    await removeDir(node.dataDir);
    await removeDir(dir);
  }
});
