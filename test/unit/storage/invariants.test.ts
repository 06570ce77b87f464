import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';

import { StorageError } from '../../../src/storage/index.js';
import { makeBatch, openStore, partitionDir, readAll, storeFixture } from './helpers.js';

describe('storage invariants on the hot path', () => {
  const fx = storeFixture();

  it('a buffer given twice in one append breaks offset contiguity: the append fails loudly, the partition stops, nothing is lost', async () => {
    fx.store = await openStore(fx.dataDir);
    const first = makeBatch({ records: 2, fill: 1 });
    await fx.store.append([first]);
    const twice = makeBatch({ records: 1, fill: 2 });
    await assert.rejects(fx.store.append([twice, twice]), (err: Error) => {
      assert.ok(err instanceof assert.AssertionError, `an AssertionError, got ${err.name}`);
      assert.match(err.message, /partition events-0: invariant broken: batch to write has base_offset 3, expected 2/);
      return true;
    });
    assert.equal(fx.store.failed()?.code, 'PARTITION_FAILED');
    assert.equal(fx.store.highWatermark(), 2, 'nothing of the broken group was acknowledged');
    await assert.rejects(fx.store.append([makeBatch()]), (err: StorageError) => err.code === 'PARTITION_FAILED');
    await fx.store.close();

    fx.store = await openStore(fx.dataDir);
    assert.deepEqual(await readAll(fx.store), [first]);
    assert.deepEqual(await fx.store.append([makeBatch({ records: 1 })]), { baseOffset: 2, lastOffset: 2 });
  });

  it('refuses an uncompressed batch whose record count disagrees with last_offset_delta', async () => {
    fx.store = await openStore(fx.dataDir);
    const lying = makeBatch({ records: 3 });
    lying.writeInt32BE(2, 57);
    await assert.rejects(fx.store.append([lying]), (err: StorageError) => {
      assert.equal(err.code, 'INVALID_BATCH');
      assert.match(err.message, /holds 2 record\(s\) but last_offset_delta says 3/);
      return true;
    });
    const countless = makeBatch({ payloadBytes: 2 });
    await assert.rejects(fx.store.append([countless]), /no record count/);
    const compressed = makeBatch({ records: 3 });
    compressed.writeInt16BE(1, 21);
    compressed.writeInt32BE(0, 57);
    assert.deepEqual(await fx.store.append([compressed]), { baseOffset: 0, lastOffset: 2 }, 'a compressed count is not read');
  });

  it('a read never returns offsets beyond the high watermark, even when the stored bytes say so', async () => {
    fx.store = await openStore(fx.dataDir);
    const batches = [makeBatch(), makeBatch(), makeBatch()];
    await fx.store.append(batches);
    // Damage the last committed batch's last_offset_delta on disk (reads do not check CRCs).
    const log = path.join(partitionDir(fx.dataDir), '00000000000000000000.log');
    const fh = await fs.open(log, 'r+');
    const delta = Buffer.alloc(4);
    delta.writeInt32BE(5);
    await fh.write(delta, 0, 4, batches[0].length * 2 + 23);
    await fh.close();
    await assert.rejects(fx.store.read(2, 1 << 20), (err: Error) => {
      assert.ok(err instanceof assert.AssertionError, `an AssertionError, got ${err.name}`);
      assert.match(err.message, /partition events-0: invariant broken: read would return offsets up to 7, beyond the high watermark 3/);
      return true;
    });
  });
});
