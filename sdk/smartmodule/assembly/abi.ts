// The Fluvio SmartModule ABI (smartmodule-abi.md): what the generated entry
// of a module calls. `freshet sm build` writes an entry that exports
// alloc/dealloc and one transform (plus init / look_back) wrapping the
// user's typed functions with the run* functions below:
//
//   export function filter(ptr: i32, len: i32, version: i32): i32 {
//     return runFilter(ptr, len, version, userFilter);
//   }
//
// Each run*: frees the previous call's output buffer (the host has read it
// by now), decodes the input at `version`, calls the user function per
// record, stops at the first record whose function called fail(), encodes
// the output (successes + optional runtime error with the record's offset),
// hands it to the host with copy_records, frees the input buffer (the guest
// owns it, as in the Rust SDK) and returns the number of output records or
// a negative status.

import { Reader, Writer } from "./bytes";
import { Lookback, Params, Record, toBytes } from "./record";

// @ts-ignore: decorator (AssemblyScript syntax; keeps editors quiet)
@external("env", "copy_records")
declare function copy_records(ptr: i32, len: i32): void;

// ---- status codes (smartmodule-abi.md §2) -----------------------------------
export const DECODING_BASE_INPUT: i32 = -11;
export const DECODING_RECORDS: i32 = -22;
export const INIT_ERROR: i32 = -2;
export const INIT_DECODING_INPUT: i32 = -10;
export const LOOKBACK_DECODING_BASE_INPUT: i32 = -66;
export const LOOKBACK_PROPAGATED_ERROR: i32 = -99;

// SmartModuleKind tags of a runtime error
const KIND_FILTER: u32 = 0;
const KIND_MAP: u32 = 1;
const KIND_ARRAY_MAP: u32 = 2;
const KIND_AGGREGATE: u32 = 3;
const KIND_FILTER_MAP: u32 = 4;

// ---- failing a record ---------------------------------------------------------

let failure: string | null = null;

/**
 * Fails the current record (or init / look-back) with this message. The
 * function's return value is then ignored, processing stops, and the host
 * gets a runtime error naming this record's offset (init: an init error,
 * the chain does not start). Records before it are kept.
 */
export function fail(hint: string): void {
  failure = hint;
}

/** Whether fail() was called for the current record. */
export function failed(): bool {
  return failure != null;
}

function takeFailure(): string | null {
  const f = failure;
  failure = null;
  return f;
}

// ---- memory ---------------------------------------------------------------------

let lastOut: usize = 0;

/**
 * The host's input buffer: a pinned ArrayBuffer of the managed heap, so that
 * the records decoded from it are views into it (no copy); unpinned when the
 * call is done with it, collected once nothing refers to it.
 */
export function smAlloc(len: i32): i32 {
  const buffer = __new(len > 0 ? <usize>len : 1, idof<ArrayBuffer>());
  __pin(buffer);
  return <i32>buffer;
}

export function smDealloc(ptr: i32, len: i32): void {
  releaseInput(ptr);
}

function releaseInput(ptr: i32): void {
  if (ptr != 0) __unpin(<usize>ptr);
}

function begin(): void {
  // the minimal runtime collects only when asked, with the stack unwound: here
  if (ASC_RUNTIME == 1) __collect();
  if (lastOut != 0) {
    heap.free(lastOut);
    lastOut = 0;
  }
  failure = null;
}

function finish(ptr: i32, w: Writer): void {
  releaseInput(ptr);
  lastOut = w.ptr;
  copy_records(<i32>w.ptr, <i32>w.len);
}

// ---- input ------------------------------------------------------------------------

class Input {
  baseOffset: i64 = 0;
  baseTimestamp: i64 = 0;
  records: Record[] = [];
  accumulator: Uint8Array = new Uint8Array(0);
  /** 0 ok, else the status to return. */
  status: i32 = 0;
}

