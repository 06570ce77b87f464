// Decoder fuzzing: random and mutated frames must either decode or fail with
// DecodeError / BatchError; never another exception, never a hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../../src/protocol/index.js';
import { codecFor, int, loadFrames, mutate, pick, prng, randomBytes, SC_CODECS, SPU_CODECS, type MessageCodec } from './helpers.js';

const frames = loadFrames();
const SLOW_MS = 2_000; // a hang detector, not a speed test: generous for a loaded CI machine

let slowest = 0;

/** Runs `decode`; only DecodeError (BatchError included) may escape it. A decoded value must re-encode. */
function expectDecodeOrDecodeError(what: string, input: Buffer, decode: () => unknown, reencode?: (value: unknown) => void): void {
  const start = performance.now();
  let value: unknown;
  try {
    value = decode();
  } catch (err) {
    if (!(err instanceof p.DecodeError)) {
      assert.fail(`${what} threw ${(err as Error)?.name}: ${(err as Error)?.message} for input ${input.toString('hex')}`);
    }
    return;
  } finally {
    const elapsed = performance.now() - start;
    slowest = Math.max(slowest, elapsed);
    assert.ok(elapsed < SLOW_MS, `${what} took ${elapsed.toFixed(1)} ms on ${input.toString('hex')}`);
  }
  if (reencode) reencode(value);
}

function decodeRequestBody(codec: MessageCodec, body: Buffer, version: number): void {
  expectDecodeOrDecodeError(
    `${codec.name} request v${version}`,
    body,
    () => codec.decodeRequest(new p.Reader(body), version),
    (value) => codec.encodeRequest(new p.Writer(), value as never, version),
  );
}

function decodeResponseBody(codec: MessageCodec, body: Buffer, version: number): void {
  expectDecodeOrDecodeError(
    `${codec.name} response v${version}`,
    body,
    () => codec.decodeResponse(new p.Reader(body), version),
    (value) => codec.encodeResponse(new p.Writer(), value as never, version),
  );
}

const requests = frames.filter((frame) => frame.dir === 'req');
const responses = frames.filter((frame) => frame.dir === 'resp');
const ALL_CODECS = [...SC_CODECS.values(), ...SPU_CODECS.values()];

test('fuzz: mutated captured request frames', () => {
  const random = prng(0x5eed_0001);
  for (let i = 0; i < 4000; i++) {
    const frame = pick(random, requests);
    const mutated = mutate(random, frame.bytes.subarray(4));
    // Through the header, as the server does: the header itself may be what broke.
    expectDecodeOrDecodeError('request header', mutated, () => {
      const r = new p.Reader(mutated);
      const header = p.decodeRequestHeader(r);
      const codec = (frame.side === 'sc' ? SC_CODECS : SPU_CODECS).get(header.apiKey);
      if (codec) codec.decodeRequest(r, header.apiVersion);
    });
    // And the body alone at the captured version, so every mutation reaches the body decoder.
    const header = p.decodeRequestHeader(new p.Reader(frame.bytes, 4));
    const bodyStart = 4 + 2 + 2 + 4 + 2 + header.clientId.length;
    decodeRequestBody(codecFor(frame.side, frame.apiKey), mutate(random, frame.bytes.subarray(bodyStart)), frame.version);
  }
});

test('fuzz: mutated captured response frames', () => {
  const random = prng(0x5eed_0002);
  for (let i = 0; i < 3000; i++) {
    const frame = pick(random, responses);
    decodeResponseBody(codecFor(frame.side, frame.apiKey), mutate(random, frame.bytes.subarray(8)), frame.version);
  }
});

test('fuzz: random bytes into every decoder at every version', () => {
  const random = prng(0x5eed_0003);
  for (let i = 0; i < 3000; i++) {
    const codec = pick(random, ALL_CODECS);
    const version = int(random, 26) - 1;
    const body = randomBytes(random, int(random, 96));
    if (random() < 0.5) decodeRequestBody(codec, body, version);
    else decodeResponseBody(codec, body, version);
  }
});

test('fuzz: one decoder body fed another API’s captured bodies', () => {
  const random = prng(0x5eed_0004);
  for (let i = 0; i < 1500; i++) {
    const frame = pick(random, requests);
    const codec = pick(random, ALL_CODECS);
    const header = p.decodeRequestHeader(new p.Reader(frame.bytes, 4));
    const bodyStart = 4 + 2 + 2 + 4 + 2 + header.clientId.length;
    decodeRequestBody(codec, frame.bytes.subarray(bodyStart), frame.version);
  }
});

function capturedBatches(): Buffer[] {
  const batches: Buffer[] = [];
  for (const frame of frames) {
    if (frame.side !== 'spu') continue;
    if (frame.dir === 'req' && frame.apiKey === p.SpuApiKey.Produce) {
      const r = new p.Reader(frame.bytes, 4);
      const header = p.decodeRequestHeader(r);
      const req = p.decodeProduceRequest(r, header.apiVersion);
      for (const topic of req.topics) for (const part of topic.partitions) batches.push(...p.splitRecordSet(part.records));
    }
    if (frame.dir === 'resp' && frame.apiKey === p.SpuApiKey.StreamFetch) {
      const res = p.decodeStreamFetchResponse(new p.Reader(frame.bytes, 8), frame.version);
      batches.push(...p.splitRecordSetLenient(res.partition.records as Buffer));
    }
  }
  return batches;
}

test('fuzz: mutated record batches into parse, validate, split and decodeRecords', () => {
  const random = prng(0x5eed_0005);
  const batches = capturedBatches();
  assert.ok(batches.some((batch) => p.parseBatchHeader(batch, 0).compression === p.Compression.Gzip), 'includes the gzip batch');
  for (let i = 0; i < 4000; i++) {
    const batch = pick(random, batches);
    let mutated = mutate(random, batch);
    if (random() < 0.3) mutated = mutate(random, mutated);
    expectDecodeOrDecodeError('decodeRecords', mutated, () => p.decodeRecords(mutated, { maxDecompressedBytes: 1 << 20 }));
    expectDecodeOrDecodeError('validateBatch', mutated, () => p.validateBatch(mutated));
    expectDecodeOrDecodeError('splitRecordSet', mutated, () => p.splitRecordSet(mutated));
    expectDecodeOrDecodeError('parseBatchHeader', mutated, () => p.parseBatchHeader(mutated, 0));
    const lenient = p.splitRecordSetLenient(mutated);
    assert.ok(lenient.length <= 1);
  }
  for (let i = 0; i < 1000; i++) {
    const noise = randomBytes(random, int(random, 160));
    expectDecodeOrDecodeError('decodeRecords(noise)', noise, () => p.decodeRecords(noise));
    expectDecodeOrDecodeError('splitRecordSet(noise)', noise, () => p.splitRecordSet(noise));
  }
});

test('fuzz: it stayed fast', () => {
  assert.ok(slowest < SLOW_MS, `slowest single decode: ${slowest.toFixed(1)} ms`);
});
