/** Test helpers for storage: batch builder, temp dirs, loggers. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { pino } from 'pino';

import { FilePartitionStore, type StorageConfig, type StorageHooks, type StorageLogger } from '../../../src/storage/index.js';

export interface BatchSpec {
  /** number of records claimed by the header (last_offset_delta + 1) */
  records?: number;
  /** bytes of opaque record payload after the 57-byte header */
  payloadBytes?: number;
  /** first_timestamp and max_time_stamp (ms) */
  timestamp?: number;
  /** byte used to fill the payload (to tell batches apart) */
  fill?: number;
}

/**
 * A stored-format record batch with a valid CRC-32C. The records area is
 * opaque filler (storage never decodes records). base_offset is 0.
 */
export function makeBatch(spec: BatchSpec = {}): Buffer {
  const records = spec.records ?? 1;
  const payload = spec.payloadBytes ?? 16;
  const ts = spec.timestamp ?? Date.now();
  const buf = Buffer.alloc(57 + payload);
  buf.writeBigInt64BE(0n, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(0, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(0, 21);
  buf.writeInt32BE(records - 1, 23);
  buf.writeBigInt64BE(BigInt(ts), 27);
  buf.writeBigInt64BE(BigInt(ts), 35);
  buf.writeBigInt64BE(-1n, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.fill(spec.fill ?? 0xab, 57);
  if (payload >= 4) buf.writeInt32BE(records, 57);
  buf.writeUInt32BE(crc32c(buf.subarray(21)) >>> 0, 17);
  return buf;
}

export function baseOffsetOf(batch: Buffer): number {
  return Number(batch.readBigInt64BE(0));
}

export function lastOffsetOf(batch: Buffer): number {
  return baseOffsetOf(batch) + batch.readInt32BE(23);
}

export async function makeTmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'freshet-storage-'));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

export const silentLogger: StorageLogger = pino({ level: 'silent' });

/** A logger that records every line (as parsed JSON) at warn level and above. */
export function capturingLogger(): { logger: StorageLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

export const TOPIC = 'events';
export const PARTITION = 0;

export function partitionDir(dataDir: string): string {
  return path.join(dataDir, `${TOPIC}-${PARTITION}`);
}

export function openStore(
  dataDir: string,
  config: Partial<StorageConfig> = {},
  opts: { logger?: StorageLogger; hooks?: StorageHooks } = {},
): Promise<FilePartitionStore> {
  return FilePartitionStore.open(
    dataDir,
    TOPIC,
    PARTITION,
    { retentionCheckIntervalMs: 0, ...config },
    opts.logger ?? silentLogger,
    opts.hooks,
  );
}

/** Reads everything from `from` to the high watermark, returning the batches. */
export async function readAll(store: FilePartitionStore, from = store.logStartOffset()): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = from;
  while (offset < store.highWatermark()) {
    const r = await store.read(offset, 64 * 1024);
    if (r.chunks.length === 0) break;
    out.push(...r.chunks);
    offset = lastOffsetOf(r.chunks[r.chunks.length - 1]) + 1;
  }
  return out;
}

export async function segmentFiles(dataDir: string): Promise<string[]> {
  return (await fs.readdir(partitionDir(dataDir))).sort();
}

/** What `storeFixture` hands each test: its data dir, and the store it opened (closed for it afterwards). */
export interface StoreFixture {
  dataDir: string;
  store: FilePartitionStore | undefined;
}

/**
 * Registers, in the enclosing `describe`, a fresh temp data dir before each
 * test and, after it, closes the store the test left in `store` and removes
 * the dir.
 */
export function storeFixture(): StoreFixture {
  const fx: StoreFixture = { dataDir: '', store: undefined };
  beforeEach(async () => {
    fx.dataDir = await makeTmpDir();
  });
  afterEach(async () => {
    await fx.store?.close();
    fx.store = undefined;
    await removeDir(fx.dataDir);
  });
  return fx;
}
