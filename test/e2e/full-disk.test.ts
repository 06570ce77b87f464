// A node whose data dir is on a small real tmpfs (mounted by the test; CI runs
// as root): produce fills the disk and is refused saying so, deleting a topic
// frees room even though the metadata write needs space, produce resumes by
// itself, and a restart on the full disk recovers every acknowledged record.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, tempDir } from '../helpers/test-node.js';
import { runCli } from '../helpers/cli.js';
import { Freshet, type Producer } from '../../src/client/index.js';

const RECORD = 'x'.repeat(8 * 1024);

/** Sends records one flush at a time until a send fails; returns how many were acknowledged and the failure. */
async function fill(producer: Producer, limit: number): Promise<{ acknowledged: number; error: Error }> {
  let acknowledged = 0;
  for (let i = 0; i < limit; i++) {
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => producer.send(null, RECORD)));
    acknowledged += results.filter((r) => r.status === 'fulfilled').length;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return { acknowledged, error: failed.reason as Error };
  }
  throw new Error(`the disk did not fill within ${limit * 16} records`);
}

/** Takes every block left on the disk (as another writer would), down to the last KiB. */
async function takeTheRest(file: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    for (const size of [1024 * 1024, 64 * 1024, 4096, 1024]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          await handle.write(chunk);
          await handle.sync();
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

test('a full disk is recoverable from the API: produce says the disk is full, deleting a topic frees room, produce resumes, a restart recovers everything acknowledged', async () => {
  assert.equal(process.getuid?.(), 0, 'this test mounts a tmpfs and needs root (CI runs as root): run it as root');
  const dir = await tempDir('freshet-full-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]);
  let node: Awaited<ReturnType<typeof startTestNode>> | undefined;
  const clients: Freshet[] = [];
  try {
    node = await startTestNode({ dataDir: dir, console: { enabled: false }, storage: { segmentSize: 1024 * 1024 } });
    const freshet = await Freshet.connect({ endpoint: node.endpoint });
    clients.push(freshet);
    await freshet.admin.createTopic('old');
    await freshet.admin.createTopic('fill');
    const oldProducer = await freshet.producer('old', { deliveryTimeoutMs: 2_000, compression: 'none' });
    await Promise.all(Array.from({ length: 600 }, () => oldProducer.send(null, RECORD)));
    await oldProducer.flush();

    const producer = await freshet.producer('fill', { deliveryTimeoutMs: 2_000, compression: 'none' });
    const first = await fill(producer, 10_000);
    assert.match(first.error.message, /disk full/, first.error.message);
    assert.equal(node.replicas.get('fill', 0)!.highWatermark(), first.acknowledged, 'every acknowledged record is stored, nothing more');
    await takeTheRest(path.join(dir, 'other-data'));

    const cli = await runCli(['-c', node.endpoint, 'produce', 'fill'], { input: `${RECORD}\n`.repeat(400) });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /disk full/, cli.stderr);

    // Deleting a topic needs a metadata write on the full disk; the reserve makes room for it.
    await freshet.admin.deleteTopic('old');
    assert.deepEqual((await freshet.admin.listTopics()).map((t) => t.name), ['fill']);

    // Produce resumes by itself: the same producer, no restart.
    const resumed = await fill(producer, 10_000);
    assert.ok(resumed.acknowledged > 0, 'appends were taken again once there was room');
    assert.match(resumed.error.message, /disk full/);
    // What the CLI stored before the disk was full again is acknowledged too (it printed no error for those lines).
    const acknowledged = node.replicas.get('fill', 0)!.highWatermark();
    assert.ok(acknowledged >= first.acknowledged + resumed.acknowledged && acknowledged < first.acknowledged + resumed.acknowledged + 400);
    assert.equal(node.replicas.get('fill', 0)!.highWatermark(), acknowledged);
    await freshet.close();
    clients.pop();

    // A restart on the full disk recovers every acknowledged record.
    await node.stop();
    node = await startTestNode({ dataDir: dir, console: { enabled: false }, storage: { segmentSize: 1024 * 1024 } });
    assert.equal(node.replicas.get('fill', 0)!.highWatermark(), acknowledged);
    const again = await Freshet.connect({ endpoint: node.endpoint });
    clients.push(again);
    const consumer = await again.consumer('fill', { partition: 0, offset: 'beginning' });
    let read = 0;
    for await (const record of consumer) {
      assert.equal(record.value.length, RECORD.length);
      if (++read === acknowledged) break;
    }
    await consumer.close();
    assert.equal(read, acknowledged);
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await node?.stop().catch(() => {});
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  }
});