/** SmartModuleExtraParams: BTreeMap<String,String>, then Option<Lookback> at v >= 20. */
function readParams(r: Reader, version: i32, into: Params | null): void {
  const n = <i32>r.u16();
  for (let i = 0; i < n && r.ok; i++) {
    const k = r.string();
    const v = r.string();
    if (into != null && r.ok) into.set(k, v);
  }
  if (version >= 20 && r.bool()) {
    const last = <u64>r.i64();
    let age: i64 = -1;
    if (version >= 21 && r.bool()) {
      const secs = r.i64();
      const nanos = <i64>r.u32();
      age = secs * 1000 + nanos / 1000000;
    }
    if (into != null) into.lookback = new Lookback(last, age);
  }
}

function decodeInput(ptr: i32, len: i32, version: i32, aggregate: bool): Input {
  const input = new Input();
  const r = new Reader(<usize>ptr, <usize>len);
  input.baseOffset = r.i64();
  let rawLen = <i32>r.u32();
  if (rawLen < 0) rawLen = 0;
  const rawStart = r.pos;
  r.skip(<usize>rawLen);
  if (version <= 22) readParams(r, version, null);
  if (version >= 16 && version <= 22) {
    const joinLen = <i32>r.u32();
    if (joinLen > 0) r.skip(<usize>joinLen);
  }
  if (version >= 22) input.baseTimestamp = r.i64();
  if (aggregate && r.ok) {
    const accLen = <i32>r.u32();
    input.accumulator = r.bytes(accLen > 0 ? <usize>accLen : 0);
  }
  if (!r.ok) {
    input.status = DECODING_BASE_INPUT;
    return input;
  }
  // keys and values are views into the input buffer (smAlloc)
  const raw = changetype<ArrayBuffer>(<usize>ptr);
  const rr = new Reader(rawStart, <usize>rawLen);
  const count = <i32>rr.u32();
  // at least 7 bytes a record: a count the bytes cannot hold reserves no more than they can
  const records = new Array<Record>(count > 0 ? min(count, rawLen / 7) : 0);
  records.length = 0; // the capacity stays
  input.records = records;
  for (let i = 0; i < count && rr.ok; i++) {
    const rec = decodeRecord(rr, raw, input.baseOffset, input.baseTimestamp);
    if (rec != null) input.records.push(rec);
  }
  if (!rr.ok) input.status = aggregate ? DECODING_RECORDS : DECODING_BASE_INPUT;
  return input;
}

/** A RecordData of the records section `raw` that `r` reads: a view into it. */
function readRecordData(r: Reader, raw: ArrayBuffer): Uint8Array {
  const n = r.varint();
  if (n < 0 || !r.has(<usize>n)) {
    r.ok = false;
    return new Uint8Array(0);
  }
  const view = Uint8Array.wrap(raw, <i32>(r.pos - changetype<usize>(raw)), <i32>n);
  r.pos += <usize>n;
  return view;
}

function decodeRecord(r: Reader, raw: ArrayBuffer, baseOffset: i64, baseTimestamp: i64): Record | null {
  const len = r.varint();
  if (len < 0 || !r.has(<usize>len)) {
    r.ok = false;
    return null;
  }
  const attributes = <i8>r.u8();
  const tsDelta = r.varint();
  const offDelta = r.varint();
  let key: Uint8Array | null = null;
  if (r.bool()) key = readRecordData(r, raw);
  const value = readRecordData(r, raw);
  const headers = r.varint();
  if (!r.ok) return null;
  return new Record(key, value, baseOffset + offDelta, baseTimestamp + tsDelta, offDelta, tsDelta, attributes, headers);
}

// ---- output -------------------------------------------------------------------------

function writeRecordData(w: Writer, bytes: Uint8Array): void {
  w.varint(<i64>bytes.length);
  w.array(bytes);
}

function varintSize(n: i64): usize {
  let v: i64 = (n << 1) ^ (n >> 31);
  let size: usize = 1;
  while ((v & 0xffffff80) != 0) {
    size++;
    v >>= 7;
  }
  return size;
}

/** Encodes a record with this preamble, key and value. */
function writeRecord(w: Writer, attributes: i8, tsDelta: i64, offDelta: i64, key: Uint8Array | null, value: Uint8Array, headers: i64): void {
  let body: usize = 1 + varintSize(tsDelta) + varintSize(offDelta) + 1;
  if (key != null) body += varintSize(<i64>key.length) + <usize>key.length;
  body += varintSize(<i64>value.length) + <usize>value.length + varintSize(headers);
  w.varint(<i64>body);
  w.u8(<u32>(<u8>attributes));
  w.varint(tsDelta);
  w.varint(offDelta);
  if (key != null) {
    w.u8(1);
    writeRecordData(w, key);
  } else {
    w.u8(0);
  }
  writeRecordData(w, value);
  w.varint(headers);
}

