// Fluvio primitive encodings (big-endian throughout):
//
//   bool          u8, 0 or 1 (any other value is a decode error)
//   iN / uN       fixed width
//   String        u16 length + UTF-8 bytes (no null string)
//   Option<T>     bool tag + T when the tag is 1
//   Vec<T>        i32 count + elements (a count < 1 decodes as empty)
//   Vec<u8>       u32 length + bytes
//   BTreeMap<K,V> u16 count + (K, V) pairs, sorted by key
//   Duration      u64 seconds + u32 nanoseconds
//   varint        zigzag + LEB128 (records only), like protobuf sint64
//
// The Reader never trusts a length or count from the wire: every one is
// checked against the bytes that remain (and against configured maxima)
// before anything is allocated, so a hostile frame can neither make us
// allocate a huge array nor spin in a loop. Every failure is a DecodeError
// naming the field that could not be read.

/** Any malformed input found while decoding. The message names the field. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

export interface ReaderLimits {
  /** Largest element count accepted for a Vec (on top of the remaining-bytes check). */
  maxArrayLength: number;
  /** Largest Vec<u8> / raw byte run accepted. */
  maxBytesLength: number;
}

export const DEFAULT_READER_LIMITS: Readonly<ReaderLimits> = Object.freeze({
  maxArrayLength: 1 << 20,
  maxBytesLength: 256 * 1024 * 1024,
});

const TWO_POW_32 = 0x1_0000_0000;

/** Longest string a Fluvio peer decodes correctly (its decoder reads the u16 length as an i16). */
export const MAX_STRING_BYTES = 0x7fff;

export interface Duration {
  seconds: number;
  nanos: number;
}

