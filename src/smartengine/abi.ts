// Fluvio SmartModule ABI: the byte structures the host writes into a module's
// memory and reads back (see ../shared/reference/smartmodule-abi.md §3–§5).
// Everything is fluvio-protocol encoding: big-endian, version-gated fields.
//
//   SmartModuleInput (filter, map, filter_map, array_map, look_back)
//     base_offset     i64
//     raw_bytes       u32 length + Vec<Record> (i32 count + records)
//     params          SmartModuleExtraParams        version <= 22 (always empty here)
//     join_record     u32 length + bytes            16 <= version <= 22 (always empty)
//     base_timestamp  i64                           version >= 22
//   SmartModuleAggregateInput = SmartModuleInput + accumulator (u32 length + bytes)
//   SmartModuleInitInput      = SmartModuleExtraParams
//     inner           u16 count + (String, String) sorted by key bytes
//     lookback        Option<{ last u64, age Option<Duration> (v >= 21) }>   v >= 20
//
//   SmartModuleOutput
//     successes       Vec<Record>
//     error           Option<{ hint String, offset i64, kind u8,
//                              record_key Option<RecordData>, record_value RecordData }>
//   SmartModuleAggregateOutput = SmartModuleOutput + accumulator Vec<u8> (v >= 16)
//   SmartModuleInitOutput      = { hint String }                 (rc -2 only)
//   SmartModuleLookbackOutput  = { hint, offset, record_key, record_value }  (rc -99 only)
//
//   Record: varint len | i8 attributes | varint timestamp_delta | varint offset_delta
//           | Option<RecordData> key | RecordData value | varint headers (a count)
//
// The decoders follow Fluvio's decoders, not a stricter grammar: a record's
// length prefix is only checked against the bytes left (fields are then read
// one by one), a String length is read as i16 (<= 0 is empty), a Vec count
// as i32 (< 1 is empty) and trailing bytes are ignored.

import type { Duration } from '../protocol/index.js';
import { compareUtf8 } from '../protocol/index.js';
import { varintSize, writeVarint } from '../protocol/index.js';

/** Fluvio's DEFAULT_SMARTENGINE_VERSION (SMARTMODULE_TIMESTAMPS_VERSION). */
export const DEFAULT_SMARTENGINE_VERSION = 22;
export const SMARTMODULE_JOIN_RECORD_MIN_VERSION = 16;
export const SMARTMODULE_PARAMS_MAX_VERSION = 22;
export const SMARTMODULE_TIMESTAMPS_VERSION = 22;
export const SMARTMODULE_LOOKBACK_VERSION = 20;
export const SMARTMODULE_LOOKBACK_AGE_VERSION = 21;
export const SMARTMODULE_AGGREGATE_ACC_MIN_VERSION = 16;

/** One record as a SmartModule sees it: deltas relative to the batch it travels in. */
export interface SmartRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer;
  /** Header count; Fluvio records carry no header content. */
  headers: number;
}

export interface Lookback {
  last: number;
  age?: Duration;
}

/** Transform status codes (SmartModuleTransformErrorStatus). */
export const TransformStatus: Readonly<Record<number, string>> = {
  [-1]: 'UnknownError',
  [-11]: 'DecodingBaseInput',
  [-22]: 'DecodingRecords',
  [-33]: 'EncodingOutput',
  [-44]: 'ParsingExtraParams',
  [-55]: 'UndefinedRightRecord',
};
/** Init status codes (SmartModuleInitErrorStatus). */
export const InitStatus: Readonly<Record<number, string>> = {
  [-1]: 'UnknownError',
  [-2]: 'InitError',
  [-10]: 'DecodingInput',
  [-11]: 'EncodingOutput',
};
/** Look-back status codes (SmartModuleLookbackErrorStatus). */
export const LookbackStatus: Readonly<Record<number, string>> = {
  [-1]: 'UnknownError',
  [-66]: 'DecodingBaseInput',
  [-77]: 'DecodingRecords',
  [-88]: 'EncodingOutput',
  [-99]: 'PropagatedError',
};
export const INIT_ERROR_RC = -2;
export const DECODING_BASE_INPUT_RC = -11;
export const LOOKBACK_PROPAGATED_ERROR_RC = -99;

