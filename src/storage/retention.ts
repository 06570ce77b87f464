/**
 * Retention: removes closed segments from the oldest, first while their
 * newest batch timestamp is older than retentionMs, then while the partition
 * is larger than maxPartitionSize. The active segment is never removed. The
 * caller holds the partition's mutation lock.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';

import { NO_TIMESTAMP } from '../protocol/index.js';
import type { StorageStats } from './io.js';
import { writeCacheFile, type PartitionEnv } from './partition-env.js';
import { rebuildSegmentIndex } from './recovery.js';
import { TIME_INDEX_ENTRY_SIZE, type Segment } from './segment.js';
import type { SegmentSet } from './segment-set.js';

/** Returns the number of segments removed. */
export async function enforceRetention(
  env: PartitionEnv,
  segments: SegmentSet,
  stats: StorageStats,
  now: number,
): Promise<number> {
  let removed = 0;
  if (Number.isFinite(env.config.retentionMs)) {
    const cutoff = now - env.config.retentionMs;
    while (segments.count > 1) {
      const newest = await newestTimestamp(env, segments, segments.at(0));
      if (newest >= cutoff) break;
      await removeOldestSegment(env, segments, stats, `time (newest timestamp ${newest} older than ${cutoff})`);
      removed++;
    }
  }
  while (segments.count > 1 && segments.committedBytes > env.config.maxPartitionSize) {
    await removeOldestSegment(env, segments, stats, `size (${segments.committedBytes} > ${env.config.maxPartitionSize} bytes)`);
    removed++;
  }
  return removed;
}

/** Newest batch timestamp of a closed segment; the file mtime when batches carry no timestamps. */
async function newestTimestamp(env: PartitionEnv, segments: SegmentSet, seg: Segment): Promise<number> {
  if (seg.maxTimestamp === undefined) {
    const buf = await fs.readFile(seg.timeIndexPath).catch(() => undefined);
    if (buf !== undefined && buf.length === TIME_INDEX_ENTRY_SIZE && buf.readUInt32BE(8) < seg.nextOffset - seg.baseOffset) {
      seg.maxTimestamp = Number(buf.readBigInt64BE(0));
      seg.maxTimestampRel = buf.readUInt32BE(8);
    } else {
      segments.pin(seg);
      try {
        await segments.ensureOpen(seg);
        if (seg.maxTimestamp === undefined) {
          assert.ok(seg.handle !== undefined);
          seg.index = await rebuildSegmentIndex(env, seg, seg.handle);
        }
      } finally {
        segments.release(seg);
      }
      await writeCacheFile(env, seg.timeIndexPath, seg.timeIndexBuffer(), env.syncs);
    }
  }
  const ts = seg.maxTimestamp ?? NO_TIMESTAMP;
  if (ts >= 0) return ts;
  return (await fs.stat(seg.logPath)).mtimeMs;
}

async function removeOldestSegment(env: PartitionEnv, segments: SegmentSet, stats: StorageStats, reason: string): Promise<void> {
  const seg = segments.removeOldest();
  stats.segmentsDeleted++;
  env.log.info(
    { topic: env.topic, partition: env.partition, segment: seg.baseOffset, reason, logStartOffset: segments.logStartOffset() },
    'retention removed segment',
  );
  try {
    await segments.unlinkFiles(seg);
  } catch (err) {
    env.log.error({ err, segment: seg.logPath }, 'could not delete segment files');
  }
}
