import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from '../../../src/protocol/codec.js';
import { decodeSmartModuleExtraParams } from '../../../src/protocol/messages/smartmodule-invocation.js';
import {
  RUNTIME_ERROR_KINDS,
  SmartEngine,
  SmartModuleError,
  type ChainModuleConfig,
  type Lookback,
  type SmartRecord,
  type TraceCall,
} from '../../../src/smartengine/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const vectorsDir = path.resolve(repoRoot, '../shared/reference/smartmodule-vectors');

export interface Vector {
  name: string;
  fn: string;
  version: number;
  input_hex: string;
  rc: number;
  output_hex: string;
  note?: string;
  decoded?: { input?: DecodedInput; output?: DecodedOutput; ok?: boolean; error?: { hint: string } };
}

export interface VectorRecord {
  attributes: number;
  timestampDelta: string;
  offsetDelta: string;
  key: string | null;
  value: string;
  headers: string;
}

export interface DecodedOutput {
  rc: number;
  successes?: VectorRecord[];
  error?: { hint: string; offset: string; kind: string; recordKey: string | null; recordValue: string } | null;
  accumulator_after?: string;
  status?: string;
}

export interface DecodedInput {
  baseOffset: string;
  baseTimestamp: string;
  records: VectorRecord[];
}

export interface VectorFile {
  binary: { id: string; sha256: string; size: number };
  vectors: Vector[];
}

export function loadVectors<T = VectorFile>(file: string): T {
  return JSON.parse(readFileSync(path.join(vectorsDir, file), 'utf8')) as T;
}

/** A test-side reading of SmartModuleInput / SmartModuleAggregateInput (independent of the engine's encoder). */
export function decodeInput(
  bytes: Buffer,
  version: number,
  aggregate: boolean,
): { baseOffset: number; raw: Buffer; baseTimestamp: number; accumulator?: Buffer } {
  let pos = 0;
  const baseOffset = Number(bytes.readBigInt64BE(pos));
  pos += 8;
  const rawLen = bytes.readUInt32BE(pos);
  pos += 4;
  const raw = bytes.subarray(pos, pos + rawLen);
  pos += rawLen;
  if (version <= 22) {
    const count = bytes.readUInt16BE(pos);
    pos += 2;
    if (count !== 0) throw new Error('test decoder expects empty params in SmartModuleInput');
    if (version >= 20) pos += 1; // lookback None
  }
  if (version >= 16 && version <= 22) pos += 4 + bytes.readUInt32BE(pos);
  let baseTimestamp = 0;
  if (version >= 22) {
    baseTimestamp = Number(bytes.readBigInt64BE(pos));
    pos += 8;
  }
  if (!aggregate) return { baseOffset, raw, baseTimestamp };
  const accLen = bytes.readUInt32BE(pos);
  pos += 4;
  return { baseOffset, raw, baseTimestamp, accumulator: bytes.subarray(pos, pos + accLen) };
}

export function decodeInitInput(bytes: Buffer, version: number): { params: Map<string, string>; lookback?: Lookback } {
  const p = decodeSmartModuleExtraParams(new Reader(bytes), version);
  return p.lookback === undefined ? { params: p.params } : { params: p.params, lookback: p.lookback };
}

export function recordView(r: SmartRecord): VectorRecord {
  return {
    attributes: r.attributes,
    timestampDelta: String(r.timestampDelta),
    offsetDelta: String(r.offsetDelta),
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value.toString('utf8'),
    headers: String(r.headers),
  };
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Collects trace calls. */
export function tracer(): { calls: TraceCall[]; hook: (c: TraceCall) => void } {
  const calls: TraceCall[] = [];
  return { calls, hook: (c) => calls.push(c) };
}

export function rec(value: string, opts: { key?: string; offsetDelta?: number; timestampDelta?: number } = {}): SmartRecord {
  return {
    attributes: 0,
    timestampDelta: opts.timestampDelta ?? 0,
    offsetDelta: opts.offsetDelta ?? 0,
    key: opts.key === undefined ? null : Buffer.from(opts.key),
    value: Buffer.from(value),
    headers: 0,
  };
}

/** Records with offset deltas 0, 1, 2… */
export function recs(...values: string[]): SmartRecord[] {
  return values.map((v, i) => rec(v, { offsetDelta: i }));
}

/** A test-side reading of `Vec<Record>` (independent of the engine's decoder). */
export function parseRecords(raw: Buffer): SmartRecord[] {
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = raw[pos++];
      n += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
    }
  };
  const data = (): Buffer => {
    const len = varint();
    pos += len;
    return raw.subarray(pos - len, pos);
  };
  const count = raw.readUInt32BE(0);
  pos = 4;
  const out: SmartRecord[] = [];
  for (let i = 0; i < count; i++) {
    const len = varint();
    const end = pos + len;
    const attributes = raw[pos++];
    const timestampDelta = varint();
    const offsetDelta = varint();
    const key = raw[pos++] === 1 ? data() : null;
    const value = data();
    const headers = varint();
    assert.equal(pos, end, `record ${i}: length prefix`);
    out.push({ attributes, timestampDelta, offsetDelta, key, value, headers });
  }
  return out;
}