const STATUS_TEXT: Readonly<Record<string, string>> = {
  UnknownError: 'encountered unknown error during SmartModule processing',
  DecodingBaseInput: 'failed to decode SmartModule base input',
  DecodingRecords: 'failed to decode SmartModule record input',
  EncodingOutput: 'failed to encode SmartModule output',
  ParsingExtraParams: 'failed to parse SmartModule extra params',
  UndefinedRightRecord: 'undefined right record in Join SmartModule',
  InitError: 'Error during initialization',
  DecodingInput: 'failed to decode SmartModule init input',
  PropagatedError: 'Error returned from user look_back function call',
};

/** Name of a status code in one of the tables above; unknown negatives are UnknownError, as in Fluvio. */
export function statusName(table: Readonly<Record<number, string>>, rc: number): string {
  return table[rc] ?? 'UnknownError';
}

export function statusText(name: string): string {
  return STATUS_TEXT[name] ?? name;
}

/** SmartModuleKind tags inside SmartModuleTransformRuntimeError. */
export const RUNTIME_ERROR_KINDS = ['Filter', 'Map', 'ArrayMap', 'Aggregate', 'FilterMap', 'Join', 'Generic'] as const;

export interface TransformRuntimeError {
  hint: string;
  offset: number;
  /** SmartModuleErrorKind tag (0 Filter … 6 Generic). */
  kind: number;
  recordKey: Buffer | null;
  recordValue: Buffer;
}

export interface TransformOutput {
  /** The successes, decoded on first access (views of the output bytes). */
  readonly successes: SmartRecord[];
  /** Number of successes. */
  readonly count: number;
  /**
   * The successes exactly as the module encoded them (i32 count + records)
   * when that encoding is canonical, i.e. identical to what encoding
   * `successes` again would give (always the case for the SDKs' encoders);
   * else null. Lets a chain hand them to the next module, and the SPU to a
   * batch, without decoding and re-encoding.
   */
  readonly successesBytes: Buffer | null;
  readonly error: TransformRuntimeError | null;
}

export interface AggregateOutput extends TransformOutput {
  accumulator: Buffer;
}

export interface LookbackRuntimeError {
  hint: string;
  offset: number;
  recordKey: Buffer | null;
  recordValue: Buffer;
}

/** A malformed output from a module (Fluvio: a decode error from `read_output`). */
export class AbiDecodeError extends Error {
  override name = 'AbiDecodeError';
}

// --- records ----------------------------------------------------------------

function recordBodySize(r: SmartRecord): number {
  let size = 1 + varintSize(r.timestampDelta) + varintSize(r.offsetDelta);
  size += r.key === null ? 1 : 1 + varintSize(r.key.length) + r.key.length;
  size += varintSize(r.value.length) + r.value.length + varintSize(r.headers);
  return size;
}

/** Size of `Vec<Record>` (i32 count + records). */
export function recordsEncodedSize(records: readonly SmartRecord[]): number {
  let size = 4;
  for (const r of records) {
    const body = recordBodySize(r);
    size += varintSize(body) + body;
  }
  return size;
}

/** Writes `Vec<Record>` at `pos`; returns the new position. The caller sized `buf` with recordsEncodedSize. */
export function writeRecords(buf: Buffer, pos: number, records: readonly SmartRecord[]): number {
  pos = writeI32(buf, pos, records.length);
  for (const r of records) {
    pos = writeVarint(buf, pos, recordBodySize(r));
    buf[pos++] = r.attributes & 0xff;
    pos = writeVarint(buf, pos, r.timestampDelta);
    pos = writeVarint(buf, pos, r.offsetDelta);
    if (r.key === null) {
      buf[pos++] = 0;
    } else {
      buf[pos++] = 1;
      pos = writeVarint(buf, pos, r.key.length);
      buf.set(r.key, pos);
      pos += r.key.length;
    }
    pos = writeVarint(buf, pos, r.value.length);
    buf.set(r.value, pos);
    pos += r.value.length;
    pos = writeVarint(buf, pos, r.headers);
  }
  return pos;
}