function writeInputRecord(w: Writer, rec: Record): void {
  writeRecord(w, rec.attributes, rec.timestampDelta, rec.offsetDelta, rec.key, rec.value, rec.headers);
}

/** Option<SmartModuleTransformRuntimeError>: Some + hint, offset, kind, the failing input record's key and value. */
function writeRuntimeError(w: Writer, hint: string, rec: Record, kind: u32): void {
  w.u8(1);
  w.string(hint);
  w.i64(rec.offset);
  w.u8(kind);
  const key = rec.key;
  if (key != null) {
    w.u8(1);
    writeRecordData(w, key);
  } else {
    w.u8(0);
  }
  writeRecordData(w, rec.value);
}

// ---- transforms -------------------------------------------------------------------

export function runFilter(ptr: i32, len: i32, version: i32, fn: (record: Record) => bool): i32 {
  begin();
  const input = decodeInput(ptr, len, version, false);
  if (input.status != 0) {
    releaseInput(ptr);
    return input.status;
  }
  const w = new Writer(<usize>len + 16);
  w.u32(0);
  let count: u32 = 0;
  let errorWritten = false;
  for (let i = 0; i < input.records.length; i++) {
    const rec = input.records[i];
    const keep = fn(rec);
    const f = takeFailure();
    if (f != null) {
      w.u32At(0, count);
      writeRuntimeError(w, f, rec, KIND_FILTER);
      errorWritten = true;
      break;
    }
    if (keep) {
      writeInputRecord(w, rec);
      count++;
    }
  }
  if (!errorWritten) {
    w.u32At(0, count);
    w.u8(0);
  }
  finish(ptr, w);
  return <i32>count;
}

export function runMap(ptr: i32, len: i32, version: i32, fn: (record: Record) => Record): i32 {
  return mapLike(ptr, len, version, fn, null, KIND_MAP);
}

export function runFilterMap(ptr: i32, len: i32, version: i32, fn: (record: Record) => Record | null): i32 {
  return mapLike(ptr, len, version, null, fn, KIND_FILTER_MAP);
}

function mapLike(
  ptr: i32,
  len: i32,
  version: i32,
  map: ((record: Record) => Record) | null,
  filterMap: ((record: Record) => Record | null) | null,
  kind: u32,
): i32 {
  begin();
  const input = decodeInput(ptr, len, version, false);
  if (input.status != 0) {
    releaseInput(ptr);
    return input.status;
  }
  const w = new Writer(<usize>len + 16);
  w.u32(0);
  let count: u32 = 0;
  let errorWritten = false;
  for (let i = 0; i < input.records.length; i++) {
    const rec = input.records[i];
    let out: Record | null;
    if (map != null) out = map(rec);
    else out = filterMap!(rec);
    const f = takeFailure();
    if (f != null) {
      w.u32At(0, count);
      writeRuntimeError(w, f, rec, kind);
      errorWritten = true;
      break;
    }
    if (out != null) {
      // the input's preamble is kept: only key and value come from the function
      writeRecord(w, rec.attributes, rec.timestampDelta, rec.offsetDelta, out.key, out.value, rec.headers);
      count++;
    }
  }
  if (!errorWritten) {
    w.u32At(0, count);
    w.u8(0);
  }
  finish(ptr, w);
  return <i32>count;
}

export function runArrayMap(ptr: i32, len: i32, version: i32, fn: (record: Record) => Record[]): i32 {
  begin();
  const input = decodeInput(ptr, len, version, false);
  if (input.status != 0) {
    releaseInput(ptr);
    return input.status;
  }
  const w = new Writer(<usize>len + 16);
  w.u32(0);
  let count: u32 = 0;
  let errorWritten = false;
  for (let i = 0; i < input.records.length; i++) {
    const rec = input.records[i];
    const outs = fn(rec);
    const f = takeFailure();
    if (f != null) {
      w.u32At(0, count);
      writeRuntimeError(w, f, rec, KIND_ARRAY_MAP);
      errorWritten = true;
      break;
    }
    for (let j = 0; j < outs.length; j++) {
      // new records: attributes 0, both deltas 0, key as returned
      const out = outs[j];
      writeRecord(w, 0, 0, 0, out.key, out.value, 0);
      count++;
    }
  }
  if (!errorWritten) {
    w.u32At(0, count);
    w.u8(0);
  }
  finish(ptr, w);
  return <i32>count;
}

