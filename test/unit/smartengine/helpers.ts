import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reader } from '../../../src/protocol/codec.js';
import { decodeSmartModuleExtraParams } from '../../../src/protocol/messages/smartmodule-invocation.js';
import type { Lookback, SmartRecord, TraceCall } from '../../../src/smartengine/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const vectorsDir = path.resolve(repoRoot, '../shared/reference/smartmodule-vectors');
export const fixturesDir = path.resolve(repoRoot, 'test/fixtures/smartmodules');

export function loadWasm(name: string): Buffer<ArrayBuffer> {
  return readFileSync(path.join(fixturesDir, `${name}.wasm`));
}

export interface Vector {
  name: string;
  fn: string;
  version: number;
  input_hex: string;
  rc: number;
  output_hex: string;
  note?: string;
  decoded?: { output?: DecodedOutput };
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
  /** Mutable i32 globals initialised to 0, with optional export names. */
  globals?: (string | null)[];
  funcs: WasmFunc[];
  /** Data segments at constant offsets. */
  data?: [number, Buffer][];
}

/** Assembles a module. Function indexes: imports first, then `funcs` in order. */
export function buildWasm(spec: WasmSpec): Buffer {
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
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec(types)));
  if (imports.length > 0) out.push(...section(2, vec(imports)));
  out.push(...section(3, vec(funcTypes)));
  if (spec.memoryPages !== undefined) {
    const lim = spec.memoryMax === undefined ? [0x00, ...uleb(spec.memoryPages)] : [0x01, ...uleb(spec.memoryPages), ...uleb(spec.memoryMax)];
    out.push(...section(5, vec([lim])));
  }
  const globals = spec.globals ?? [];
  if (globals.length > 0) out.push(...section(6, vec(globals.map(() => [I32, 0x01, 0x41, 0x00, 0x0b]))));
  const exports: number[][] = [];
  const nImports = imports.length;
  spec.funcs.forEach((f, i) => {
    if (f.export !== undefined) exports.push([...name(f.export), 0x00, ...uleb(nImports + i)]);
  });
  if (spec.memoryPages !== undefined && spec.exportMemory !== false) exports.push([...name('memory'), 0x02, 0x00]);
  globals.forEach((g, i) => {
    if (g !== null) exports.push([...name(g), 0x03, ...uleb(i)]);
  });
  out.push(...section(7, vec(exports)));
  const bodies = spec.funcs.map((f) => {
    const locals = f.locals ?? [];
    const localDecl = vec(locals.map((t) => [0x01, t]));
    const body = [...localDecl, ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  out.push(...section(10, vec(bodies)));
  if (spec.data && spec.data.length > 0) {
    const segs = spec.data.map(([offset, bytes]) => [0x00, 0x41, ...sleb(offset), 0x0b, ...uleb(bytes.length), ...bytes]);
    out.push(...section(11, vec(segs)));
  }
  return Buffer.from(out);
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
  globals?: (string | null)[];
  imports?: [string, string, number[], number[]][];
}): Buffer {
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
  return buildWasm(spec);
}