/** Encodes `Vec<Record>` (the uncompressed records section of a batch). */
export function encodeRecords(records: readonly SmartRecord[]): Buffer {
  const buf = Buffer.allocUnsafe(recordsEncodedSize(records));
  writeRecords(buf, 0, records);
  return buf;
}

/** Decodes `Vec<Record>` as Fluvio does; keys and values are views of `buf`. */
export function decodeRecords(buf: Buffer): SmartRecord[] {
  const c = new Cursor(buf, 0, buf.length);
  return c.records();
}

// --- inputs -----------------------------------------------------------------

export interface InputHeader {
  baseOffset: number;
  baseTimestamp: number;
  version: number;
}

/** Bytes of a SmartModuleInput around its raw_bytes: [before, after]. */
export function inputFraming(version: number): [number, number] {
  let after = 0;
  if (version <= SMARTMODULE_PARAMS_MAX_VERSION) {
    after += 2; // empty params map
    if (version >= SMARTMODULE_LOOKBACK_VERSION) after += 1; // lookback None
  }
  if (version >= SMARTMODULE_JOIN_RECORD_MIN_VERSION && version <= SMARTMODULE_PARAMS_MAX_VERSION) after += 4;
  if (version >= SMARTMODULE_TIMESTAMPS_VERSION) after += 8;
  return [12, after];
}

/** Writes the SmartModuleInput fields before raw_bytes' content; returns the new position. */
export function writeInputHead(buf: Uint8Array, pos: number, header: InputHeader, rawLength: number): number {
  pos = writeI64(buf, pos, header.baseOffset);
  return writeU32(buf, pos, rawLength);
}

/** Writes the SmartModuleInput fields after raw_bytes' content; returns the new position. */
export function writeInputTail(buf: Uint8Array, pos: number, header: InputHeader): number {
  const v = header.version;
  if (v <= SMARTMODULE_PARAMS_MAX_VERSION) {
    buf[pos++] = 0; // params.inner: 0 entries (u16)
    buf[pos++] = 0;
    if (v >= SMARTMODULE_LOOKBACK_VERSION) buf[pos++] = 0; // params.lookback: None
  }
  if (v >= SMARTMODULE_JOIN_RECORD_MIN_VERSION && v <= SMARTMODULE_PARAMS_MAX_VERSION) pos = writeU32(buf, pos, 0);
  if (v >= SMARTMODULE_TIMESTAMPS_VERSION) pos = writeI64(buf, pos, header.baseTimestamp);
  return pos;
}

/** SmartModuleExtraParams / SmartModuleInitInput at `version`. */
export function encodeExtraParams(
  params: ReadonlyMap<string, string>,
  lookback: Lookback | undefined,
  version: number,
): Buffer {
  const keys = [...params.keys()].sort(compareUtf8);
  if (keys.length > 0xffff) throw new RangeError(`${keys.length} params exceed the u16 count`);
  const parts: Buffer[] = [];
  const count = Buffer.allocUnsafe(2);
  count.writeUInt16BE(keys.length);
  parts.push(count);
  for (const key of keys) {
    parts.push(encodeString(key), encodeString(params.get(key) as string));
  }
  if (version >= SMARTMODULE_LOOKBACK_VERSION) {
    if (lookback === undefined) {
      parts.push(Buffer.from([0]));
    } else {
      const lb = Buffer.alloc(1 + 8 + (version >= SMARTMODULE_LOOKBACK_AGE_VERSION ? 1 + (lookback.age ? 12 : 0) : 0));
      lb[0] = 1;
      writeI64(lb, 1, lookback.last);
      if (version >= SMARTMODULE_LOOKBACK_AGE_VERSION) {
        if (lookback.age) {
          lb[9] = 1;
          writeI64(lb, 10, lookback.age.seconds);
          lb.writeUInt32BE(lookback.age.nanos, 18);
        } else {
          lb[9] = 0;
        }
      }
      parts.push(lb);
    }
  }
  return Buffer.concat(parts);
}