/**
 * aggregate(accumulator, record) -> new accumulator, with the accumulator a
 * string or a Uint8Array. Each output record is the input record with its
 * value replaced by the accumulator after it.
 */
export function runAggregate<A>(ptr: i32, len: i32, version: i32, fn: (accumulator: A, record: Record) => A): i32 {
  begin();
  const input = decodeInput(ptr, len, version, true);
  if (input.status != 0) {
    releaseInput(ptr);
    return input.status;
  }
  let acc: A;
  if (isString<A>()) {
    acc = changetype<A>(String.UTF8.decodeUnsafe(input.accumulator.dataStart, <usize>input.accumulator.length, false));
  } else if (idof<A>() == idof<Uint8Array>()) {
    acc = changetype<A>(input.accumulator);
  } else {
    ERROR("the accumulator of aggregate must be a string or a Uint8Array");
  }
  let accBytes = input.accumulator;
  const w = new Writer(<usize>len + 16);
  w.u32(0);
  let count: u32 = 0;
  let errorWritten = false;
  for (let i = 0; i < input.records.length; i++) {
    const rec = input.records[i];
    const next = fn(acc, rec);
    const f = takeFailure();
    if (f != null) {
      w.u32At(0, count);
      writeRuntimeError(w, f, rec, KIND_AGGREGATE);
      errorWritten = true;
      break;
    }
    acc = next;
    accBytes = toBytes<A>(acc);
    writeRecord(w, rec.attributes, rec.timestampDelta, rec.offsetDelta, rec.key, accBytes, rec.headers);
    count++;
  }
  if (!errorWritten) {
    w.u32At(0, count);
    w.u8(0);
  }
  // SmartModuleAggregateOutput: the accumulator follows (v >= 16)
  if (version >= 16) {
    w.u32(<u32>accBytes.length);
    w.array(accBytes);
  }
  finish(ptr, w);
  return <i32>count;
}

// ---- init and look_back ---------------------------------------------------------------

/** init(params): call fail(hint) to refuse the params (the chain does not start). */
export function runInit(ptr: i32, len: i32, version: i32, fn: (params: Params) => void): i32 {
  begin();
  const r = new Reader(<usize>ptr, <usize>len);
  const params = new Params();
  readParams(r, version, params);
  if (!r.ok) {
    releaseInput(ptr);
    return INIT_DECODING_INPUT;
  }
  fn(params);
  const f = takeFailure();
  if (f == null) {
    releaseInput(ptr);
    return 0;
  }
  const w = new Writer(f.length * 3 + 8);
  w.string(f);
  finish(ptr, w);
  return INIT_ERROR;
}

/** lookBack(record) for each record the SPU reads back before the first batch; fail(hint) stops with an error. */
export function runLookBack(ptr: i32, len: i32, version: i32, fn: (record: Record) => void): i32 {
  begin();
  const input = decodeInput(ptr, len, version, false);
  if (input.status != 0) {
    releaseInput(ptr);
    return LOOKBACK_DECODING_BASE_INPUT;
  }
  for (let i = 0; i < input.records.length; i++) {
    const rec = input.records[i];
    fn(rec);
    const f = takeFailure();
    if (f != null) {
      // SmartModuleLookbackOutput: hint, offset, record_key, record_value (no kind)
      const w = new Writer(<usize>rec.value.length + 64);
      w.string(f);
      w.i64(rec.offset);
      const key = rec.key;
      if (key != null) {
        w.u8(1);
        writeRecordData(w, key);
      } else {
        w.u8(0);
      }
      writeRecordData(w, rec.value);
      finish(ptr, w);
      return LOOKBACK_PROPAGATED_ERROR;
    }
  }
  releaseInput(ptr);
  return 0;
}
