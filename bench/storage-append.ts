/**
 * Append/read micro-benchmark of FilePartitionStore per flush policy.
 *   npx tsx bench/storage-append.ts [batchBytes=1024] [producers=64]
 * Uses a temp dir under os.tmpdir(); numbers depend on the disk's fsync cost.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { pino } from 'pino';

import { FilePartitionStore, type FlushPolicy } from '../src/storage/index.js';

const batchBytes = Number(process.argv[2] ?? 1024);
const producers = Number(process.argv[3] ?? 64);

function batch(): Buffer {
  const buf = Buffer.alloc(batchBytes);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt8(2, 16);
  buf.writeInt32BE(0, 23);
  buf.writeInt32BE(1, 57);
  buf.writeBigInt64BE(BigInt(Date.now()), 27);
  buf.writeBigInt64BE(BigInt(Date.now()), 35);
  buf.writeUInt32BE(crc32c(buf.subarray(21)) >>> 0, 17);
  return buf;
}

async function run(policy: FlushPolicy): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'freshet-bench-'));
  const store = await FilePartitionStore.open(dir, 'bench', 0, { flush: policy, retentionCheckIntervalMs: 0 }, pino({ level: 'silent' }));
  try {
    // 1) one producer, one batch per append, waiting for each
    const seqN = policy.kind === 'always' ? 2000 : 20000;
    let t = performance.now();
    for (let i = 0; i < seqN; i++) await store.append([batch()]);
    const seqMs = performance.now() - t;

    // 2) many producers, each waiting for its own append (closed loop)
    const perProducer = 300;
    const before = store.stats();
    t = performance.now();
    await Promise.all(
      Array.from({ length: producers }, async () => {
        for (let i = 0; i < perProducer; i++) await store.append([batch()]);
      }),
    );
    const conMs = performance.now() - t;
    const after = store.stats();
    const conN = producers * perProducer;

    // 3) read everything back in 1 MiB reads
    t = performance.now();
    let offset = 0;
    let bytes = 0;
    while (offset < store.highWatermark()) {
      const r = await store.read(offset, 1 << 20);
      bytes += r.bytes;
      offset = Number(r.chunks[r.chunks.length - 1].readBigInt64BE(0)) + 1;
    }
    const readMs = performance.now() - t;

    console.log(
      `${policy.kind.padEnd(8)} sequential: ${Math.round(seqN / (seqMs / 1000))} appends/s (${(seqMs / seqN).toFixed(3)} ms each) | ` +
        `${producers} producers: ${Math.round(conN / (conMs / 1000))} appends/s, ${after.fsyncs - before.fsyncs} fsyncs for ${conN} appends ` +
        `(${after.groups - before.groups} groups) | read ${(bytes / 1e6 / (readMs / 1000)).toFixed(0)} MB/s`,
    );
  } finally {
    await store.delete();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

console.log(`batch ${batchBytes} bytes, tmpdir ${os.tmpdir()}`);
await run({ kind: 'always' });
await run({ kind: 'interval', intervalMs: 100 });
await run({ kind: 'os' });