function encodeString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 0x7fff) throw new RangeError(`string of ${bytes.length} bytes is too long for a SmartModule param`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

// --- outputs ----------------------------------------------------------------

/** SmartModuleOutput. */
export function decodeTransformOutput(buf: Buffer): TransformOutput {
  const c = new Cursor(buf, 0, buf.length);
  const scan = c.scanRecords();
  const error = c.bool('error tag') ? c.runtimeError() : null;
  return transformOutput(buf, scan, error);
}

/** SmartModuleAggregateOutput; the accumulator is present from version 16. */
export function decodeAggregateOutput(buf: Buffer, version: number): AggregateOutput {
  const c = new Cursor(buf, 0, buf.length);
  const scan = c.scanRecords();
  const error = c.bool('error tag') ? c.runtimeError() : null;
  const accumulator = version >= SMARTMODULE_AGGREGATE_ACC_MIN_VERSION ? c.vecU8('accumulator') : Buffer.alloc(0);
  return Object.assign(transformOutput(buf, scan, error), { accumulator });
}

interface RecordsScan {
  count: number;
  end: number;
  canonical: boolean;
}

function transformOutput(buf: Buffer, scan: RecordsScan, error: TransformRuntimeError | null): TransformOutput {
  let records: SmartRecord[] | null = null;
  return {
    get successes(): SmartRecord[] {
      records ??= new Cursor(buf, 0, scan.end).records();
      return records;
    },
    count: scan.count,
    successesBytes: scan.canonical ? buf.subarray(0, scan.end) : null,
    error,
  };
}

/** SmartModuleInitOutput: its hint. */
export function decodeInitOutput(buf: Buffer): string {
  return new Cursor(buf, 0, buf.length).string('hint');
}

/** SmartModuleLookbackOutput. */
export function decodeLookbackOutput(buf: Buffer): LookbackRuntimeError {
  const c = new Cursor(buf, 0, buf.length);
  const hint = c.string('hint');
  const offset = c.i64('offset');
  const recordKey = c.bool('record_key tag') ? c.recordData('record_key') : null;
  const recordValue = c.recordData('record_value');
  return { hint, offset, recordKey, recordValue };
}

// --- fixed-width writers --------------------------------------------------------

function writeU32(buf: Uint8Array, pos: number, n: number): number {
  buf[pos] = n >>> 24;
  buf[pos + 1] = (n >>> 16) & 0xff;
  buf[pos + 2] = (n >>> 8) & 0xff;
  buf[pos + 3] = n & 0xff;
  return pos + 4;
}

function writeI32(buf: Uint8Array, pos: number, n: number): number {
  return writeU32(buf, pos, n >>> 0);
}

function writeI64(buf: Uint8Array, pos: number, n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`i64 value ${n} is not a safe integer`);
  const high = Math.floor(n / 0x1_0000_0000);
  writeI32(buf, pos, high | 0);
  return writeU32(buf, pos + 4, n - high * 0x1_0000_0000);
}

// --- reader -------------------------------------------------------------------

