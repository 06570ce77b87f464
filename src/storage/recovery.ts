/**
 * Opening a partition from what is on disk: the segment list, the tail scan
 * of the last segment (torn or corrupt bytes are cut at the last valid
 * batch), and index rebuilds from batch headers wherever an index file is
 * missing, malformed or stale.
 */
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';

import { isErrno, parseSegmentFileName } from './io.js';
import { writeCacheFile, type PartitionEnv } from './partition-env.js';
import { Segment } from './segment.js';
import { scanSegment } from './segment-scan.js';
import type { SegmentSet } from './segment-set.js';
import { IndexBuilder, SparseIndex } from './sparse-index.js';

/** Fills `segments` from the partition directory (creating it and a first segment when empty). */
export async function recoverPartition(env: PartitionEnv, segments: SegmentSet): Promise<void> {
  await env.io.mkdir(env.dir);
  const names = await fs.readdir(env.dir);
  const logs = new Set<number>();
  const others: Array<{ name: string; baseOffset: number }> = [];
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (parsed === undefined) continue;
    if (parsed.ext === 'log') logs.add(parsed.baseOffset);
    else others.push({ name, baseOffset: parsed.baseOffset });
  }
  // Index files without their log (a crash during retention): remove.
  for (const o of others) {
    if (!logs.has(o.baseOffset)) {
      env.log.info({ dir: env.dir, file: o.name }, 'removing orphan index file');
      await env.io.unlinkIfExists(path.join(env.dir, o.name));
    }
  }
  const bases = [...logs].sort((a, b) => a - b);
  if (bases.length === 0) {
    await segments.createActive(0);
    if (env.syncs) await env.io.fsyncDir(env.dir);
    return;
  }
  const found = bases.map((b) => new Segment(env.dir, b));
  for (let i = 0; i < found.length - 1; i++) {
    const seg = found[i];
    seg.nextOffset = found[i + 1].baseOffset;
    seg.size = seg.committedSize = (await fs.stat(seg.logPath)).size;
  }
  segments.adopt(found);
  await recoverTail(env, segments);
  // Closed segments: rebuild an index that is missing or obviously broken now;
  // deeper checks happen when the index is loaded for a read.
  for (let i = 0; i < segments.count - 1; i++) {
    const seg = segments.at(i);
    const st = await fs.stat(seg.indexPath).catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    });
    if (st === undefined || st.size % 8 !== 0) {
      env.log.warn({ dir: env.dir, segment: seg.baseOffset }, 'segment index missing or malformed; rebuilding');
      await segments.ensureOpen(seg);
    }
  }
  let bytes = 0;
  for (let i = 0; i < segments.count; i++) bytes += segments.at(i).committedSize;
  segments.committedBytes = bytes;
}

/**
 * Validates every batch (header, offsets, CRC) of the last segment and cuts a
 * torn or corrupt tail at the last valid batch. An empty last segment that is
 * not the only one is removed and the previous one recovered instead, so the
 * active segment is non-empty or alone.
 */
async function recoverTail(env: PartitionEnv, segments: SegmentSet): Promise<void> {
  for (;;) {
    const seg = segments.active;
    const handle = await fs.open(seg.logPath, 'r+');
    seg.handle = handle;
    const fileSize = (await handle.stat()).size;
    const index = new SparseIndex();
    const builder = new IndexBuilder(index, env.config.indexIntervalBytes);
    const result = await scanSegment({
      baseOffset: seg.baseOffset,
      fileSize,
      verifyCrc: true,
      read: (p, len) => env.io.readExactly(handle, seg.logPath, p, len),
      onBatch: (h, p) => builder.observe(h.baseOffset - seg.baseOffset, p),
    });
    if (result.problem !== undefined) {
      env.log.warn(
        {
          topic: env.topic,
          partition: env.partition,
          segment: seg.logPath,
          fileSize,
          validEnd: result.validEnd,
          droppedBytes: fileSize - result.validEnd,
          reason: result.problem,
        },
        'truncating corrupt or torn log tail at the last valid batch',
      );
      await env.io.truncate(handle, seg.logPath, result.validEnd);
      await env.io.fsync(handle, seg.logPath);
    } else if (env.syncs && fileSize > 0) {
      // The tail may hold a group that was written but not fsynced before a
      // crash; it is served from now on, so it must be durable first.
      await env.io.fsync(handle, seg.logPath);
    }
    if (result.validEnd === 0 && segments.count > 1) {
      env.log.info({ dir: env.dir, segment: seg.baseOffset }, 'removing empty last segment');
      await segments.closeNow(seg);
      segments.dropNewest();
      await segments.unlinkFiles(seg);
      if (env.syncs) await env.io.fsyncDir(env.dir);
      continue;
    }
    seg.size = seg.committedSize = result.validEnd;
    seg.nextOffset = result.nextOffset;
    seg.maxTimestamp = result.maxTimestamp;
    seg.maxTimestampRel = result.maxTimestampRel;
    seg.makeActive(index, env.config.indexIntervalBytes);
    const onDisk = await readIfExists(seg.indexPath);
    if (onDisk === undefined || !index.equalsBuffer(onDisk)) {
      if (onDisk !== undefined) {
        env.log.info({ dir: env.dir, segment: seg.baseOffset }, 'active segment index was stale; rebuilt');
      }
      await writeCacheFile(env, seg.indexPath, index.toBuffer(), env.syncs);
    }
    // A .timeindex of the active segment is stale by definition; it is rewritten at roll.
    await env.io.unlinkIfExists(seg.timeIndexPath);
    return;
  }
}

/** A closed segment's index from its file, rebuilt from the log when missing or invalid. */
export async function loadOrRebuildIndex(env: PartitionEnv, seg: Segment, fh: FileHandle): Promise<SparseIndex> {
  const buf = await readIfExists(seg.indexPath);
  const loaded = buf === undefined ? undefined : SparseIndex.fromBuffer(buf, seg.size, seg.nextOffset - seg.baseOffset);
  if (loaded !== undefined) return loaded;
  if (buf !== undefined) env.log.warn({ segment: seg.indexPath }, 'invalid segment index; rebuilding');
  return rebuildSegmentIndex(env, seg, fh);
}

/** Rebuilds a closed segment's index (and newest timestamp) from its batch headers, and rewrites the file. */
export async function rebuildSegmentIndex(env: PartitionEnv, seg: Segment, fh: FileHandle): Promise<SparseIndex> {
  const index = new SparseIndex();
  const builder = new IndexBuilder(index, env.config.indexIntervalBytes);
  const result = await scanSegment({
    baseOffset: seg.baseOffset,
    fileSize: seg.size,
    verifyCrc: false,
    read: (p, len) => env.io.readExactly(fh, seg.logPath, p, len),
    onBatch: (h, p) => builder.observe(h.baseOffset - seg.baseOffset, p),
  });
  if (result.problem !== undefined || result.nextOffset !== seg.nextOffset) {
    env.log.error(
      { segment: seg.logPath, problem: result.problem, scannedTo: result.nextOffset, expected: seg.nextOffset },
      'closed segment is inconsistent; reads past the damage will fail',
    );
  }
  if (seg.maxTimestamp === undefined) {
    seg.maxTimestamp = result.maxTimestamp;
    seg.maxTimestampRel = result.maxTimestampRel;
  }
  await writeCacheFile(env, seg.indexPath, index.toBuffer(), env.syncs);
  return index;
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}
