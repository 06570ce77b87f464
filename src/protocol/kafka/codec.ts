// Kafka primitive encodings (big-endian), on top of the Fluvio Reader/Writer:
//
//   classic (non-flexible) versions
//     STRING            i16 length + UTF-8 (NULLABLE_STRING: length -1 is null)
//     BYTES             i32 length + bytes (NULLABLE_BYTES: length -1 is null)
//     ARRAY             i32 count + elements (-1 is a null array)
//   flexible versions (KIP-482)
//     COMPACT_STRING    uvarint (length + 1) + UTF-8, 0 is null
//     COMPACT_BYTES     uvarint (length + 1) + bytes, 0 is null
//     COMPACT_ARRAY     uvarint (count + 1) + elements, 0 is null
//     TAGGED_FIELDS     uvarint count + (uvarint tag, uvarint size, bytes)* after every struct
//   both
//     UUID              16 bytes
//     uvarint           unsigned LEB128 (at most 5 bytes: a u32)
//     varint / varlong  zigzag LEB128 (record fields), as the Fluvio codec reads them
//
// Like the Fluvio Reader, nothing read from the wire is trusted: every length
// and count is checked against the bytes left before anything is allocated.

import { DecodeError, Reader, Writer } from '../codec.js';

export const UUID_SIZE = 16;
export const ZERO_UUID = Buffer.alloc(UUID_SIZE);

const MAX_KAFKA_STRING = 0x7fff;

export class KafkaReader extends Reader {
  uvarint(field = 'uvarint'): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) throw new DecodeError(`truncated ${field}: uvarint at offset ${start} runs past the end`);
      const byte = this.buf[this.offset++];
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (value > 0xffff_ffff) throw new DecodeError(`${field} at offset ${start} exceeds 32 bits`);
        return value;
      }
      scale *= 128;
    }
    throw new DecodeError(`${field} at offset ${start} is longer than 5 bytes`);
  }

  /** A string, classic or compact; null when the wire says so. */
  kafkaString(flexible: boolean, field: string): string | null {
    const length = flexible ? this.uvarint(`${field} length`) - 1 : this.i16(`${field} length`);
    if (length < 0) {
      if (length === -1) return null;
      throw new DecodeError(`${field} has an invalid length ${length}`);
    }
    const bytes = this.raw(length, field);
    return utf8(bytes, field);
  }

  /** Bytes, classic (i32 length) or compact; null when the wire says so. A subarray, no copy. */
  kafkaBytes(flexible: boolean, field: string): Buffer | null {
    const length = flexible ? this.uvarint(`${field} length`) - 1 : this.i32(`${field} length`);
    if (length < 0) {
      if (length === -1) return null;
      throw new DecodeError(`${field} has an invalid length ${length}`);
    }
    return this.raw(length, field);
  }

  /** An array's count, classic or compact; -1 is a null array. */
  arrayCount(flexible: boolean, field: string, minElementSize: number): number {
    const count = flexible ? this.uvarint(`${field} count`) - 1 : this.i32(`${field} count`);
    if (count < -1) throw new DecodeError(`${field} has an invalid count ${count}`);
    if (count > this.limits.maxArrayLength) {
      throw new DecodeError(`${field} count ${count} exceeds the limit of ${this.limits.maxArrayLength}`);
    }
    if (count * minElementSize > this.remaining()) {
      throw new DecodeError(`${field} count ${count} cannot fit in the ${this.remaining()} remaining byte(s)`);
    }
    return count;
  }

  uuid(field = 'uuid'): Buffer {
    return this.raw(UUID_SIZE, field);
  }

  /** Skips a tagged-field section: none of the tagged fields we receive changes what we answer. */
  skipTaggedFields(field = 'tagged fields'): void {
    const count = this.uvarint(`${field} count`);
    if (count > this.remaining()) throw new DecodeError(`${field} count ${count} cannot fit in ${this.remaining()} byte(s)`);
    for (let i = 0; i < count; i++) {
      this.uvarint(`${field} tag`);
      const size = this.uvarint(`${field} size`);
      this.raw(size, `${field} value`);
    }
  }

  kafkaSub(n: number, field: string): KafkaReader {
    this.need(n, field);
    const child = new KafkaReader(this.buf, this.offset, this.offset + n, this.limits);
    this.offset += n;
    return child;
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer, field: string): string {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    throw new DecodeError(`${field} is not valid UTF-8`);
  }
}

export function uvarintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export class KafkaWriter extends Writer {
  uvarint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`uvarint ${value} is out of range`);
    while (value >= 0x80) {
      this.u8((value % 128) | 0x80);
      value = Math.floor(value / 128);
    }
    return this.u8(value);
  }

  kafkaString(value: string | null, flexible: boolean): this {
    if (value === null) return flexible ? this.uvarint(0) : this.i16(-1);
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > MAX_KAFKA_STRING) throw new RangeError(`string of ${bytes.length} bytes exceeds ${MAX_KAFKA_STRING}`);
    if (flexible) this.uvarint(bytes.length + 1);
    else this.i16(bytes.length);
    return this.raw(bytes);
  }

  /** Bytes given as one buffer or as chunks written back to back (record sets are not joined). */
  kafkaBytes(value: Uint8Array | readonly Uint8Array[] | null, flexible: boolean): this {
    if (value === null) return flexible ? this.uvarint(0) : this.i32(-1);
    const chunks = value instanceof Uint8Array ? [value] : value;
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    if (flexible) this.uvarint(length + 1);
    else this.i32(length);
    for (const chunk of chunks) this.raw(chunk);
    return this;
  }

  arrayCount(count: number | null, flexible: boolean): this {
    if (count === null) return flexible ? this.uvarint(0) : this.i32(-1);
    return flexible ? this.uvarint(count + 1) : this.i32(count);
  }

  uuid(value: Uint8Array): this {
    if (value.length !== UUID_SIZE) throw new RangeError(`a uuid has ${UUID_SIZE} bytes, not ${value.length}`);
    return this.raw(value);
  }

  /** An empty tagged-field section: we never send optional tagged fields. */
  emptyTaggedFields(): this {
    return this.u8(0);
  }
}