class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new AbiDecodeError(`truncated ${what}: need ${n} byte(s) at ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) throw new AbiDecodeError(`${what} at ${this.pos - 1} is ${b}, not a bool`);
    return b === 1;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new AbiDecodeError(`${what} ${v} does not fit a safe integer`);
    return n;
  }

  string(what: string): string {
    this.need(2, `${what} length`);
    const len = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    if (len <= 0) return '';
    this.need(len, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** Vec<u8> (u32 length read as i32; < 1 is empty). A copy, so it outlives the module memory. */
  vecU8(what: string): Buffer {
    const len = this.i32(`${what} length`);
    if (len < 1) return Buffer.alloc(0);
    this.need(len, what);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return out;
  }

  varint(what: string): number {
    const first = this.buf[this.pos];
    if (first < 0x80 && this.pos < this.end) {
      this.pos++;
      return first & 1 ? -((first + 1) / 2) : first / 2;
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      this.need(1, what);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new AbiDecodeError(`${what} does not fit a safe integer`);
        // zig-zag: even → n/2, odd → -(n+1)/2
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
    }
    throw new AbiDecodeError(`${what} is longer than 10 bytes`);
  }

  recordData(what: string): Buffer {
    const len = this.varint(`${what} length`);
    if (len < 0) throw new AbiDecodeError(`${what} has a negative length ${len}`);
    this.need(len, what);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /**
   * Walks a `Vec<Record>` as records() decodes it, checking every length,
   * without allocating anything; tells whether its encoding is canonical.
   */
  scanRecords(): RecordsScan {
    const count = this.i32('record count');
    if (count < 1) return { count: 0, end: this.pos, canonical: count === 0 };
    if (count > (this.end - this.pos) / 7) {
      throw new AbiDecodeError(`record count ${count} cannot fit in ${this.end - this.pos} byte(s)`);
    }
    let canonical = true;
    for (let i = 0; i < count; i++) {
      const start = this.pos;
      const len = this.varint('record length');
      const lenBytes = this.pos - start;
      if (this.end - this.pos < len) throw new AbiDecodeError(`not enough bytes for record ${i}`);
      const bodyStart = this.pos;
      this.need(1, 'record attributes');
      this.pos++;
      let size = 1;
      size += varintSize(this.varint('record timestamp_delta'));
      size += varintSize(this.varint('record offset_delta'));
      if (this.bool('record key tag')) {
        const kl = this.varint('record key length');
        if (kl < 0) throw new AbiDecodeError(`record ${i} key has a negative length ${kl}`);
        this.need(kl, 'record key');
        this.pos += kl;
        size += 1 + varintSize(kl) + kl;
      } else {
        size += 1;
      }
      const vl = this.varint('record value length');
      if (vl < 0) throw new AbiDecodeError(`record ${i} value has a negative length ${vl}`);
      this.need(vl, 'record value');
      this.pos += vl;
      size += varintSize(vl) + vl;
      size += varintSize(this.varint('record headers'));
      if (canonical) {
        const body = this.pos - bodyStart;
        canonical = body === len && body === size && lenBytes === varintSize(len);
      }
    }
    return { count, end: this.pos, canonical };
  }

  /** Decodes a `Vec<Record>`; keys and values are views of the buffer. Labels are constants: this runs per record. */
  records(): SmartRecord[] {
    const count = this.i32('record count');
    const records: SmartRecord[] = [];
    if (count < 1) return records;
    // The smallest record is 7 bytes: refuse counts the bytes cannot hold before looping.
    if (count > (this.end - this.pos) / 7) {
      throw new AbiDecodeError(`record count ${count} cannot fit in ${this.end - this.pos} byte(s)`);
    }
    for (let i = 0; i < count; i++) {
      const len = this.varint('record length');
      if (this.end - this.pos < len) throw new AbiDecodeError(`not enough bytes for record ${i}`);
      const attributes = (this.u8('record attributes') << 24) >> 24;
      const timestampDelta = this.varint('record timestamp_delta');
      const offsetDelta = this.varint('record offset_delta');
      const key = this.bool('record key tag') ? this.recordData('record key') : null;
      const value = this.recordData('record value');
      const headers = this.varint('record headers');
      records.push({ attributes, timestampDelta, offsetDelta, key, value, headers });
    }
    return records;
  }

  runtimeError(): TransformRuntimeError {
    const hint = this.string('error.hint');
    const offset = this.i64('error.offset');
    const kind = this.u8('error.kind');
    if (kind >= RUNTIME_ERROR_KINDS.length) throw new AbiDecodeError(`error.kind: unknown SmartModule kind ${kind}`);
    const recordKey = this.bool('error.record_key tag') ? Buffer.from(this.recordData('error.record_key')) : null;
    const recordValue = Buffer.from(this.recordData('error.record_value'));
    return { hint, offset, kind, recordKey, recordValue };
  }
}
