import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { compressSync as snappyCompress } from 'snappy';
import { BatchOffset, computeBatchCrc, decodeRecords, encodeBatch, validateBatch, BATCH_HEADER_SIZE, BATCH_LEN_MIN } from '../../../src/protocol/record-batch.js';
import { asFluvioBatch, asFluvioBatches, asKafkaBatch, decodeKafkaBatch, encodeKafkaBatch, holdsKafkaRecords } from '../../../src/protocol/kafka/records.js';

const T0 = 1_700_000_000_000;

function kafkaBatch(): Buffer {
  return encodeKafkaBatch(
    [
      { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'trace', value: Buffer.from('t') }] },
      { key: null, value: Buffer.from('v2'), timestampDelta: 7 },
      { key: Buffer.alloc(0), value: null, timestampDelta: 9 },
    ],
    { baseOffset: 40, firstTimestamp: T0 },
  );
}

/** The same records with their section compressed as Kafka clients do: the record count stays outside. */
function compressedLikeKafka(batch: Buffer, compression: number, compress: (data: Buffer) => Buffer): Buffer {
  const section = compress(batch.subarray(BATCH_HEADER_SIZE + 4));
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE + 4), section]);
  out.writeInt32BE(BATCH_LEN_MIN + 4 + section.length, BatchOffset.batchLength);
  out.writeInt16BE(compression, BatchOffset.attributes);
  out.writeUInt32BE(computeBatchCrc(out), BatchOffset.crc);
  return out;
}

function xerial(data: Buffer): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const block = snappyCompress(data) as Buffer;
  const length = Buffer.alloc(4);
  length.writeInt32BE(block.length);
  return Buffer.concat([header, length, block]);
}

test('Kafka records decode with keys, null values, headers, offsets and timestamps; the batch is valid and marked', async () => {
  const batch = kafkaBatch();
  validateBatch(batch);
  assert.equal(holdsKafkaRecords(batch), true);
  const records = await decodeKafkaBatch(batch);
  assert.deepEqual(
    records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.map((h) => `${h.key}=${h.value}`)]),
    [
      [40, T0, 'k1', 'v1', ['trace=t']],
      [41, T0 + 7, null, 'v2', []],
      [42, T0 + 9, '', null, []],
    ],
  );
});

test('gzip and snappy (raw and xerial) compressed Kafka batches decode', async () => {
  const plain = kafkaBatch();
  for (const compressed of [compressedLikeKafka(plain, 1, (d) => gzipSync(d)), compressedLikeKafka(plain, 2, (d) => snappyCompress(d) as Buffer), compressedLikeKafka(plain, 2, xerial)]) {
    validateBatch(compressed);
    assert.deepEqual(
      (await decodeKafkaBatch(compressed)).map((r) => r.value?.toString() ?? null),
      ['v1', 'v2', null],
    );
  }
});

test('Kafka records become Fluvio records for Fluvio readers, and back', async () => {
  const fluvio = await asFluvioBatch(kafkaBatch());
  validateBatch(fluvio);
  assert.equal(holdsKafkaRecords(fluvio), false);
  assert.deepEqual(
    decodeRecords(fluvio).map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value.toString()]),
    [
      [40, T0, 'k1', 'v1'],
      [41, T0 + 7, null, 'v2'],
      [42, T0 + 9, '', ''],
    ],
  );

  const stored = encodeBatch([{ key: Buffer.from('a'), value: Buffer.from('x') }, { value: Buffer.from('y'), timestampDelta: 3 }], { baseOffset: 7, firstTimestamp: T0 });
  assert.equal(holdsKafkaRecords(stored), false);
  const kafka = await asKafkaBatch(stored);
  validateBatch(kafka);
  assert.deepEqual(
    (await decodeKafkaBatch(kafka)).map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString()]),
    [
      [7, T0, 'a', 'x'],
      [8, T0 + 3, null, 'y'],
    ],
  );
  // Batches of the reader's own protocol pass through untouched (the same buffer).
  const own = kafkaBatch();
  assert.equal(await asKafkaBatch(own), own);
  const chunks = [stored];
  assert.equal((await asFluvioBatches(chunks))[0], stored);
});
