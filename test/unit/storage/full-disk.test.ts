/**
 * A full disk at the storage layer: an ENOSPC at any write point fails only
 * what it hit, with StorageError 'NO_SPACE' saying the disk is full; nothing
 * is half acknowledged, everything acknowledged stays readable, appends
 * succeed again by themselves once there is room, and a reopen recovers it all.
 * Once with ENOSPC injected at every write point, once on a real small tmpfs
 * (mounting one needs root, as CI runs).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

import type { FilePartitionStore, StorageHooks, StorageMutation } from '../../../src/storage/index.js';
import { StorageError } from '../../../src/storage/index.js';
import { errnoError } from '../../../src/storage/io.js';
import { baseOffsetOf, lastOffsetOf, makeBatch, makeTmpDir, openStore, readAll, removeDir } from './helpers.js';

/** The mutations that need free space. */
const WRITE_KINDS: ReadonlySet<StorageMutation['kind']> = new Set(['write', 'write-file', 'create', 'mkdir', 'fsync']);
/** Write points in a row that find the disk full, once it is. */
const FULL_FOR = 3;

const isNoSpace = (err: unknown): boolean => {
  assert.ok(err instanceof StorageError, `a StorageError, got ${String(err)}`);
  assert.equal(err.code, 'NO_SPACE');
  assert.match(err.message, /^disk full: no space left on device for partition events-0/);
  return true;
};

/** Makes the disk full from the n-th write point for FULL_FOR of them (a log write is torn there). */
class DiskFull {
  private seen = 0;
  private from = Infinity;
  private tornBytes: number | undefined;
  readonly hitKinds = new Set<StorageMutation['kind']>();

  readonly hooks: StorageHooks = {
    beforeMutation: (op) => {
      if (!WRITE_KINDS.has(op.kind)) return;
      this.seen++;
      if (this.seen < this.from || this.seen >= this.from + FULL_FOR) return;
      this.hitKinds.add(op.kind);
      if (op.kind === 'write' && op.bytes > 1) {
        this.tornBytes = Math.floor(op.bytes / 2);
        return;
      }
      throw errnoError('ENOSPC', `no space left on device (injected) ${op.path}`);
    },
    beforeWrite: () => {
      const torn = this.tornBytes;
      this.tornBytes = undefined;
      return torn;
    },
  };

  get count(): number {
    return this.seen;
  }

  fullAt(point: number): void {
    this.from = point;
  }
}

/** A partition driven through appends (rolling segments), retention, a close and a reopen, recording what was acknowledged. */
class Scenario {
  acked: Buffer[] = [];
  store: FilePartitionStore | undefined;
  private next = 0;

  constructor(
    private readonly dataDir: string,
    readonly disk: DiskFull,
  ) {}

  private async open(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.store = await openStore(this.dataDir, { segmentSize: 2048, indexIntervalBytes: 256, retentionMs: 60_000 }, { hooks: this.disk.hooks });
        return;
      } catch (err) {
        isNoSpace(err);
        assert.ok(attempt < FULL_FOR, 'open succeeds once the disk has room');
      }
    }
  }

  private async append(): Promise<void> {
    const store = this.store;
    assert.ok(store !== undefined);
    const batches = [0, 1, 2].slice(0, 1 + (this.next % 3)).map(() => {
      this.next++;
      return makeBatch({ records: 1 + (this.next % 4), payloadBytes: 100 + ((this.next * 137) % 700), timestamp: 1_000 + this.next, fill: this.next % 256 });
    });
    const hw = store.highWatermark();
    try {
      const result = await store.append(batches);
      assert.equal(result.baseOffset, hw, 'offsets continue');
      this.acked.push(...batches.map((b) => Buffer.from(b)));
    } catch (err) {
      isNoSpace(err);
      assert.equal(store.failed(), undefined, 'a full disk does not fail the partition');
      assert.equal(store.highWatermark(), hw, 'nothing of the refused append is acknowledged');
    }
  }

  async run(): Promise<void> {
    await this.open();
    for (let i = 0; i < 8; i++) await this.append();
    const store = this.store;
    assert.ok(store !== undefined);
    await store.enforceRetention(1_000_000);
    this.acked = this.acked.filter((b) => baseOffsetOf(b) >= store.logStartOffset());
    for (let i = 0; i < 3; i++) await this.append();
    await store.close().catch(isNoSpace);
    await this.open();
    await this.append();
  }

  /** Reopened without faults: exactly what was acknowledged, byte for byte, and appends go on. */
  async verify(): Promise<void> {
    await this.store?.close().catch(() => undefined);
    const store = await openStore(this.dataDir, { segmentSize: 2048, indexIntervalBytes: 256 });
    try {
      assert.deepEqual(await readAll(store), this.acked);
      const last = this.acked[this.acked.length - 1];
      const end = last === undefined ? store.logStartOffset() : lastOffsetOf(last) + 1;
      assert.equal(store.highWatermark(), end);
      assert.equal((await store.append([makeBatch()])).baseOffset, end);
    } finally {
      await store.close();
    }
  }
}

