// The SPU's hot-path invariants, against a store that breaks them (a fake: a
// real store does not lie): a stream never sends offsets past the high
// watermark, nor with a gap after what it sent; a produce is answered only
// with offsets the store numbered one after the other.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import * as p from '../../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../../src/server/limits.js';
import { TcpListener } from '../../../src/server/net/tcp-listener.js';
import { AppendOrder } from '../../../src/server/spu/append-order.js';
import type { ReplicaManager } from '../../../src/server/spu/replica-manager.js';
import { spuRouter } from '../../../src/server/spu/router.js';
import type { PartitionStore, ReadResult } from '../../../src/storage/index.js';
import { RawClient, produceValues, streamFetch } from '../../helpers/raw-client.js';


function batchAt(baseOffset: number, count: number): Buffer {
  const batch = p.encodeBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })));
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
  return batch;
}

/** A store whose reads return `batch` while it says its high watermark is `highWatermark`. */
function lyingStore(batch: Buffer, highWatermark: number, appended = { baseOffset: 0, lastOffset: 0 }): PartitionStore {
  return {
    topic: 'lies',
    partition: 0,
    logStartOffset: () => 0,
    highWatermark: () => highWatermark,
    sizeBytes: () => batch.length,
    append: async () => appended,
    read: async (): Promise<ReadResult> => ({ chunks: [batch], bytes: batch.length, logStartOffset: 0, highWatermark }),
    onAppend: () => () => {},
    close: async () => {},
  };
}

async function withSpu<T>(store: PartitionStore, use: (client: RawClient) => Promise<T>): Promise<{ result: T; logs: string[] }> {
  const logs: string[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void logs.push(line) });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'freshet-invariants-'));
  const replicas = Object.assign(new EventEmitter(), {
    dataDir,
    get: () => store,
    hasTopic: () => true,
    holds: () => true,
    compressionOf: () => 'any',
    definition: () => undefined,
    appendOrder: new AppendOrder(),
  }) as unknown as ReplicaManager;
  const listener = new TcpListener('spu', spuRouter({ replicas, limits: DEFAULT_LIMITS, log }), DEFAULT_LIMITS, log);
  const client = await RawClient.connect(await listener.listen('127.0.0.1', 0));
  try {
    return { result: await use(client), logs };
  } finally {
    if (!client.isClosed) await client.close();
    await listener.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function firstFrame(store: PartitionStore): Promise<{ frame: p.StreamFetchResponse; logs: string[] }> {
  const { result, logs } = await withSpu(store, (client) => new Promise<p.StreamFetchResponse>((resolve) => streamFetch(client, 'lies', 0, 0, resolve)));
  return { frame: result, logs };
}

test('a read that ends past the high watermark ends the stream with StorageError instead of sending it', async () => {
  const { frame, logs } = await firstFrame(lyingStore(batchAt(0, 5), 1));
  assert.equal(frame.partition.errorCode.code, p.ErrorCode.StorageError);
  assert.equal((frame.partition.records as Buffer[]).length, 0);
  assert.ok(logs.some((line) => /read offsets \[0, 5\) with the high watermark at 1/.test(line)), logs.join(''));
});

test('a read that skips offsets after what the stream sent ends it with StorageError', async () => {
  const { frame, logs } = await firstFrame(lyingStore(batchAt(3, 2), 5));
  assert.equal(frame.partition.errorCode.code, p.ErrorCode.StorageError);
  assert.ok(logs.some((line) => /at offset 0 read offsets \[3, 5\)/.test(line)), logs.join(''));
});

test('a truthful read is sent as it is', async () => {
  const { frame } = await firstFrame(lyingStore(batchAt(0, 5), 5));
  assert.equal(frame.partition.errorCode.code, p.ErrorCode.None);
  assert.equal(frame.partition.highWatermark, 5);
});

test('an append the store numbered otherwise than counted is not acknowledged: the connection closes, the reason logged', async () => {
  const { result: closed, logs } = await withSpu(lyingStore(batchAt(0, 1), 0, { baseOffset: 0, lastOffset: 7 }), async (client) => {
    await assert.rejects(produceValues(client, 'lies', 0, ['a', 'b', 'c', 'd', 'e']), /closed by the server/);
    return client.isClosed;
  });
  assert.equal(closed, true);
  assert.ok(logs.some((line) => /stored offsets 0\.\.7, counted 4/.test(line)), logs.join(''));
});
