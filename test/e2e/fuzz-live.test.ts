// Decoder fuzzing against a live node: thousands of random and mutated
// request frames (seeded from the real client's captured frames: bit flips,
// truncation, huge length and count fields, inserted and deleted bytes,
// random bytes), over fresh and reused connections, to both the SC and the
// SPU. The node must never crash (it runs in this process: an uncaught
// exception or unhandled rejection fails the file), never hang (the event
// loop stays responsive, a well-behaved client is answered throughout), never
// fail internally (no handler error is logged), and leave no connection or
// stream behind. Seeded: a failure reproduces with FRESHET_FUZZ_SEED.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import * as p from '../../src/protocol/index.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { connectFluvio, Offset, take } from '../helpers/fluvio.js';
import { int, loadFrames, mutate, pick, prng, randomBytes, type Random } from '../unit/protocol/helpers.js';
import { RawClient, apiVersions, assertScServes, assertSpuServes, encodeProduceBody, frameOf, requestFrame, PRODUCE_VERSION } from '../helpers/raw-client.js';

const SEED = Number(process.env.FRESHET_FUZZ_SEED ?? 0x5eed_f00d);
const CASES = Number(process.env.FRESHET_FUZZ_CASES ?? 3_000);
const BUDGET_MS = 25_000;
const WORKERS = 8;
/** How long a case waits for a response or a close before moving on. */
const SETTLE_MS = 25;

type Side = 'sc' | 'spu';

let node: Awaited<ReturnType<typeof startTestNode>>;
const logLines: string[] = [];

before(async () => {
  node = await startTestNode({
    limits: { ...DEFAULT_LIMITS, maxFrameBytes: 1024 * 1024, handshakeTimeoutMs: 2_000 },
    storage: { flush: { kind: 'os' } },
    logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) }),
  });
  // The topics the captured frames name, so that mutated requests reach the handlers' depths.
  for (const name of ['demo', 'inj', 'fuzz-health']) {
    await node.topics.create({
      name,
      partitions: 1,
      replicationFactor: 1,
      ignoreRackAssignment: false,
      compression: 'any',
      createdAt: new Date().toISOString(),
    });
  }
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

interface Seed {
  side: Side;
  /** The frame body, without its length prefix. */
  body: Buffer;
}

/** Request frames the real client sent, plus a few made here (multi-entry produce, acks). */
function seeds(): Seed[] {
  const out: Seed[] = [];
  for (const frame of loadFrames()) {
    if (frame.dir !== 'req') continue;
    out.push({ side: frame.side, body: frame.bytes.subarray(4) });
  }
  const batch = (values: string[]) => p.encodeBatch(values.map((value) => ({ key: Buffer.from('k'), value: Buffer.from(value) })));
  out.push({
    side: 'spu',
    body: requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, 9, (w) =>
      encodeProduceBody(w, 'demo', [
        { partition: 0, records: Buffer.concat([batch(['a', 'b']), batch(['c'])]) },
        { partition: 0, records: p.encodeBatch([{ value: Buffer.from('gz'.repeat(50)) }], { compression: p.Compression.Gzip }) },
      ]),
    ).subarray(4),
  });
  return out;
}

/** What one fuzz case sends: mostly a mutated seed with a correct length prefix, sometimes raw noise. */
function makeCase(random: Random, pool: readonly Seed[]): { side: Side; bytes: Buffer } {
  const seed = pick(random, pool);
  const roll = random();
  if (roll < 0.7) {
    let body = mutate(random, seed.body);
    if (random() < 0.3) body = mutate(random, body);
    return { side: seed.side, bytes: frameOf(body) };
  }
  if (roll < 0.85) {
    // The whole frame mutated, length prefix included: split or runaway frames.
    return { side: seed.side, bytes: mutate(random, frameOf(seed.body)) };
  }
  if (roll < 0.95) {
    // A valid header for a served key, then random bytes.
    const apiKey = pick(random, seed.side === 'sc' ? [18, 1001, 1002, 1003, 1004] : [18, 0, 1002, 1003, 1005]);
    const header = new p.Writer();
    p.encodeRequestHeader(header, { apiKey, apiVersion: int(random, 30), correlationId: int(random, 1000), clientId: 'fuzz' });
    return { side: seed.side, bytes: frameOf(Buffer.concat([header.finish(), randomBytes(random, int(random, 200))])) };
  }
  return { side: seed.side, bytes: randomBytes(random, 1 + int(random, 300)) };
}

