// Decoder fuzzing for the Kafka listener: request frames of every API at
// every served version, built from the schemas and then mutated, must decode
// or fail with DecodeError; so must mutated Kafka record batches. Never
// another exception, never a hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../../../src/protocol/codec.js';
import { KafkaReader, KafkaWriter } from '../../../src/protocol/kafka/codec.js';
import { decodeRequestHeaderStart, encodeRequestHeader } from '../../../src/protocol/kafka/header.js';
import { KAFKA_APIS, isFlexible, kafkaApi } from '../../../src/protocol/kafka/api-keys.js';
import { decodeMessage, encodeMessage, type AnyField, type EncodableOf, type FieldType } from '../../../src/protocol/kafka/schema.js';
import { decodeKafkaBatch, encodeKafkaBatch } from '../../../src/protocol/kafka/records.js';
import { int, mutate, pick, prng, randomBytes, type Random } from '../protocol/helpers.js';

const SLOW_MS = 2_000; // a hang detector, not a speed test

const sampleBatch = encodeKafkaBatch(
  [
    { key: Buffer.from('k'), value: Buffer.from('value'), headers: [{ key: 'h', value: Buffer.from('x') }] },
    { key: null, value: null, timestampDelta: 5 },
  ],
  { firstTimestamp: 1_700_000_000_000 },
);

/** A value for every field of a schema, arrays with one or two elements: a well-formed body of any API. */
function sample(random: Random, type: FieldType): unknown {
  if (Array.isArray(type)) return Array.from({ length: 1 + int(random, 2) }, () => sampleStruct(random, type as readonly AnyField[]));
  if (typeof type !== 'string') return Array.from({ length: 1 + int(random, 2) }, () => sample(random, (type as { array: FieldType }).array));
  switch (type) {
    case 'bool':
      return random() < 0.5;
    case 'string':
      return pick(random, ['', 'topic-a', 'group-1', 'consumer']);
    case 'bytes':
      return randomBytes(random, int(random, 12));
    case 'records':
      return sampleBatch;
    case 'uuid':
      return randomBytes(random, 16);
    case 'int8':
      return int(random, 3) - 1;
    case 'int64':
      return int(random, 1000) - 2;
    default:
      return int(random, 100) - 1;
  }
}

function sampleStruct(random: Random, fields: readonly AnyField[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f.name, sample(random, f.type)]));
}

function requestFrame(random: Random, apiKey: number, version: number): Buffer {
  const api = kafkaApi(apiKey)!;
  const w = new KafkaWriter();
  encodeRequestHeader(w, { apiKey, apiVersion: version, correlationId: int(random, 1000), clientId: 'fuzz' }, isFlexible(api, version));
  encodeMessage(api.request, w, version, sampleStruct(random, api.request.fields) as EncodableOf<readonly AnyField[]>);
  return Buffer.from(w.finish());
}

/** What the listener does with a frame, minus the handlers. */
function decodeAsTheListenerDoes(frame: Buffer): void {
  const r = new KafkaReader(frame);
  const header = decodeRequestHeaderStart(r);
  const api = kafkaApi(header.apiKey);
  if (!api || header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) return;
  if (isFlexible(api, header.apiVersion)) r.skipTaggedFields();
  decodeMessage(api.request, r, header.apiVersion);
  r.expectEnd('request');
}

function expectDecodeOrDecodeError(what: string, input: Buffer, decode: () => unknown): void {
  const start = performance.now();
  try {
    decode();
  } catch (err) {
    if (!(err instanceof DecodeError)) assert.fail(`${what} threw ${(err as Error)?.name}: ${(err as Error)?.message} for ${input.toString('hex')}`);
  } finally {
    const elapsed = performance.now() - start;
    assert.ok(elapsed < SLOW_MS, `${what} took ${elapsed.toFixed(1)} ms on ${input.toString('hex')}`);
  }
}

test('every API at every served version round-trips a generated request', () => {
  const random = prng(0x6b61_0001);
  for (const api of KAFKA_APIS) {
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      const frame = requestFrame(random, api.apiKey, version);
      const r = new KafkaReader(frame);
      const header = decodeRequestHeaderStart(r);
      assert.equal(header.apiKey, api.apiKey);
      if (isFlexible(api, version)) r.skipTaggedFields();
      const decoded = decodeMessage(api.request, r, version);
      r.expectEnd(`${api.name} v${version}`);
      const again = new KafkaWriter();
      encodeRequestHeader(again, header, isFlexible(api, version));
      encodeMessage(api.request, again, version, decoded as EncodableOf<readonly AnyField[]>);
      assert.deepEqual(Buffer.from(again.finish()), frame, `${api.name} v${version} re-encodes byte for byte`);
    }
  }
});

test('fuzz: mutated request frames of every API and version', () => {
  const random = prng(0x6b61_0002);
  for (let i = 0; i < 6000; i++) {
    const api = pick(random, KAFKA_APIS);
    const version = api.minVersion + int(random, api.maxVersion - api.minVersion + 1);
    let frame = mutate(random, requestFrame(random, api.apiKey, version));
    if (random() < 0.3) frame = mutate(random, frame);
    expectDecodeOrDecodeError(`${api.name} v${version}`, frame, () => decodeAsTheListenerDoes(frame));
  }
  for (let i = 0; i < 2000; i++) {
    const noise = randomBytes(random, int(random, 128));
    expectDecodeOrDecodeError('noise', noise, () => decodeAsTheListenerDoes(noise));
  }
});

test('fuzz: mutated Kafka record batches', async () => {
  const random = prng(0x6b61_0003);
  for (let i = 0; i < 3000; i++) {
    const mutated = mutate(random, sampleBatch);
    const start = performance.now();
    try {
      await decodeKafkaBatch(mutated, 1 << 20);
    } catch (err) {
      if (!(err instanceof DecodeError)) assert.fail(`decodeKafkaBatch threw ${(err as Error)?.name}: ${(err as Error)?.message} for ${mutated.toString('hex')}`);
    }
    assert.ok(performance.now() - start < SLOW_MS);
  }
});
