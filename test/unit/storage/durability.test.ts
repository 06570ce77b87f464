import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { StorageError, type StorageHooks } from '../../../src/storage/index.js';
import {
  baseOffsetOf,
  capturingLogger,
  makeBatch,
  openStore,
  readAll,
  segmentFiles,
  storeFixture,
} from './helpers.js';

const isCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

describe('durability: group commit, flush policies, faults', () => {
  const fx = storeFixture();

  it("'always' group-commits: many concurrent appends share few fsyncs, each resolved after its fsync", async () => {
    const events: string[] = [];
    let fsyncs = 0;
    const hooks: StorageHooks = {
      beforeWrite: () => {
        events.push('write');
      },
      beforeFsync: async () => {
        fsyncs++;
        events.push('fsync');
        await sleep(2); // a slow disk makes groups form
      },
    };
    fx.store = await openStore(fx.dataDir, { flush: { kind: 'always' } }, { hooks });
    const fsyncsAtOpen = fsyncs;
    events.length = 0;
    const n = 500;
    const all: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) {
      all.push(
        fx.store.append([makeBatch({ fill: i % 256 })]).then((r) => {
          events.push(`resolved`);
          return r;
        }),
      );
    }
    await Promise.all(all);
    const used = fsyncs - fsyncsAtOpen;
    assert.ok(used >= 1 && used <= n / 10, `${used} fsyncs for ${n} appends`);
    assert.equal(fx.store.stats().groups, used);
    assert.equal(fx.store.stats().appends, n);
    // Every resolution comes after an fsync that follows the last write before it.
    let lastWrite = -1;
    let syncedSinceWrite = false;
    for (const [i, e] of events.entries()) {
      if (e === 'write') {
        lastWrite = i;
        syncedSinceWrite = false;
      } else if (e === 'fsync') {
        if (lastWrite >= 0) syncedSinceWrite = true;
      } else {
        assert.ok(syncedSinceWrite, `resolution at ${i} not preceded by an fsync of its write`);
      }
    }
    // One writev per group (segment never rolls here).
    assert.equal(fx.store.stats().writes, used);
    const back = await readAll(fx.store);
    assert.equal(back.length, n);
    back.forEach((b, i) => assert.equal(b[70], i % 256));
  });

  it("'always' with sequential appends fsyncs once per append", async () => {
    fx.store = await openStore(fx.dataDir, { flush: { kind: 'always' } });
    const before = fx.store.stats().fsyncs;
    for (let i = 0; i < 10; i++) await fx.store.append([makeBatch()]);
    assert.equal(fx.store.stats().fsyncs - before, 10);
  });

  it("'interval' resolves after write and fsyncs periodically", async () => {
    // Appends resolve without an fsync of their own (a timer far in the future cannot interfere)...
    fx.store = await openStore(fx.dataDir, { flush: { kind: 'interval', intervalMs: 600_000 } });
    const before = fx.store.stats().fsyncs;
    for (let i = 0; i < 20; i++) await fx.store.append([makeBatch()]);
    assert.equal(fx.store.stats().fsyncs, before, 'no fsync on the append path');
    await fx.store.close();
    // ...and the timer syncs a dirty segment, then stays quiet while nothing is written.
    fx.store = await openStore(fx.dataDir, { flush: { kind: 'interval', intervalMs: 20 } });
    const base = fx.store.stats().fsyncs;
    await fx.store.append([makeBatch()]);
    for (let i = 0; i < 500 && fx.store.stats().fsyncs === base; i++) await sleep(10);
    assert.ok(fx.store.stats().fsyncs > base, 'timer fsynced the dirty segment');
    const after = fx.store.stats().fsyncs;
    await sleep(60);
    assert.equal(fx.store.stats().fsyncs, after, 'nothing dirty, no more fsyncs');
  });

  it("'os' never fsyncs on the append path but does on close", async () => {
    fx.store = await openStore(fx.dataDir, { flush: { kind: 'os' }, segmentSize: 1024, maxPartitionSize: 1 << 20 });
    const before = fx.store.stats().fsyncs;
    for (let i = 0; i < 20; i++) await fx.store.append([makeBatch({ payloadBytes: 200 })]);
    assert.ok(fx.store.segmentCount() > 1);
    assert.equal(fx.store.stats().fsyncs, before);
    const s = fx.store;
    await s.close();
    fx.store = undefined;
    assert.ok(s.stats().fsyncs > before);
  });

  it('a failed write rejects that append and leaves the log usable', async () => {
    let failNext = false;
    fx.store = await openStore(
      fx.dataDir,
      {},
      {
        hooks: {
          beforeWrite: () => {
            if (failNext) {
              failNext = false;
              const e: NodeJS.ErrnoException = new Error('ENOSPC: no space left on device');
              e.code = 'ENOSPC';
              throw e;
            }
          },
        },
      },
    );
    await fx.store.append([makeBatch({ records: 2, fill: 1 })]);
    failNext = true;
    await assert.rejects(fx.store.append([makeBatch({ records: 5, fill: 2 })]), (e: unknown) => {
      assert.ok(isCode('NO_SPACE')(e), 'a full disk is told apart from other write failures');
      assert.match((e as Error).message, /^disk full: .*ENOSPC/);
      return true;
    });
    assert.equal(fx.store.highWatermark(), 2);
    assert.equal(fx.store.failed(), undefined);
    assert.deepEqual(await fx.store.append([makeBatch({ records: 1, fill: 3 })]), { baseOffset: 2, lastOffset: 2 });
    const back = await readAll(fx.store);
    assert.deepEqual(back.map((b) => b[70]), [1, 3]);
  });

  it('a torn write (disk full midway) is truncated back; reopen is clean', async () => {
    let tornAt: number | undefined;
    fx.store = await openStore(
      fx.dataDir,
      {},
      {
        hooks: {
          beforeWrite: (ctx) => {
            if (tornAt !== undefined) {
              const n = tornAt;
              tornAt = undefined;
              return Math.min(n, ctx.bytes - 1);
            }
          },
        },
      },
    );
    const first = makeBatch({ records: 2, fill: 1 });
    await fx.store.append([first]);
    tornAt = 70;
    await assert.rejects(fx.store.append([makeBatch({ fill: 2 }), makeBatch({ fill: 3 })]), isCode('NO_SPACE'));
    const logFile = (await segmentFiles(fx.dataDir)).find((f) => f.endsWith('.log')) as string;
    const dir = fx.store.dir;
    assert.equal((await fs.stat(`${dir}/${logFile}`)).size, first.length, 'partial bytes removed');
    assert.deepEqual(await fx.store.append([makeBatch({ fill: 4 })]), { baseOffset: 2, lastOffset: 2 });
    await fx.store.close();
    const cap = capturingLogger();
    fx.store = await openStore(fx.dataDir, {}, { logger: cap.logger });
    assert.equal(cap.lines.filter((l) => (l.level as number) >= 40).length, 0, JSON.stringify(cap.lines));
    assert.deepEqual((await readAll(fx.store)).map((b) => b[70]), [1, 4]);
  });

  it('a failure after a segment roll inside one append removes the new segment', async () => {
    let writes = 0;
    let failAtWrite = -1;
    const cfg = { segmentSize: 1024, maxPartitionSize: 1 << 20 };
    fx.store = await openStore(fx.dataDir, cfg, {
      hooks: {
        beforeWrite: () => {
          writes++;
          if (writes === failAtWrite) throw new Error('EIO: injected');
        },
      },
    });
    await fx.store.append([makeBatch({ payloadBytes: 300, fill: 1 })]);
    const segsBefore = fx.store.segmentBaseOffsets();
    const filesBefore = await segmentFiles(fx.dataDir);
    failAtWrite = writes + 2; // the first write fills the segment; the second goes to the new one
    const big = Array.from({ length: 8 }, (_, i) => makeBatch({ payloadBytes: 300, fill: 10 + i }));
    await assert.rejects(fx.store.append(big), isCode('WRITE_FAILED'));
    assert.deepEqual(fx.store.segmentBaseOffsets(), segsBefore);
    assert.deepEqual(await segmentFiles(fx.dataDir), filesBefore);
    assert.equal(fx.store.highWatermark(), 1);
    assert.deepEqual(await fx.store.append(big), { baseOffset: 1, lastOffset: 8 });
    assert.ok(fx.store.segmentCount() > 2);
    assert.deepEqual((await readAll(fx.store)).map((b) => b[70]), [1, 10, 11, 12, 13, 14, 15, 16, 17]);
    await fx.store.close();
    fx.store = await openStore(fx.dataDir, cfg);
    assert.equal(fx.store.highWatermark(), 9);
    assert.deepEqual((await readAll(fx.store)).map((b) => b[70]), [1, 10, 11, 12, 13, 14, 15, 16, 17]);
  });

  it('only the failed group is rejected; appends queued behind it succeed', async () => {
    let failOnce = true;
    let gate: Promise<void> | undefined;
    let open: () => void = () => undefined;
    fx.store = await openStore(
      fx.dataDir,
      {},
      {
        hooks: {
          beforeWrite: async () => {
            if (gate !== undefined) await gate;
            if (failOnce) {
              failOnce = false;
              throw new Error('EIO: injected');
            }
          },
        },
      },
    );
    gate = new Promise<void>((r) => (open = r));
    const a = fx.store.append([makeBatch({ fill: 1 })]);
    await sleep(5); // let the first group start its write
    const b = fx.store.append([makeBatch({ fill: 2 })]);
    const c = fx.store.append([makeBatch({ fill: 3 })]);
    gate = undefined;
    open();
    await assert.rejects(a, isCode('WRITE_FAILED'));
    assert.deepEqual(await b, { baseOffset: 0, lastOffset: 0 });
    assert.deepEqual(await c, { baseOffset: 1, lastOffset: 1 });
    assert.deepEqual((await readAll(fx.store)).map((x) => x[70]), [2, 3]);
  });

  it('a failed fsync fails the partition: appends are refused, reads still work, reopen recovers', async () => {
    let failSync = false;
    fx.store = await openStore(
      fx.dataDir,
      {},
      {
        hooks: {
          beforeFsync: () => {
            if (failSync) throw new Error('EIO: fsync failed');
          },
        },
      },
    );
    await fx.store.append([makeBatch({ records: 3, fill: 1 })]);
    failSync = true;
    const seen: number[] = [];
    fx.store.onAppend((hw) => seen.push(hw));
    await assert.rejects(fx.store.append([makeBatch({ fill: 2 })]), isCode('PARTITION_FAILED'));
    assert.ok(fx.store.failed() !== undefined);
    assert.deepEqual(seen, [], 'no notification for a failed append');
    failSync = false;
    await assert.rejects(fx.store.append([makeBatch({ fill: 3 })]), (e: unknown) => {
      assert.ok(isCode('PARTITION_FAILED')(e));
      assert.match((e as Error).message, /retrying fsync is unsafe/);
      return true;
    });
    assert.equal(fx.store.highWatermark(), 3);
    assert.equal(baseOffsetOf((await fx.store.read(0, 100)).chunks[0]), 0);
    await fx.store.close();
    fx.store = await openStore(fx.dataDir);
    assert.equal(fx.store.highWatermark(), 3);
    assert.deepEqual(await fx.store.append([makeBatch({ fill: 4 })]), { baseOffset: 3, lastOffset: 3 });
  });

  it('close() completes appends already accepted, then refuses new ones', async () => {
    fx.store = await openStore(fx.dataDir);
    const pending = Array.from({ length: 50 }, (_, i) => fx.store!.append([makeBatch({ fill: i })]));
    const closing = fx.store.close();
    await assert.rejects(fx.store.append([makeBatch()]), isCode('CLOSED'));
    const results = await Promise.all(pending);
    assert.equal(results[49].lastOffset, 49);
    await closing;
    await assert.rejects(fx.store.read(0, 10), isCode('CLOSED'));
    fx.store = await openStore(fx.dataDir);
    assert.equal(fx.store.highWatermark(), 50);
  });
});
