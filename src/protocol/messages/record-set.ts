// RecordSet, as it appears inside Produce requests and fetch responses:
//
//   length   i32    total bytes of the batches that follow
//   batches  bytes  concatenated batches (no count; read until length is used up)
//
// The batches are carried as opaque bytes here: a subarray when decoding,
// buffers appended by reference when encoding. Splitting and validating them
// is record-batch.ts's business.

import { DecodeError, type Reader, type Writer } from '../codec.js';

export function encodeRecordSet(w: Writer, records: Buffer | readonly Buffer[]): void {
  if (Buffer.isBuffer(records)) {
    w.i32(records.length);
    w.raw(records);
    return;
  }
  let length = 0;
  for (const batch of records) length += batch.length;
  w.i32(length);
  for (const batch of records) w.raw(batch);
}

export function decodeRecordSet(r: Reader, field = 'records'): Buffer {
  const length = r.i32(`${field} length`);
  if (length < 0) throw new DecodeError(`${field}: negative RecordSet length ${length}`);
  return r.raw(length, field);
}