export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
    readonly limits: Readonly<ReaderLimits> = DEFAULT_READER_LIMITS,
  ) {
    if (!(offset >= 0 && offset <= end && end <= buf.length)) {
      throw new RangeError(`Reader window [${offset}, ${end}) is outside a buffer of ${buf.length} bytes`);
    }
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless `n` more bytes are available; `what` names the field for the message. */
  need(n: number, what: string): void {
    if (this.end - this.offset < n) {
      throw new DecodeError(
        `truncated ${what}: need ${n} byte(s) at offset ${this.offset}, only ${this.end - this.offset} remain`,
      );
    }
  }

  i8(field = 'i8'): number {
    this.need(1, field);
    return this.buf.readInt8(this.offset++);
  }

  u8(field = 'u8'): number {
    this.need(1, field);
    return this.buf[this.offset++];
  }

  i16(field = 'i16'): number {
    this.need(2, field);
    const value = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u16(field = 'u16'): number {
    this.need(2, field);
    const value = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  i32(field = 'i32'): number {
    this.need(4, field);
    const value = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  u32(field = 'u32'): number {
    this.need(4, field);
    const value = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** Offsets and timestamps are JS numbers in Freshet, so values beyond 2^53 are refused. */
  i64(field = 'i64'): number {
    this.need(8, field);
    const high = this.buf.readInt32BE(this.offset);
    const low = this.buf.readUInt32BE(this.offset + 4);
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) {
      throw new DecodeError(`${field} at offset ${this.offset} does not fit a safe integer`);
    }
    this.offset += 8;
    return value;
  }

  u64(field = 'u64'): number {
    this.need(8, field);
    const high = this.buf.readUInt32BE(this.offset);
    const low = this.buf.readUInt32BE(this.offset + 4);
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) {
      throw new DecodeError(`${field} at offset ${this.offset} does not fit a safe integer`);
    }
    this.offset += 8;
    return value;
  }

  bool(field = 'bool'): boolean {
    this.need(1, field);
    const value = this.buf[this.offset];
    if (value > 1) throw new DecodeError(`${field} at offset ${this.offset} is ${value}, not a bool (0 or 1)`);
    this.offset++;
    return value === 1;
  }

  string(field = 'string'): string {
    const length = this.u16(`${field} length`);
    this.need(length, field);
    const start = this.offset;
    this.offset += length;
    return decodeUtf8(this.buf, start, start + length, field);
  }

  optional<T>(read: () => T, field = 'option'): T | undefined {
    return this.bool(`${field} tag`) ? read() : undefined;
  }

  /**
   * Vec<T>: i32 count, then the elements. A count below 1 is an empty Vec (as
   * in Fluvio). A count is refused when it cannot fit the remaining bytes at
   * `minElementSize` bytes per element, which bounds the loop by the input.
   */
  array<T>(read: () => T, field = 'array', minElementSize = 1): T[] {
    const count = this.i32(`${field} count`);
    if (count < 1) return [];
    this.checkCount(count, field, minElementSize);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(read());
    return items;
  }

  /** BTreeMap<K, V>: u16 count, then pairs. Later duplicates overwrite, as in Rust. */
  map<K, V>(readKey: () => K, readValue: () => V, field = 'map', minEntrySize = 1): Map<K, V> {
    const count = this.u16(`${field} count`);
    this.checkCount(count, field, minEntrySize);
    const map = new Map<K, V>();
    for (let i = 0; i < count; i++) {
      const key = readKey();
      map.set(key, readValue());
    }
    return map;
  }

  /** Vec<u8> / ByteBuf: u32 length + bytes, returned as a subarray (no copy). */
  bytes(field = 'bytes'): Buffer {
    const length = this.u32(`${field} length`);
    return this.raw(length, field);
  }

  /** The next `n` bytes as a subarray (no copy). */
  raw(n: number, field = 'raw bytes'): Buffer {
    if (!Number.isInteger(n) || n < 0) throw new DecodeError(`${field} has an invalid length ${n}`);
    if (n > this.limits.maxBytesLength) {
      throw new DecodeError(`${field} length ${n} exceeds the limit of ${this.limits.maxBytesLength} bytes`);
    }
    this.need(n, field);
    const start = this.offset;
    this.offset += n;
    return this.buf.subarray(start, start + n);
  }

  /** A Reader over the next `n` bytes; this reader skips past them. */
  sub(n: number, field = 'section'): Reader {
    this.need(n, field);
    const child = new Reader(this.buf, this.offset, this.offset + n, this.limits);
    this.offset += n;
    return child;
  }

  /** Zigzag LEB128 as Fluvio writes record fields; at most 10 bytes, result must be a safe integer. */
  varint(field = 'varint'): number {
    const start = this.offset;
    // Accumulate the zigzag value already halved (its low bit is the sign),
    // so every partial sum is exact up to the safe-integer limit.
    let magnitude = 0;
    let negative = false;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) {
        throw new DecodeError(`truncated ${field}: varint at offset ${start} runs past the end`);
      }
      const byte = this.buf[this.offset++];
      if (i === 0) {
        negative = (byte & 1) === 1;
        magnitude = (byte & 0x7f) >>> 1;
        scale = 64;
      } else {
        magnitude += (byte & 0x7f) * scale;
        scale *= 128;
      }
      if ((byte & 0x80) === 0) {
        const limit = negative ? Number.MAX_SAFE_INTEGER - 1 : Number.MAX_SAFE_INTEGER;
        if (magnitude > limit) throw new DecodeError(`${field} at offset ${start} does not fit a safe integer`);
        return negative ? -magnitude - 1 : magnitude;
      }
    }
    throw new DecodeError(`${field} at offset ${start} is longer than 10 bytes`);
  }

  duration(field = 'duration'): Duration {
    const seconds = this.u64(`${field}.seconds`);
    const nanos = this.u32(`${field}.nanos`);
    return { seconds, nanos };
  }

  expectEnd(what: string): void {
    if (this.offset !== this.end) {
      throw new DecodeError(`${what}: ${this.end - this.offset} unexpected trailing byte(s) at offset ${this.offset}`);
    }
  }

  private checkCount(count: number, field: string, minElementSize: number): void {
    if (count > this.limits.maxArrayLength) {
      throw new DecodeError(`${field} count ${count} exceeds the limit of ${this.limits.maxArrayLength}`);
    }
    if (count * minElementSize > this.end - this.offset) {
      throw new DecodeError(
        `${field} count ${count} cannot fit in the ${this.end - this.offset} remaining byte(s) at offset ${this.offset}`,
      );
    }
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(buf: Buffer, start: number, end: number, field: string): string {
  // ASCII is the overwhelmingly common case (topic names, labels); it is valid UTF-8 as is.
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buf.toString('latin1', start, end);
  try {
    return fatalUtf8.decode(buf.subarray(start, end));
  } catch {
    // Fluvio refuses invalid UTF-8 too; accepting it would not round-trip.
    throw new DecodeError(`${field} at offset ${start} is not valid UTF-8`);
  }
}

/** Orders strings as Rust orders `String` keys of a BTreeMap: by their UTF-8 bytes. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function compareNumbers(a: number, b: number): number {
  return a - b;
}

// Small fields go into a growable scratch buffer; byte runs at least this large
// are kept by reference (record sets on the hot path are never copied).
const RAW_BY_REFERENCE_MIN = 512;
const INITIAL_SCRATCH = 512;

interface LengthSlot {
  buf: Buffer;
  offset: number;
  /** Writer length right after the slot. */
  bodyStart: number;
}

export class Writer {
  private scratch: Buffer;
  private pos = 0;
  private segmentStart = 0;
  private chunks: Buffer[] = [];
  private chunkBytes = 0;

  constructor(initialCapacity = INITIAL_SCRATCH) {
    this.scratch = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.chunkBytes + (this.pos - this.segmentStart);
  }

  i8(value: number): this {
    this.ensure(1);
    this.pos = this.scratch.writeInt8(value, this.pos);
    return this;
  }

  u8(value: number): this {
    this.ensure(1);
    this.pos = this.scratch.writeUInt8(value, this.pos);
    return this;
  }

  i16(value: number): this {
    this.ensure(2);
    this.pos = this.scratch.writeInt16BE(value, this.pos);
    return this;
  }

  u16(value: number): this {
    this.ensure(2);
    this.pos = this.scratch.writeUInt16BE(value, this.pos);
    return this;
  }

  i32(value: number): this {
    this.ensure(4);
    this.pos = this.scratch.writeInt32BE(value, this.pos);
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    this.pos = this.scratch.writeUInt32BE(value, this.pos);
    return this;
  }

  i64(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`i64 value ${value} is not a safe integer`);
    const high = Math.floor(value / TWO_POW_32);
    this.ensure(8);
    this.scratch.writeInt32BE(high, this.pos);
    this.scratch.writeUInt32BE(value - high * TWO_POW_32, this.pos + 4);
    this.pos += 8;
    return this;
  }

  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 value ${value} is out of range`);
    return this.i64(value);
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  string(value: string): this {
    const length = Buffer.byteLength(value, 'utf8');
    // The length is a u16 on the wire, but Fluvio's decoder reads it as an i16
    // and takes a negative length for an empty string, so 32 KiB is the real limit.
    if (length > MAX_STRING_BYTES) throw new RangeError(`string of ${length} bytes exceeds the ${MAX_STRING_BYTES}-byte limit`);
    this.ensure(2 + length);
    this.pos = this.scratch.writeUInt16BE(length, this.pos);
    this.pos += this.scratch.write(value, this.pos, length, 'utf8');
    return this;
  }

  optional<T>(value: T | undefined | null, write: (value: T) => void): this {
    if (value === undefined || value === null) return this.u8(0);
    this.u8(1);
    write(value);
    return this;
  }

  array<T>(items: readonly T[], write: (item: T) => void): this {
    this.i32(items.length);
    for (const item of items) write(item);
    return this;
  }

  /** BTreeMap: u16 count, entries sorted by `compare` on the key. */
  map<K, V>(
    map: ReadonlyMap<K, V>,
    compare: (a: K, b: K) => number,
    writeKey: (key: K) => void,
    writeValue: (value: V) => void,
  ): this {
    if (map.size > 0xffff) throw new RangeError(`map of ${map.size} entries exceeds the u16 count limit`);
    const keys = [...map.keys()].sort(compare);
    this.u16(keys.length);
    for (const key of keys) {
      writeKey(key);
      writeValue(map.get(key) as V);
    }
    return this;
  }

  /** Vec<u8>: u32 length + the bytes. */
  bytes(buf: Uint8Array): this {
    this.u32(buf.length);
    return this.raw(buf);
  }

  /** Appends bytes; large runs are kept by reference, so they must not change until the frame is written. */
  raw(buf: Uint8Array): this {
    if (buf.length >= RAW_BY_REFERENCE_MIN) {
      this.flushSegment();
      this.chunks.push(Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length));
      this.chunkBytes += buf.length;
      return this;
    }
    this.ensure(buf.length);
    this.scratch.set(buf, this.pos);
    this.pos += buf.length;
    return this;
  }

  /** Zigzag LEB128, as Fluvio writes record fields. */
  varint(value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
    this.ensure(10);
    if (value >= -0x4000_0000 && value < 0x4000_0000) {
      let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
      while (zigzag >= 0x80) {
        this.scratch[this.pos++] = (zigzag & 0x7f) | 0x80;
        zigzag >>>= 7;
      }
      this.scratch[this.pos++] = zigzag;
      return this;
    }
    // Beyond 2^53 the zigzag value itself is not exact, so emit the sign bit
    // and the magnitude's low six bits first, then the magnitude in 7-bit groups.
    const sign = value < 0 ? 1 : 0;
    const magnitude = value < 0 ? -value - 1 : value;
    let rest = Math.floor(magnitude / 64);
    this.scratch[this.pos++] = ((magnitude % 64) << 1) | sign | (rest > 0 ? 0x80 : 0);
    while (rest > 0) {
      const group = rest % 128;
      rest = Math.floor(rest / 128);
      this.scratch[this.pos++] = group | (rest > 0 ? 0x80 : 0);
    }
    return this;
  }

  duration(value: Duration): this {
    this.u64(value.seconds);
    return this.u32(value.nanos);
  }

  /** Writes a u32 byte count of whatever `write` appends, before it (TypeBuffer payloads). */
  u32LengthPrefixed(write: () => void): this {
    const slot = this.reserve(4);
    write();
    slot.buf.writeUInt32BE(this.length - slot.bodyStart, slot.offset);
    return this;
  }

  /** Writes an i32 byte count of whatever `write` appends, before it (record sets). */
  i32LengthPrefixed(write: () => void): this {
    const slot = this.reserve(4);
    write();
    slot.buf.writeInt32BE(this.length - slot.bodyStart, slot.offset);
    return this;
  }

  /** Everything written, as one buffer (no copy when nothing was kept by reference). */
  finish(): Buffer {
    if (this.chunks.length === 0) return this.scratch.subarray(this.segmentStart, this.pos);
    return Buffer.concat(this.finishChunks(), this.length);
  }

  /** Everything written, as chunks for a vectored socket write; large raw runs are not copied. */
  finishChunks(): Buffer[] {
    this.flushSegment();
    return this.chunks;
  }

  private reserve(size: number): LengthSlot {
    this.ensure(size);
    const slot = { buf: this.scratch, offset: this.pos, bodyStart: this.length + size };
    this.pos += size;
    return slot;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    // The bytes already in the scratch stay where they are (length slots may still point at them).
    this.flushSegment();
    this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, n, INITIAL_SCRATCH));
    this.pos = 0;
    this.segmentStart = 0;
  }

  private flushSegment(): void {
    if (this.pos > this.segmentStart) {
      this.chunks.push(this.scratch.subarray(this.segmentStart, this.pos));
      this.chunkBytes += this.pos - this.segmentStart;
      this.segmentStart = this.pos;
    }
  }
}

/** Prepends the i32 frame length to a frame body given as chunks. */
export function encodeFrame(chunks: Buffer[]): Buffer[] {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeInt32BE(length, 0);
  return [prefix, ...chunks];
}

/** A whole frame as one buffer: i32 length + body. */
export function encodeFrameBuffer(body: Writer): Buffer {
  const chunks = encodeFrame(body.finishChunks());
  return Buffer.concat(chunks);
}
