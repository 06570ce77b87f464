// Dataflows the node runs (as it runs connectors), driven by the CLI:
// `freshet dataflow create | list | query | describe | stop | start | delete`
// find the node's console endpoint from its data dir (console.json).
// Skipped on a node built without the console.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import { freshetBin, repoRoot } from '../helpers/child-node.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const YAML = `
apiVersion: 0.5.0
meta: { name: managed-counts }
config:
  consumer: { default_starting_offset: { position: Beginning, value: 0 } }
  checkpoint: { interval: 200ms }
topics:
  clicks: {}
  click-counts: {}
services:
  per-page:
    sources: [{ type: topic, id: clicks }]
    window:
      tumbling: { duration: 10s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.page
        aggregate: { clicks: count }
    sinks: [{ type: topic, id: click-counts }]
`;

const BASE = 1_700_000_000_000;

describe('dataflow e2e: managed by the node', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    node = await startTestNode();
    dir = await tempDir('freshet-df-managed-');
    await writeFile(path.join(dir, 'dataflow.yaml'), YAML);
    env = { ...process.env, FRESHET_DATAFLOW_DIR: path.join(dir, 'local'), FRESHET_LOG: 'warn' };
    delete env.NODE_TEST_CONTEXT;
    delete env.FRESHET_CONSOLE;
  });

  after(async () => {
    await node?.stop();
    await removeDir(node.dataDir);
    await removeDir(dir);
  });

  function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [freshetBin, ...args, '--data-dir', node.dataDir], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('create, list, query, describe, stop, start, delete through the console endpoint', async () => {
    assert.ok(existsSync(path.join(node.dataDir, 'console.json')), 'the node records its console endpoint in the data dir');
    const created = await cli('dataflow', 'create', '--config', path.join(dir, 'dataflow.yaml'));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /dataflow "managed-counts" created/);

    const client = await Freshet.connect({ endpoint: node.endpoint });
    try {
      const producer = await client.producer('clicks');
      for (const [page, ts] of [['home', 1], ['home', 2], ['about', 3], ['home', 12]] as const) {
        await producer.send(null, JSON.stringify({ page, ts: BASE + ts * 1000 }));
      }
      await producer.flush();
      const deadline = Date.now() + 20_000;
      let query: { closed: { values: { clicks: number } }[] } | undefined;
      while (Date.now() < deadline) {
        const answer = await cli('dataflow', 'query', 'managed-counts', '--key', 'home', '-O', 'json');
        if (answer.code === 0) {
          query = JSON.parse(answer.stdout) as typeof query;
          if (query!.closed.length > 0) break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.deepEqual(query?.closed.map((w) => w.values.clicks), [2]);
    } finally {
      await client.close();
    }

    const list = await cli('dataflow', 'list', '-O', 'json');
    assert.equal(list.code, 0, list.stderr);
    const row = JSON.parse(list.stdout.trim().split('\n')[0]) as { name: string; where: string; status: string };
    assert.deepEqual([row.name, row.where, row.status], ['managed-counts', 'node', 'running']);

    const described = await cli('dataflow', 'describe', 'managed-counts', '-O', 'json');
    assert.equal(described.code, 0, described.stderr);
    assert.equal((JSON.parse(described.stdout) as { where: string }).where, 'node');

    assert.equal((await cli('dataflow', 'stop', 'managed-counts')).code, 0);
    assert.match((await cli('dataflow', 'list')).stdout, /managed-counts\s+node\s+stopped/);
    assert.equal((await cli('dataflow', 'start', 'managed-counts')).code, 0);
    const deleted = await cli('dataflow', 'delete', 'managed-counts');
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await cli('dataflow', 'describe', 'managed-counts');
    assert.equal(gone.code, 4);
    assert.match(gone.stderr, /no dataflow named "managed-counts"/);
  });
});