describe('storage on a full disk', () => {
  it('an ENOSPC at any write point refuses only what it hit, as NO_SPACE, and the store carries on by itself', async () => {
    const dryDir = await makeTmpDir();
    const dry = new Scenario(dryDir, new DiskFull());
    await dry.run();
    await dry.verify();
    const points = dry.disk.count;
    await removeDir(dryDir);
    const hit = new Set<StorageMutation['kind']>();
    for (let point = 1; point <= points; point++) {
      const dir = await makeTmpDir();
      try {
        const disk = new DiskFull();
        disk.fullAt(point);
        const scenario = new Scenario(dir, disk);
        await scenario.run();
        await scenario.verify();
        for (const kind of disk.hitKinds) hit.add(kind);
      } catch (err) {
        throw new Error(`disk full from write point ${point} of ${points}: ${String(err)}`, { cause: err });
      } finally {
        await removeDir(dir);
      }
    }
    for (const kind of WRITE_KINDS) assert.ok(hit.has(kind), `the disk was full at a '${kind}'`);
  });

  it('on a real 4 MiB tmpfs: fills up, refuses appends as NO_SPACE, reopens full, frees room by retention and appends again', async (t) => {
    assert.equal(
      process.getuid?.(),
      0,
      'this test mounts a tmpfs and needs root (CI runs as root): run it as root, e.g. sudo node --import tsx --test ' +
        'test/unit/storage/full-disk.test.ts',
    );
    const dataDir = await makeTmpDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dataDir]);
    let store: FilePartitionStore | undefined;
    t.after(async () => {
      // Open files would keep the tmpfs busy.
      await store?.close().catch(() => undefined);
      execFileSync('umount', [dataDir]);
      await removeDir(dataDir);
    });
    const config = { segmentSize: 256 * 1024, retentionMs: 24 * 3600 * 1000 };
    const old = Date.now() - 2 * 24 * 3600 * 1000;
    store = await openStore(dataDir, config);
    const acked: Buffer[] = [];
    let refusal: unknown;
    for (let i = 0; i < 1000 && refusal === undefined; i++) {
      const batch = makeBatch({ records: 4, payloadBytes: 16 * 1024, timestamp: old, fill: i % 256 });
      try {
        await store.append([batch]);
        acked.push(Buffer.from(batch));
      } catch (err) {
        refusal = err;
      }
    }
    assert.ok(refusal !== undefined, 'the 4 MiB disk filled up');
    isNoSpace(refusal);
    assert.ok(acked.length > 100, `${acked.length} batches stored before the disk was full`);
    assert.equal(store.failed(), undefined);
    assert.deepEqual(await readAll(store), acked, 'everything acknowledged reads back on the full disk');
    await assert.rejects(store.append([makeBatch({ payloadBytes: 16 * 1024 })]), isNoSpace, 'still full');

    // A restart on the full disk recovers everything acknowledged.
    await store.close();
    store = await openStore(dataDir, config);
    assert.deepEqual(await readAll(store), acked, 'everything acknowledged survives a reopen on the full disk');

    // Retention frees room; the same store appends again without a restart.
    assert.ok((await store.enforceRetention()) > 0, 'retention removed old segments on the full disk');
    const logStart = store.logStartOffset();
    const kept = acked.filter((b) => baseOffsetOf(b) >= logStart);
    const after = makeBatch({ records: 2, payloadBytes: 16 * 1024, fill: 7 });
    assert.equal((await store.append([after])).baseOffset, acked.length * 4, 'offsets continue after the refusals');
    kept.push(Buffer.from(after));
    assert.deepEqual(await readAll(store), kept);
    await store.close();

    store = await openStore(dataDir, config);
    assert.deepEqual(await readAll(store), kept, 'a reopen recovers everything acknowledged and not removed by retention');
  });
});