/**
 * The records of a vector's `decoded.input`, as SmartRecords. `decoded`
 * shows bytes that are not UTF-8 as U+FFFD; those values (and keys) are
 * taken from `input_hex` instead.
 */
export function vectorInputRecords(v: Vector, aggregate: boolean): SmartRecord[] {
  const decoded = v.decoded?.input;
  assert.ok(decoded, `${v.name} has a decoded input`);
  const raw = parseRecords(decodeInput(Buffer.from(v.input_hex, 'hex'), v.version, aggregate).raw);
  const bytes = (s: string, i: number, field: 'key' | 'value'): Buffer =>
    s.includes('\ufffd') ? (raw[i][field] as Buffer) : Buffer.from(s, 'utf8');
  return decoded.records.map((r, i) => ({
    attributes: r.attributes,
    timestampDelta: Number(r.timestampDelta),
    offsetDelta: Number(r.offsetDelta),
    key: r.key === null ? null : bytes(r.key, i, 'key'),
    value: bytes(r.value, i, 'value'),
    headers: Number(r.headers),
  }));
}

/** Groups the vectors that run on one instance: an optional init and its transform, or an aggregate sequence #0, #1… */
export function vectorGroups(vectors: Vector[]): Vector[][] {
  const out: Vector[][] = [];
  let pendingInit: Vector | null = null;
  for (const v of vectors) {
    if (v.fn === 'init') {
      if (pendingInit) out.push([pendingInit]); // an init whose transform never ran (init failed)
      pendingInit = v;
      continue;
    }
    const seq = /^(.*)#(\d+)$/.exec(v.name);
    const prev = out[out.length - 1];
    const prevSeq = prev ? /^(.*)#(\d+)$/.exec(prev[prev.length - 1].name) : null;
    if (seq && seq[2] !== '0' && prevSeq && prevSeq[1] === seq[1] && !pendingInit) {
      prev.push(v);
      continue;
    }
    out.push(pendingInit ? [pendingInit, v] : [v]);
    pendingInit = null;
  }
  if (pendingInit) out.push([pendingInit]);
  return out;
}

/**
 * Replays one group of vectors (vectorGroups) on one instance of `wasm`
 * through the engine's public API, and checks byte for byte what the engine
 * wrote into the module (init params, SmartModuleInput at the version, the
 * aggregate accumulator it carries), the rc and copy_records bytes the module
 * gave back, and what the engine made of them (records, runtime error, error
 * status, init failure).
 *
 * `inputAs`: 'records' hands the engine the vector's decoded records (the
 * engine encodes them); 'bytes' hands it the encoded records section taken
 * from input_hex (the engine only frames it).
 */
