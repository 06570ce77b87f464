// The node-wide budget of request bytes held in memory: connections that
// would pass it stop reading (no error) until requests are answered, a
// request larger than what is left still goes through, and everyone
// completes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../src/protocol/index.js';
import { RawClient, encodeProduceBody, PRODUCE_VERSION, requestFrame } from '../helpers/raw-client.js';
import { gate, startTestSpu } from '../helpers/spu.js';

const BUDGET = 256 * 1024;
/** What one socket read can bring past the budget on a connection that was reading (Node reads 64 KiB at most). */
const SOCKET_READ = 64 * 1024;
const FRAME_TIMEOUT_MS = 200;

function produceFrame(client: RawClient, topic: string, valueBytes: number): Buffer {
  const batch = p.encodeBatch([{ key: null, value: Buffer.alloc(valueBytes, 0x61) }]);
  return requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, client.allocateCorrelationId(), (w) =>
    encodeProduceBody(w, topic, [{ partition: 0, records: batch }]),
  );
}

function baseOffsetOf(response: { body: p.Reader }): number {
  const partition = p.decodeProduceResponse(response.body, PRODUCE_VERSION).responses[0].partitions[0];
  assert.equal(partition.errorCode.code, p.ErrorCode.None);
  return partition.baseOffset;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('connections past the node budget stop reading until appends release bytes; the budget holds and everyone completes', async () => {
  let holdWrites = true;
  const writes = gate();
  const spu = await startTestSpu({
    // A short frame timeout: it must not run while the budget holds a connection's reading back.
    limits: { maxNodeInFlightRequestBytes: BUDGET, frameTimeoutMs: FRAME_TIMEOUT_MS },
    storageHooks: {
      async beforeWrite() {
        if (holdWrites) await writes.promise;
      },
    },
  });
  const clients = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(spu.port)));
  try {
    await spu.createTopic('budgeted');
    const budget = spu.listener.budget;
    // Six connections, ten 40 KiB requests each: 2.4 MiB against a 256 KiB budget.
    const answers = clients.flatMap((client) => Array.from({ length: 10 }, () => client.requestRaw(produceFrame(client, 'budgeted', 40 * 1024), 30_000)));
    await until(() => budget.waitingReaders > 0 && budget.heldBytes >= BUDGET, 'connections to wait for the budget');
    assert.ok(budget.peakHeldBytes <= BUDGET + clients.length * SOCKET_READ, `held ${budget.peakHeldBytes} bytes at most`);
    await new Promise((resolve) => setTimeout(resolve, 3 * FRAME_TIMEOUT_MS));
    assert.deepEqual(clients.map((client) => client.isClosed), clients.map(() => false), 'held back, not stalled: nobody is closed');
    holdWrites = false;
    writes.open();
    const offsets = (await Promise.all(answers)).map(baseOffsetOf);
    assert.deepEqual([...offsets].sort((a, b) => a - b), [...offsets.keys()]);
    assert.ok(budget.peakHeldBytes <= BUDGET + clients.length * SOCKET_READ, `held ${budget.peakHeldBytes} bytes at most`);
    await until(() => budget.heldBytes === 0, 'every byte released');
    assert.equal(budget.waitingReaders, 0);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await spu.stop();
  }
});

test('a request larger than the whole budget goes through; so do two partial frames that together pass it', async () => {
  const spu = await startTestSpu({ limits: { maxNodeInFlightRequestBytes: BUDGET } });
  const [first, second] = await Promise.all([RawClient.connect(spu.port), RawClient.connect(spu.port)]);
  try {
    await spu.createTopic('large');
    const budget = spu.listener.budget;
    assert.equal(baseOffsetOf(await first.requestRaw(produceFrame(first, 'large', 4 * BUDGET))), 0);

    // Half of each frame, then the rest: only partial frames are held when the budget is spent.
    const frames = [produceFrame(first, 'large', (BUDGET * 3) / 4), produceFrame(second, 'large', (BUDGET * 3) / 4)];
    const answers = [first.response(frames[0].readInt32BE(8), 30_000), second.response(frames[1].readInt32BE(8), 30_000)];
    const half = frames[0].length >> 1;
    first.sendRaw(frames[0].subarray(0, half));
    second.sendRaw(frames[1].subarray(0, half));
    await until(() => budget.heldBytes === 2 * half, 'both halves to arrive');
    first.sendRaw(frames[0].subarray(half));
    second.sendRaw(frames[1].subarray(half));
    assert.deepEqual((await Promise.all(answers)).map(baseOffsetOf).sort(), [1, 2]);
    await until(() => budget.heldBytes === 0, 'every byte released');
  } finally {
    await first.close();
    await second.close();
    await spu.stop();
  }
});

test('the bytes of a connection that goes away mid-frame, or is closed for stalling, are released', async () => {
  const spu = await startTestSpu({ limits: { maxNodeInFlightRequestBytes: BUDGET, frameTimeoutMs: FRAME_TIMEOUT_MS } });
  const [leaving, stalling] = await Promise.all([RawClient.connect(spu.port), RawClient.connect(spu.port)]);
  try {
    await spu.createTopic('gone');
    const budget = spu.listener.budget;
    for (const client of [leaving, stalling]) client.sendRaw(produceFrame(client, 'gone', 100 * 1024).subarray(0, 50 * 1024));
    await until(() => budget.heldBytes === 100 * 1024, 'both partial frames to arrive');
    await leaving.close();
    assert.ok(await stalling.closedWithin(FRAME_TIMEOUT_MS + 5_000), 'the stalled connection is closed');
    await until(() => budget.heldBytes === 0, 'every byte released');
  } finally {
    await stalling.close();
    await spu.stop();
  }
});