/** Sends `bytes`, then waits until a response arrives, the server closes, or SETTLE_MS pass. */
async function settle(client: RawClient, bytes: Buffer): Promise<void> {
  const responsesBefore = client.unexpected.length;
  client.sendRaw(bytes);
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline && !client.isClosed && client.unexpected.length === responsesBefore) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  // Keep only a few responses around: they are not checked, and a stream may send many.
  if (client.unexpected.length > 100) client.unexpected.splice(0);
}

test(`live decoder fuzz: ${CASES} random and mutated frames (seed ${SEED})`, async () => {
  const random = prng(SEED);
  const pool = seeds();
  const cases = Array.from({ length: CASES }, () => makeCase(random, pool));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const started = Date.now();
  const outcome = { sent: 0, closedByServer: 0, freshConnections: 0, healthChecks: 0 };
  const live = new Set<RawClient>();
  let nextCase = 0;

  const connect = async (side: Side) => {
    const client = await RawClient.connect(side === 'sc' ? node.scPort : node.spuPort);
    live.add(client);
    void client.closed.then(() => live.delete(client));
    outcome.freshConnections++;
    return client;
  };

  const worker = async (index: number) => {
    // Even workers open a connection per case; odd ones keep one per side (handshaken) and reconnect when it is closed.
    const reused: Partial<Record<Side, RawClient>> = {};
    while (nextCase < cases.length && Date.now() - started < BUDGET_MS) {
      const { side, bytes } = cases[nextCase++];
      let client: RawClient;
      if (index % 2 === 0) {
        client = await connect(side);
      } else {
        let existing = reused[side];
        if (!existing || existing.isClosed) {
          existing = await connect(side);
          await apiVersions(existing);
          reused[side] = existing;
        }
        client = existing;
      }
      await settle(client, bytes);
      outcome.sent++;
      if (client.isClosed) outcome.closedByServer++;
      if (index % 2 === 0 && !client.isClosed) await client.close();
    }
    for (const client of Object.values(reused)) await client?.close();
  };

  // A well-behaved client is answered throughout the run.
  let fuzzing = true;
  const prober = (async () => {
    while (fuzzing) {
      await assertScServes(node.scPort);
      await assertSpuServes(node.spuPort, 'fuzz-health');
      outcome.healthChecks++;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();

  try {
    await Promise.all(Array.from({ length: WORKERS }, (_, index) => worker(index)));
  } finally {
    fuzzing = false;
    await prober;
    await Promise.all([...live].map((client) => client.close()));
  }
  loop.disable();
  const elapsed = Date.now() - started;
  console.log(
    'live fuzz:',
    JSON.stringify({ seed: SEED, elapsedMs: elapsed, ...outcome, maxEventLoopDelayMs: Math.round(loop.max / 1e6) }),
  );

  assert.ok(outcome.sent >= Math.min(CASES, 1_000), `only ${outcome.sent} cases ran within the budget`);
  assert.ok(outcome.closedByServer > outcome.sent / 4, 'most malformed frames should close their connection');
  assert.ok(outcome.healthChecks >= 2, 'the well-behaved client was checked during the run');
  assert.ok(loop.max / 1e6 < 5_000, `the event loop stalled for ${Math.round(loop.max / 1e6)} ms`);

  // No internal failure: every refusal was a protocol refusal, not a handler crash.
  const failures = logLines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
  assert.deepEqual(failures, [], 'the node logged errors while being fuzzed');

  // Nothing left behind.
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const stats = node.stats();
    if (stats.scConnections === 0 && stats.spuConnections === 0 && stats.streamFetches === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(node.stats(), { scConnections: 0, spuConnections: 0, streamFetches: 0, queuedResponseBytes: 0 });
});

test('after the fuzz, raw clients and the real @fluvio/client still produce and consume', async () => {
  await assertScServes(node.scPort, 'fuzz-health');
  await assertSpuServes(node.spuPort, 'fuzz-health');
  const fluvio = await connectFluvio(node.endpoint);
  const admin = await fluvio.admin();
  await admin.createTopic('after-fuzz', { partitions: 1, replicationFactor: 1, ignoreRackAssignment: false });
  const producer = await fluvio.topicProducer('after-fuzz');
  await producer.sendAll([
    ['a', '1'],
    ['b', '2'],
    ['c', '3'],
  ]);
  await producer.flush();
  const consumer = await fluvio.partitionConsumer('after-fuzz', 0);
  const records = await take(await consumer.createStream(new Offset({ index: 0, from: 'beginning' })), 3);
  assert.deepEqual(
    records.map((record) => [record.keyString(), record.valueString()]),
    [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ],
  );
});