export async function replayVectorGroup(
  wasm: Uint8Array,
  group: Vector[],
  opts: { name: string; inputAs: 'records' | 'bytes' },
): Promise<void> {
  const { name } = opts;
  const t = tracer();
  // exactly Fluvio's engine, whose calls the vectors recorded (no 2022-era fallback)
  const engine = new SmartEngine({ trace: t.hook, wasiOutput: 'discard', eraFallback: false });
  const init = group[0].fn === 'init' ? group[0] : null;
  const transforms = init ? group.slice(1) : group;
  const first = transforms[0];
  const version = (init ?? first).version;
  const config: ChainModuleConfig = { wasm, name, version };
  if (init) {
    const { params, lookback } = decodeInitInput(Buffer.from(init.input_hex, 'hex'), init.version);
    config.params = params;
    if (lookback) config.lookback = lookback;
  }
  const isAggregate = first?.fn === 'aggregate';
  if (isAggregate) {
    config.accumulator = decodeInput(Buffer.from(first.input_hex, 'hex'), first.version, true).accumulator;
  }

  if (init && init.rc < 0) {
    const hint = init.decoded?.error?.hint;
    assert.ok(hint, `${init.name}: decoded hint`);
    await assert.rejects(engine.buildChain([config]), (err: unknown) => {
      assert.ok(err instanceof SmartModuleError);
      assert.equal(err.kind, 'init');
      assert.equal(err.fluvioError.code, 6005);
      assert.equal(err.message, `SmartModule "${name}": init failed: ${hint}`);
      return true;
    });
    assert.equal(t.calls.length, 1);
    assert.equal(t.calls[0].fn, 'init');
    assert.equal(hex(t.calls[0].input), init.input_hex, `${init.name}: init input bytes`);
    assert.equal(t.calls[0].rc, init.rc);
    assert.equal(hex(t.calls[0].output), init.output_hex);
    assert.equal(engine.stats().liveInstances, 0);
    return;
  }

  const chain = await engine.buildChain([config]);
  if (init) {
    assert.equal(t.calls.length, 1);
    assert.equal(hex(t.calls[0].input), init.input_hex, `${init.name}: init input bytes`);
    assert.equal(t.calls[0].rc, init.rc);
    assert.equal(hex(t.calls[0].output), init.output_hex);
  } else {
    assert.equal(t.calls.length, 0);
  }

  for (const v of transforms) {
    t.calls.length = 0;
    const input = decodeInput(Buffer.from(v.input_hex, 'hex'), v.version, isAggregate);
    const decoded = v.decoded?.input;
    assert.ok(decoded, `${v.name} has a decoded input`);
    const records = opts.inputAs === 'records' ? vectorInputRecords(v, isAggregate) : input.raw;
    const out = chain.process(records, { baseOffset: Number(decoded.baseOffset), baseTimestamp: Number(decoded.baseTimestamp) });
    assert.equal(t.calls.length, 1);
    const call = t.calls[0];
    assert.equal(call.fn, v.fn);
    assert.equal(call.version, v.version);
    assert.equal(hex(call.input), v.input_hex, `${v.name}: input bytes`);
    assert.equal(call.rc, v.rc, `${v.name}: rc`);
    assert.equal(hex(call.output), v.output_hex, `${v.name}: output bytes`);

    const expected = v.decoded?.output;
    assert.ok(expected, `${v.name} has a decoded output`);
    if (v.rc < 0) {
      assert.equal(out.records.length, 0);
      assert.equal(out.error?.kind, 'status');
      assert.equal(out.error?.moduleName, name);
      assert.equal(out.error?.offset, input.baseOffset);
      assert.equal(out.error?.fluvioError.code, 2);
      assert.match(out.error?.message ?? '', new RegExp(`returned ${v.rc} \\(${expected.status}:`));
      continue;
    }
    assert.equal(out.count, expected.successes?.length);
    assert.deepEqual(out.records.map(recordView), expected.successes);
    if (expected.error) {
      assert.equal(out.error?.kind, 'runtime');
      assert.equal(out.error?.moduleName, name);
      assert.equal(out.error?.offset, Number(expected.error.offset));
      const fe = out.error?.fluvioError;
      assert.equal(fe?.code, 6004);
      assert.equal(fe?.hint, expected.error.hint);
      assert.equal(fe?.offset, Number(expected.error.offset));
      assert.equal(fe?.smartModuleKind, RUNTIME_ERROR_KINDS.indexOf(expected.error.kind as (typeof RUNTIME_ERROR_KINDS)[number]));
      assert.equal(fe?.recordKey === null ? null : fe?.recordKey?.toString(), expected.error.recordKey);
      assert.equal(fe?.recordValue?.toString('utf8'), expected.error.recordValue);
    } else {
      assert.equal(out.error, undefined);
    }
    // The engine hands back the module's own bytes when they are canonical.
    if (out.recordsBytes) {
      const outBytes = Buffer.from(v.output_hex, 'hex');
      assert.equal(hex(out.recordsBytes), hex(outBytes.subarray(0, out.recordsBytes.length)));
    }
  }
  chain.close();
  assert.equal(engine.stats().liveInstances, 0);
  assert.equal(engine.stats().memoryInUseBytes, 0);
}

// --- a tiny wasm assembler for synthetic test modules ------------------------

export const I32 = 0x7f;
export const I64 = 0x7e;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function name(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export interface WasmFunc {
  /** Export name, if exported. */
  export?: string;
  params: number[];
  results: number[];
  locals?: number[];
  /** Instruction bytes, without the final `end`. */
  body: number[];
}

export interface WasmSpec {
  /** Imported functions: [module, name, params, results]. They take the first function indexes. */
  imports?: [string, string, number[], number[]][];
  memoryPages?: number;
  memoryMax?: number;
  exportMemory?: boolean;
  /** i32 globals with optional export names: a name or null is mutable and starts at 0. */
  globals?: (string | null | { name: string | null; mutable: boolean; value: number })[];
  funcs: WasmFunc[];
  /** Data segments at constant offsets. */
  data?: [number, Buffer][];
  /** More sections, [id, content], placed in the standard order (custom sections, id 0, last). */
  sections?: [number, number[]][];
}

const SECTION_POSITION: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13, 0: 14 };

