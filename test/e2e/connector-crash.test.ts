// A managed sink survives a SIGKILL of its node in the middle of writing:
// after the restart it resumes from its committed consumer offset, nothing is
// lost, and the upsert on the key leaves every record exactly once.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, after } from 'node:test';
import { createRequire } from 'node:module';
import { Freshet } from '../../src/client/index.js';
import { runCli } from '../helpers/cli.js';
import { startChildNode, type ChildNode } from '../helpers/child-node.js';
import { removeDir, tempDir } from '../helpers/test-node.js';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as typeof import('better-sqlite3');

const RECORDS = 30_000;
const children: ChildNode[] = [];
const dirs: string[] = [];

after(async () => {
  for (const child of children) child.process.kill('SIGKILL');
  for (const dir of dirs) await removeDir(dir);
});

function rowCount(db: string): number {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    conn.pragma('busy_timeout = 2000');
    return (conn.prepare('SELECT count(*) AS n FROM orders').get() as { n: number }).n;
  } finally {
    conn.close();
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok: boolean;
    try {
      ok = condition();
    } catch {
      ok = false; // the table is being written: try again
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('a SIGKILL of the node while a managed sql-sink writes loses nothing and stores nothing twice', { timeout: 240_000 }, async () => {
  const dataDir = await tempDir('freshet-crash-');
  const work = await tempDir('freshet-crash-work-');
  dirs.push(dataDir, work);
  const db = path.join(work, 'orders.db');
  const setup = new Database(db);
  setup.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)');
  setup.close();

  const victim = await startChildNode(dataDir);
  children.push(victim);
  const freshet = await Freshet.connect({ endpoint: victim.endpoint });
  await freshet.admin.createTopic('orders', { partitions: 2 });
  const producer = await freshet.producer('orders');
  const sends: Promise<number>[] = [];
  for (let id = 0; id < RECORDS; id++) sends.push(producer.send(String(id), JSON.stringify({ id, amount: id * 10 })));
  await Promise.all(sends);
  await freshet.close();

  const config = path.join(work, 'sink.yaml');
  await writeFile(
    config,
    `apiVersion: 0.1.0
meta:
  name: orders-sink
  type: sql-sink
  version: 0.5.0
  topic: orders
  consumer:
    id: orders-sink
    max_bytes: 4 KB
    offset:
      strategy: manual
      start: beginning
sql:
  url: sqlite://${db}
  table: orders
  unique-columns: [id]
  map-columns:
    id: {json-key: id, value: {type: int, required: true}}
    amount: {json-key: amount, value: {type: int, required: true}}
`,
  );
  const created = await runCli(['connector', 'create', '--config', config, '--data-dir', dataDir]);
  assert.equal(created.code, 0, created.stderr);

  // Kill the node while the sink is part-way through the topic.
  await until(() => rowCount(db) > 0, 'the sink to start writing');
  victim.process.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');
  const before = rowCount(db);
  assert.ok(before < RECORDS, `the sink had already written everything (${before}); the crash came too late to test anything`);

  const survivor = await startChildNode(dataDir);
  children.push(survivor);
  await until(() => rowCount(db) === RECORDS, `all ${RECORDS} rows (had ${before} at the crash)`);
  const check = new Database(db, { readonly: true });
  try {
    const stats = check.prepare('SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id) AS lo, max(id) AS hi, sum(amount) AS total FROM orders').get() as {
      n: number;
      ids: number;
      lo: number;
      hi: number;
      total: number;
    };
    assert.deepEqual(stats, { n: RECORDS, ids: RECORDS, lo: 0, hi: RECORDS - 1, total: (10 * (RECORDS - 1) * RECORDS) / 2 });
  } finally {
    check.close();
  }
  survivor.process.kill('SIGTERM');
  assert.equal(await survivor.exited, 0);
});
