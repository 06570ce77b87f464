import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';

import { FilePartitionStore, type ReadResult } from '../../../src/storage/index.js';
import {
  baseOffsetOf,
  capturingLogger,
  makeBatch,
  openStore,
  partitionDir,
  readAll,
  segmentFiles,
  storeFixture,
} from './helpers.js';

describe('recovery on open', () => {
  const fx = storeFixture();

  const cfg = { segmentSize: 4096, maxPartitionSize: 1 << 30, indexIntervalBytes: 256 };

  /** Writes `count` batches of 3 records each and closes; returns their sizes. */
  async function writeAndClose(count: number, config = cfg): Promise<number[]> {
    const s = await openStore(fx.dataDir, config);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      const b = makeBatch({ records: 3, payloadBytes: 50 + i, fill: i });
      sizes.push(b.length);
      await s.append([b]);
    }
    await s.close();
    return sizes;
  }

  async function lastLogFile(): Promise<string> {
    const logs = (await segmentFiles(fx.dataDir)).filter((f) => f.endsWith('.log'));
    return path.join(partitionDir(fx.dataDir), logs[logs.length - 1]);
  }

  async function reopenExpecting(hw: number, expectWarning: boolean): Promise<FilePartitionStore> {
    const cap = capturingLogger();
    const s = await openStore(fx.dataDir, cfg, { logger: cap.logger });
    assert.equal(s.highWatermark(), hw);
    const warned = cap.lines.some((l) => l.level === 40 && String(l.msg).includes('truncating'));
    assert.equal(warned, expectWarning, JSON.stringify(cap.lines));
    return s;
  }

  async function checkContinues(s: FilePartitionStore, hw: number): Promise<void> {
    const back = await readAll(s);
    assert.equal(back.length, hw / 3);
    back.forEach((b, i) => {
      assert.equal(baseOffsetOf(b), i * 3);
      assert.equal(b[70], i);
    });
    assert.deepEqual(await s.append([makeBatch({ records: 2, fill: 0xee })]), { baseOffset: hw, lastOffset: hw + 1 });
    const r = await s.read(hw, 1000);
    assert.equal(baseOffsetOf(r.chunks[0]), hw);
    assert.equal(r.chunks[0][70], 0xee);
  }

  it('a clean reopen logs no warning', async () => {
    await writeAndClose(10);
    fx.store = await reopenExpecting(30, false);
    await checkContinues(fx.store, 30);
  });

  it('a file truncated mid-batch is cut back to the last whole batch', async () => {
    const sizes = await writeAndClose(5);
    const file = await lastLogFile();
    const full = sizes.reduce((a, b) => a + b, 0);
    await fs.truncate(file, full - 10);
    fx.store = await reopenExpecting(12, true);
    assert.equal((await fs.stat(file)).size, full - sizes[4]);
    await checkContinues(fx.store, 12);
  });

  it('a torn header (fewer bytes than a header) is cut', async () => {
    const sizes = await writeAndClose(5);
    const file = await lastLogFile();
    const full = sizes.reduce((a, b) => a + b, 0);
    await fs.truncate(file, full - sizes[4] + 20);
    fx.store = await reopenExpecting(12, true);
    await checkContinues(fx.store, 12);
  });

  it('garbage appended at the end is cut', async () => {
    await writeAndClose(6);
    const file = await lastLogFile();
    const before = (await fs.stat(file)).size;
    await fs.appendFile(file, Buffer.from('this is not a record batch at all, just junk bytes from a crash...........'));
    fx.store = await reopenExpecting(18, true);
    assert.equal((await fs.stat(file)).size, before);
    await checkContinues(fx.store, 18);
  });

  it('zeros appended at the end (preallocated, never written) are cut', async () => {
    await writeAndClose(6);
    const file = await lastLogFile();
    await fs.appendFile(file, Buffer.alloc(4096));
    fx.store = await reopenExpecting(18, true);
    await checkContinues(fx.store, 18);
  });

  it('a flipped byte in the last batch (CRC mismatch) drops that batch', async () => {
    const sizes = await writeAndClose(6);
    const file = await lastLogFile();
    const full = sizes.reduce((a, b) => a + b, 0);
    const fh = await fs.open(file, 'r+');
    const pos = full - 5; // inside the last batch's records
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, pos);
    one[0] ^= 0x40;
    await fh.write(one, 0, 1, pos);
    await fh.close();
    fx.store = await reopenExpecting(15, true);
    assert.equal((await fs.stat(file)).size, full - sizes[5]);
    await checkContinues(fx.store, 15);
  });

  it('a batch whose base offset does not follow the previous one is corruption', async () => {
    const sizes = await writeAndClose(6);
    const file = await lastLogFile();
    const start = sizes.slice(0, 4).reduce((a, b) => a + b, 0); // batch 4
    const fh = await fs.open(file, 'r+');
    const off = Buffer.alloc(8);
    off.writeBigInt64BE(999n);
    await fh.write(off, 0, 8, start);
    await fh.close();
    fx.store = await reopenExpecting(12, true);
    await checkContinues(fx.store, 12);
  });

  it('an entirely broken last segment is removed and the previous one becomes active', async () => {
    await writeAndClose(60, cfg); // several segments
    const s0 = await openStore(fx.dataDir, cfg);
    const segs = s0.segmentBaseOffsets();
    await s0.close();
    assert.ok(segs.length >= 3);
    const last = segs[segs.length - 1];
    await fs.truncate(await lastLogFile(), 30);
    fx.store = await reopenExpecting(last, true);
    assert.deepEqual(fx.store.segmentBaseOffsets(), segs.slice(0, -1));
    await checkContinues(fx.store, last);
  });

  it('a missing .index is rebuilt (closed and active segments) and reads still work', async () => {
    await writeAndClose(60);
    const dir = partitionDir(fx.dataDir);
    const before = new Map<string, Buffer>();
    for (const f of await segmentFiles(fx.dataDir)) {
      if (f.endsWith('.index')) before.set(f, await fs.readFile(path.join(dir, f)));
    }
    assert.ok(before.size >= 3);
    const names = [...before.keys()];
    await fs.unlink(path.join(dir, names[0]));
    await fs.unlink(path.join(dir, names[names.length - 1]));
    fx.store = await openStore(fx.dataDir, cfg);
    for (const [name, content] of before) {
      assert.deepEqual(await fs.readFile(path.join(dir, name)), content, `${name} rebuilt identically`);
    }
    await checkContinues(fx.store, 180);
  });

  it('a stale or damaged index is detected and rebuilt', async () => {
    await writeAndClose(60);
    const dir = partitionDir(fx.dataDir);
    const names = (await segmentFiles(fx.dataDir)).filter((f) => f.endsWith('.index'));
    const first = path.join(dir, names[0]);
    const good = await fs.readFile(first);
    assert.ok(good.length >= 16);
    // Plausible-looking but wrong: positions shifted so they point mid-batch.
    const bad = Buffer.from(good);
    for (let i = 0; i < bad.length; i += 8) bad.writeUInt32BE(bad.readUInt32BE(i + 4) + 3, i + 4);
    await fs.writeFile(first, bad);
    // Active segment's index stale (as after a crash): fewer entries.
    const activeIdx = path.join(dir, names[names.length - 1]);
    const activeGood = await fs.readFile(activeIdx);
    await fs.writeFile(activeIdx, activeGood.subarray(0, Math.max(0, activeGood.length - 8)));

    const cap = capturingLogger();
    fx.store = await openStore(fx.dataDir, cfg, { logger: cap.logger });
    for (let off = 0; off < 180; off++) {
      const r: ReadResult = await fx.store.read(off, 1);
      assert.equal(baseOffsetOf(r.chunks[0]), off - (off % 3));
    }
    await checkContinues(fx.store, 180);
    assert.deepEqual(await fs.readFile(first), good);
    assert.ok(cap.lines.some((l) => String(l.msg).includes('discarding segment index')));
  });

  it('batches larger than the scan chunk are CRC-checked in pieces', async () => {
    const s = await openStore(fx.dataDir, cfg);
    const small = makeBatch({ records: 3, fill: 0 });
    const big1 = makeBatch({ records: 3, payloadBytes: 1_500_000, fill: 1 });
    const big2 = makeBatch({ records: 3, payloadBytes: 2_500_000, fill: 2 });
    await s.append([small]);
    await s.append([big1]);
    await s.append([big2]);
    await s.close();
    fx.store = await reopenExpecting(9, false);
    assert.deepEqual((await fx.store.read(3, 10)).chunks[0], big1);
    await fx.store.close();
    // Each big batch has its own segment (segmentSize 4096). Damage the middle of the last one:
    // that segment becomes empty, is removed, and big1's segment is active again.
    const file = await lastLogFile();
    assert.equal((await fs.stat(file)).size, big2.length);
    const fh = await fs.open(file, 'r+');
    await fh.write(Buffer.from([0x55, 0x55]), 0, 2, 2_000_000);
    await fh.close();
    fx.store = await reopenExpecting(6, true);
    await assert.rejects(fs.stat(file), { code: 'ENOENT' });
    assert.deepEqual((await fx.store.read(3, 10)).chunks[0], big1);
    assert.deepEqual(await fx.store.append([makeBatch({ records: 3 })]), { baseOffset: 6, lastOffset: 8 });
  });

  it('orphan index files without a log are removed', async () => {
    await writeAndClose(3);
    const orphan = path.join(partitionDir(fx.dataDir), '00000000000000099999.index');
    await fs.writeFile(orphan, Buffer.alloc(8));
    fx.store = await openStore(fx.dataDir, cfg);
    await assert.rejects(fs.stat(orphan), { code: 'ENOENT' });
    assert.equal(fx.store.highWatermark(), 9);
  });
});