/** Assembles a module. Function indexes: imports first, then `funcs` in order. */
export function buildWasm(spec: WasmSpec): Buffer<ArrayBuffer> {
  const types: number[][] = [];
  const typeIndex = (params: number[], results: number[]): number => {
    const t = [0x60, ...uleb(params.length), ...params, ...uleb(results.length), ...results];
    const key = JSON.stringify(t);
    const found = types.findIndex((x) => JSON.stringify(x) === key);
    if (found >= 0) return found;
    types.push(t);
    return types.length - 1;
  };
  const imports = (spec.imports ?? []).map(([m, n, p, r]) => [...name(m), ...name(n), 0x00, ...uleb(typeIndex(p, r))]);
  const funcTypes = spec.funcs.map((f) => uleb(typeIndex(f.params, f.results)));
  const sections: [number, number[]][] = [[1, []]]; // the type section is filled in last (imports add types)
  if (imports.length > 0) sections.push([2, vec(imports)]);
  sections.push([3, vec(funcTypes)]);
  if (spec.memoryPages !== undefined) {
    const lim = spec.memoryMax === undefined ? [0x00, ...uleb(spec.memoryPages)] : [0x01, ...uleb(spec.memoryPages), ...uleb(spec.memoryMax)];
    sections.push([5, vec([lim])]);
  }
  const globals = (spec.globals ?? []).map((g) => (g === null || typeof g === 'string' ? { name: g, mutable: true, value: 0 } : g));
  if (globals.length > 0) sections.push([6, vec(globals.map((g) => [I32, g.mutable ? 0x01 : 0x00, 0x41, ...sleb(g.value), 0x0b]))]);
  const exports: number[][] = [];
  const nImports = imports.length;
  spec.funcs.forEach((f, i) => {
    if (f.export !== undefined) exports.push([...name(f.export), 0x00, ...uleb(nImports + i)]);
  });
  if (spec.memoryPages !== undefined && spec.exportMemory !== false) exports.push([...name('memory'), 0x02, 0x00]);
  globals.forEach((g, i) => {
    if (g.name !== null) exports.push([...name(g.name), 0x03, ...uleb(i)]);
  });
  sections.push([7, vec(exports)]);
  const bodies = spec.funcs.map((f) => {
    const locals = f.locals ?? [];
    const localDecl = vec(locals.map((t) => [0x01, t]));
    const body = [...localDecl, ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  sections.push([10, vec(bodies)]);
  if (spec.data && spec.data.length > 0) {
    const segs = spec.data.map(([offset, bytes]) => [0x00, 0x41, ...sleb(offset), 0x0b, ...uleb(bytes.length), ...bytes]);
    sections.push([11, vec(segs)]);
  }
  sections.push(...(spec.sections ?? []));
  sections[0][1] = vec(types);
  const sorted = sections.map((sec, i) => ({ sec, i })).sort((a, b) => SECTION_POSITION[a.sec[0]] - SECTION_POSITION[b.sec[0]] || a.i - b.i);
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const { sec } of sorted) out.push(...section(sec[0], sec[1]));
  return Buffer.from(out);
}

/** A custom section's content: its name, then the bytes. */
export function customSection(sectionName: string, bytes: number[] | Buffer): [number, number[]] {
  return [0, [...name(sectionName), ...bytes]];
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** i32.const n */
export const i32c = (n: number): number[] => [0x41, ...sleb(n)];

/**
 * A SmartModule skeleton: imports env.copy_records (function 0), exports
 * memory (pages), a bump `alloc` (function 1) starting at 1024, and the
 * given transform bodies (params: ptr=0, len=1, version=2).
 */
export function syntheticModule(opts: {
  transform?: string;
  body: number[];
  locals?: number[];
  pages?: number;
  extraFuncs?: WasmFunc[];
  data?: [number, Buffer][];
  noAlloc?: boolean;
  globals?: WasmSpec['globals'];
  imports?: [string, string, number[], number[]][];
  sections?: [number, number[]][];
}): Buffer<ArrayBuffer> {
  const funcs: WasmFunc[] = [];
  // global 0 = bump pointer (starts at 0, alloc adds 1024 on first use)
  const globals = [null, ...(opts.globals ?? [])];
  if (!opts.noAlloc) {
    funcs.push({
      export: 'alloc',
      params: [I32],
      results: [I32],
      // if (g0 == 0) g0 = 1024; ret = g0; g0 += len; ret
      body: [
        0x23, 0x00, 0x45, 0x04, 0x40, ...i32c(1024), 0x24, 0x00, 0x0b,
        0x23, 0x00, 0x23, 0x00, 0x20, 0x00, 0x6a, 0x24, 0x00,
      ],
    });
  }
  funcs.push({ export: opts.transform ?? 'filter', params: [I32, I32, I32], results: [I32], locals: opts.locals ?? [], body: opts.body });
  funcs.push(...(opts.extraFuncs ?? []));
  const spec: WasmSpec = {
    imports: [['env', 'copy_records', [I32, I32], []], ...(opts.imports ?? [])],
    memoryPages: opts.pages ?? 1,
    globals,
    funcs,
  };
  if (opts.data) spec.data = opts.data;
  if (opts.sections) spec.sections = opts.sections;
  return buildWasm(spec);
}

/** What a canned module returns from one call. */
export interface CannedCall {
  rc: number;
  /** Passed to copy_records; copy_records is not called when empty. */
  output: Buffer;
}

/**
 * A module that replays recorded calls: its k-th transform call (and its
 * init) passes the k-th recorded output to copy_records and returns the
 * recorded rc, whatever its input (the tests check the input through the
 * engine's trace). More calls than recorded trap. Lets the engine's side of
 * every reference vector run without the module that recorded it.
 */
export function cannedModule(opts: { transform: string; init?: CannedCall; calls: CannedCall[] }): Buffer<ArrayBuffer> {
  const OUTPUTS_AT = 65536; // page 1; inputs are bump-allocated from 1024 in page 0
  const data: [number, Buffer][] = [];
  let at = OUTPUTS_AT;
  const emit = (c: CannedCall): number[] => {
    if (c.output.length === 0) return [];
    data.push([at, c.output]);
    const code = [...i32c(at), ...i32c(c.output.length), 0x10, 0x00]; // copy_records(at, len)
    at += c.output.length;
    return code;
  };
  const body: number[] = [];
  opts.calls.forEach((c, k) => {
    // if (g1 == k) { copy_records…; g1 += 1; return rc }
    body.push(0x23, 0x01, ...i32c(k), 0x46, 0x04, 0x40, ...emit(c), 0x23, 0x01, ...i32c(1), 0x6a, 0x24, 0x01, ...i32c(c.rc), 0x0f, 0x0b);
  });
  body.push(0x00); // unreachable: more calls than recorded
  const extraFuncs: WasmFunc[] = [];
  if (opts.init) {
    extraFuncs.push({ export: 'init', params: [I32, I32, I32], results: [I32], body: [...emit(opts.init), ...i32c(opts.init.rc)] });
  }
  return syntheticModule({ transform: opts.transform, body, extraFuncs, data, pages: 2, globals: [null] });
}

// --- the bad binaries of negative-binaries.json, rebuilt -----------------------------

/**
 * Like filter_missing_attribute: imports nothing (no copy_records) and
 * exports only memory, alloc, dealloc, __data_end and __heap_base.
 */
export function noImportModule(): Buffer<ArrayBuffer> {
  return buildWasm({
    memoryPages: 17,
    globals: [
      { name: '__data_end', mutable: false, value: 1048576 },
      { name: '__heap_base', mutable: false, value: 1048576 },
    ],
    funcs: [
      { export: 'alloc', params: [I32], results: [I32], body: [...i32c(1024)] },
      { export: 'dealloc', params: [I32, I32], results: [], body: [] },
    ],
  });
}

/**
 * Like sm_need_more_data: a valid module cut short. 168,000 bytes; the
 * custom section at byte 146,480 declares 62,979 bytes of which 21,516 are
 * there.
 */
export function truncatedModule(): Buffer<ArrayBuffer> {
  const head = syntheticModule({ body: [...i32c(0)] });
  const padStart = head.length;
  const padSize = 146_480 - padStart - 4; // id byte + 3-byte LEB size
  const pad = [0x00, ...uleb(padSize), ...name('pad'), ...new Array<number>(padSize - 4).fill(0)];
  const cut = [0x00, ...uleb(62_979), ...name('cut'), ...new Array<number>(21_516 - 4).fill(0)];
  return Buffer.concat([head, Buffer.from(pad), Buffer.from(cut)]);
}

/** Like apackage_module: 432 bytes that are not wasm, starting b9 a9 6d d9. */
export function notWasm(): Buffer<ArrayBuffer> {
  const out = Buffer.alloc(432);
  Buffer.from([0xb9, 0xa9, 0x6d, 0xd9]).copy(out);
  let x = 0x2545f491;
  for (let i = 4; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
