// Rewrites a SmartModule's wasm binary so that the host can bound each call:
//
//   fuel      a mutable i64 global, exported as FUEL_EXPORT. Every function
//             entry and every `loop` iteration burns 1; memory.copy / fill /
//             init burn 1 per 64 bytes. When it drops below 0 the module
//             traps (`unreachable`); the host tells that trap from a panic by
//             reading the global (< 0 means out of fuel).
//   memory    every `memory.grow` of memory 0 first records the size it asks
//             for (in pages) in GROW_REQUEST_EXPORT and traps when that is
//             above GROW_LIMIT_EXPORT. That is wasmtime's ResourceLimiter
//             behaviour (the grow traps with StoreMemoryExceeded), so a module
//             can never allocate past the limit, not even inside one call.
//
// Why this and not a worker thread (the other way to stop a runaway call,
// with Worker.terminate()): Node's WebAssembly has no fuel and no
// interruption, and a synchronous wasm call cannot be stopped from its own
// thread. Measured with bench/smartengine.ts on this 2-core machine, five
// real Fluvio modules, 1.5–20 KB batches:
//
//   - metering adds 7–40 % to the wasm call itself (20–50 µs on a 300 µs
//     call over 200 records; the fuel check is 10 instructions per function
//     entry and loop iteration);
//   - a worker round trip adds 100–200 µs per batch (post the batch, post the
//     output back), which is as much or more for batches of this size, and
//     on top of that: one worker (~10 MB, ~30 ms to start) per isolation
//     domain, because terminating a worker destroys every instance in it and
//     with them per-stream state (aggregate accumulators, statics set by init
//     and look_back); an async hop per batch; and no way to stop a runaway
//     without losing that state anyway.
//
// Metering keeps every instance on the calling thread, stops exactly the
// offending call, and is deterministic (the same module and input burn the
// same fuel, like wasmtime's fuel). A tight runaway loop burns ~0.8–1
// billion fuel per second here, real modules ~0.4 billion (≈600 per JSON
// record), which is how the engine's fuel limit maps to time.
//
// The rewrite only appends globals and exports and inserts instructions in
// function bodies: no index of any function, global, type, table or memory
// changes, so element/data segments, the start function and names stay
// valid. An opcode the walker does not know makes instrument() throw; the
// engine then refuses the module (a limit it cannot enforce is not a limit).

export const FUEL_EXPORT = '__freshet_fuel';
export const GROW_LIMIT_EXPORT = '__freshet_grow_limit_pages';
export const GROW_REQUEST_EXPORT = '__freshet_grow_request_pages';

/** Fuel a start function may burn during instantiation (before the host can set the global). */
export const INSTANTIATION_FUEL = 4_000_000_000;
/** log2 of the bytes of memory.copy/fill/init that cost one unit of fuel. */
export const BULK_BYTES_PER_FUEL_SHIFT = 6;

export class InstrumentError extends Error {
  override name = 'InstrumentError';
}

export interface InstrumentResult {
  bytes: Uint8Array;
  /** Whether memory.grow of memory 0 is guarded (false for memory64 or a module without memory). */
  growGuarded: boolean;
  /** Initial pages of memory 0 (defined or imported), or 0. */
  initialPages: number;
  functionsInstrumented: number;
  /** Exports: name → kind (0 function, 1 table, 2 memory, 3 global, 4 tag) and, for functions, the signature ("i32 i32 i32 -> i32"). */
  exports: Map<string, { kind: number; signature?: string }>;
}

const VALTYPE_NAMES: Readonly<Record<number, string>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' };

// --- byte reading --------------------------------------------------------------

class In {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new InstrumentError(`unexpected end of module at byte ${this.pos}`);
    return this.buf[this.pos++];
  }

  /** Unsigned LEB128 up to 64 bits; the value is exact up to 2^53. */
  u(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return result;
    }
    throw new InstrumentError(`LEB128 longer than 10 bytes at ${this.pos}`);
  }

  /** Skips a signed or unsigned LEB128 of any width. */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    throw new InstrumentError(`LEB128 longer than 10 bytes at ${this.pos}`);
  }

  skip(n: number): void {
    if (this.pos + n > this.buf.length) throw new InstrumentError(`unexpected end of module at byte ${this.pos}`);
    this.pos += n;
  }

  name(): void {
    this.skip(this.u());
  }

  /** A value type: one byte, or (ref null? heaptype) for typed references. */
  valType(): string {
    const b = this.byte();
    if (b === 0x63 || b === 0x64) this.skipLeb();
    return VALTYPE_NAMES[b] ?? 'ref';
  }

  /** A composite type of the type section; returns the signature of a function type, else null. */
  compType(): string | null {
    const form = this.byte();
    if (form === 0x60) {
      const params: string[] = [];
      const results: string[] = [];
      for (let n = this.u(); n > 0; n--) params.push(this.valType());
      for (let n = this.u(); n > 0; n--) results.push(this.valType());
      return `${params.join(' ')} -> ${results.join(' ')}`;
    }
    if (form === 0x5f) {
      for (let n = this.u(); n > 0; n--) this.fieldType();
      return null;
    }
    if (form === 0x5e) {
      this.fieldType();
      return null;
    }
    throw new InstrumentError(`unknown type form 0x${form.toString(16)}`);
  }

  private fieldType(): void {
    const b = this.buf[this.pos];
    if (b === 0x78 || b === 0x77) this.pos++; // packed i8 / i16
    else this.valType();
    this.byte(); // mutability
  }

  /** One entry of the type section (a sub type or a rec group); returns the signatures it defines. */
  typeEntry(): (string | null)[] {
    const b = this.buf[this.pos];
    if (b === 0x4e) {
      this.pos++;
      const out: (string | null)[] = [];
      for (let n = this.u(); n > 0; n--) out.push(...this.typeEntry());
      return out;
    }
    if (b === 0x50 || b === 0x4f) {
      this.pos++;
      for (let n = this.u(); n > 0; n--) this.u();
    }
    return [this.compType()];
  }

  blockType(): void {
    const b = this.buf[this.pos];
    if (b === 0x63 || b === 0x64) {
      this.pos++;
      this.skipLeb();
    } else {
      this.skipLeb(); // 0x40, a one-byte value type, or an s33 type index
    }
  }

  limits(): { min: number; is64: boolean } {
    const flags = this.byte();
    const min = this.u();
    if (flags & 0x01) this.u();
    return { min, is64: (flags & 0x04) !== 0 };
  }

  memarg(): void {
    const align = this.u();
    if (align & 0x40) this.u(); // multi-memory: memory index
    this.skipLeb(); // offset
  }
}

// --- byte writing ---------------------------------------------------------------

class Out {
  private chunks: Uint8Array[] = [];
  private cur: number[] = [];

  byte(...bs: number[]): void {
    for (const b of bs) this.cur.push(b);
  }

  u(n: number): void {
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      this.cur.push(b);
    } while (n > 0);
  }

  /** Signed LEB128 (for i64.const). */
  s(n: number): void {
    for (;;) {
      const b = ((n % 128) + 128) % 128;
      n = Math.floor(n / 128);
      const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
      this.cur.push(done ? b : b | 0x80);
      if (done) return;
    }
  }

  bytes(b: Uint8Array): void {
    if (b.length < 64) {
      for (const x of b) this.cur.push(x);
      return;
    }
    this.flush();
    this.chunks.push(b);
  }

  private flush(): void {
    if (this.cur.length > 0) {
      this.chunks.push(Uint8Array.from(this.cur));
      this.cur = [];
    }
  }

  finish(): Uint8Array {
    this.flush();
    let len = 0;
    for (const c of this.chunks) len += c.length;
    const out = new Uint8Array(len);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}

function uleb(n: number): Uint8Array {
  const o = new Out();
  o.u(n);
  return o.finish();
}

// --- module layout ------------------------------------------------------------

interface Section {
  id: number;
  start: number; // content start
  end: number;
}

// Position of each known section id in the required order.
const SECTION_ORDER: Readonly<Record<number, number>> = {
  1: 1, // type
  2: 2, // import
  3: 3, // function
  4: 4, // table
  5: 5, // memory
  13: 6, // tag
  6: 7, // global
  7: 8, // export
  8: 9, // start
  9: 10, // element
  12: 11, // data count
  10: 12, // code
  11: 13, // data
};

const GLOBAL_SECTION = 6;
const EXPORT_SECTION = 7;
const CODE_SECTION = 10;

/** Instruments `wasm` (see the top of this file). Throws InstrumentError on anything it cannot parse. */
export function instrument(wasm: Uint8Array): InstrumentResult {
  const inp = new In(wasm);
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
    throw new InstrumentError('not a wasm module (bad magic)');
  }
  if (wasm[4] !== 1 || wasm[5] !== 0 || wasm[6] !== 0 || wasm[7] !== 0) {
    throw new InstrumentError('unsupported wasm binary version');
  }
  inp.pos = 8;
  const sections: Section[] = [];
  while (inp.pos < wasm.length) {
    const id = inp.byte();
    const size = inp.u();
    const start = inp.pos;
    inp.skip(size);
    sections.push({ id, start, end: start + size });
  }

  let importedGlobals = 0;
  let memory0: { min: number; is64: boolean } | null = null;
  let memories = 0;
  const exportNames = new Set<string>();
  const exportList: { name: string; kind: number; index: number }[] = [];
  const types: (string | null)[] = [];
  const funcTypes: number[] = [];
  let definedGlobals = 0;
  for (const s of sections) {
    const r = new In(wasm.subarray(0, s.end));
    r.pos = s.start;
    if (s.id === 1) {
      for (let n = r.u(); n > 0; n--) types.push(...r.typeEntry());
    } else if (s.id === 3) {
      for (let n = r.u(); n > 0; n--) funcTypes.push(r.u());
    } else if (s.id === 2) {
      const n = r.u();
      for (let i = 0; i < n; i++) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) funcTypes.push(r.u());
        else if (kind === 1) {
          r.valType();
          r.limits();
        } else if (kind === 2) {
          const lim = r.limits();
          if (memory0 === null) memory0 = lim;
          memories++;
        } else if (kind === 3) {
          r.valType();
          r.byte();
          importedGlobals++;
        } else if (kind === 4) {
          r.byte();
          r.u();
        } else throw new InstrumentError(`unknown import kind ${kind}`);
      }
    } else if (s.id === 5) {
      const n = r.u();
      if (n > 0 && memory0 === null) memory0 = r.limits();
      memories += n;
    } else if (s.id === GLOBAL_SECTION) {
      definedGlobals = r.u();
    } else if (s.id === EXPORT_SECTION) {
      const n = r.u();
      for (let i = 0; i < n; i++) {
        const len = r.u();
        const name = Buffer.from(wasm.subarray(r.pos, r.pos + len)).toString('utf8');
        exportNames.add(name);
        r.skip(len);
        const kind = r.byte();
        exportList.push({ name, kind, index: r.u() });
      }
    }
  }
  for (const name of [FUEL_EXPORT, GROW_LIMIT_EXPORT, GROW_REQUEST_EXPORT]) {
    if (exportNames.has(name)) throw new InstrumentError(`the module already exports ${name}`);
  }

  const g = importedGlobals + definedGlobals;
  const idx = { fuel: g, tmp: g + 1, limit: g + 2, request: g + 3 };
  const growGuarded = memory0 !== null && !memory0.is64;
  // memory.copy/fill/init sizes are i32 only with a single 32-bit memory.
  const chargeBulk = growGuarded && memories === 1;

  // New globals: fuel (i64), tmp (i32), grow limit in pages (i64), last grow request in pages (i64).
  const newGlobals = new Out();
  newGlobals.byte(0x7e, 0x01, 0x42);
  newGlobals.s(INSTANTIATION_FUEL);
  newGlobals.byte(0x0b);
  newGlobals.byte(0x7f, 0x01, 0x41, 0x00, 0x0b);
  newGlobals.byte(0x7e, 0x01, 0x42);
  newGlobals.s(65536);
  newGlobals.byte(0x0b);
  newGlobals.byte(0x7e, 0x01, 0x42, 0x00, 0x0b);
  const newGlobalBytes = newGlobals.finish();

  const newExports = new Out();
  for (const [name, index] of [
    [FUEL_EXPORT, idx.fuel],
    [GROW_LIMIT_EXPORT, idx.limit],
    [GROW_REQUEST_EXPORT, idx.request],
  ] as const) {
    const nameBytes = Buffer.from(name, 'utf8');
    newExports.u(nameBytes.length);
    newExports.bytes(nameBytes);
    newExports.byte(0x03);
    newExports.u(index);
  }
  const newExportBytes = newExports.finish();

  const out = new Out();
  out.bytes(wasm.subarray(0, 8));
  const hasGlobal = sections.some((s) => s.id === GLOBAL_SECTION);
  const hasExport = sections.some((s) => s.id === EXPORT_SECTION);
  let globalWritten = false;
  let exportWritten = false;
  let functionsInstrumented = 0;

  const writeSection = (id: number, content: Uint8Array): void => {
    out.byte(id);
    out.u(content.length);
    out.bytes(content);
  };
  const appendToVec = (s: Section, extraCount: number, extra: Uint8Array): Uint8Array => {
    const r = new In(wasm.subarray(0, s.end));
    r.pos = s.start;
    const count = r.u();
    const o = new Out();
    o.u(count + extraCount);
    o.bytes(wasm.subarray(r.pos, s.end));
    o.bytes(extra);
    return o.finish();
  };
  const missingBefore = (order: number): void => {
    if (!hasGlobal && !globalWritten && order > SECTION_ORDER[GLOBAL_SECTION]) {
      const o = new Out();
      o.u(4);
      o.bytes(newGlobalBytes);
      writeSection(GLOBAL_SECTION, o.finish());
      globalWritten = true;
    }
    if (!hasExport && !exportWritten && order > SECTION_ORDER[EXPORT_SECTION]) {
      const o = new Out();
      o.u(3);
      o.bytes(newExportBytes);
      writeSection(EXPORT_SECTION, o.finish());
      exportWritten = true;
    }
  };

  for (const s of sections) {
    const order = SECTION_ORDER[s.id];
    if (order !== undefined) missingBefore(order);
    if (s.id === GLOBAL_SECTION) {
      writeSection(s.id, appendToVec(s, 4, newGlobalBytes));
      globalWritten = true;
    } else if (s.id === EXPORT_SECTION) {
      writeSection(s.id, appendToVec(s, 3, newExportBytes));
      exportWritten = true;
    } else if (s.id === CODE_SECTION) {
      const r = new In(wasm.subarray(0, s.end));
      r.pos = s.start;
      const n = r.u();
      const o = new Out();
      o.u(n);
      for (let i = 0; i < n; i++) {
        const size = r.u();
        const bodyStart = r.pos;
        const body = rewriteBody(wasm.subarray(bodyStart, bodyStart + size), idx, growGuarded, chargeBulk, i);
        r.skip(size);
        o.u(body.length);
        o.bytes(body);
        functionsInstrumented++;
      }
      writeSection(s.id, o.finish());
    } else {
      out.byte(s.id);
      out.bytes(uleb(s.end - s.start));
      out.bytes(wasm.subarray(s.start, s.end));
    }
  }
  missingBefore(Number.MAX_SAFE_INTEGER);

  const exports = new Map<string, { kind: number; signature?: string }>();
  for (const e of exportList) {
    const typeIndex = e.kind === 0 ? funcTypes[e.index] : undefined;
    const signature = typeIndex === undefined ? undefined : (types[typeIndex] ?? undefined);
    exports.set(e.name, signature === undefined ? { kind: e.kind } : { kind: e.kind, signature });
  }
  return {
    exports,
    bytes: out.finish(),
    growGuarded,
    initialPages: memory0?.min ?? 0,
    functionsInstrumented,
  };
}

interface GlobalIndexes {
  fuel: number;
  tmp: number;
  limit: number;
  request: number;
}

function emitFuelCheck(o: Out, idx: GlobalIndexes): void {
  // fuel -= 1; if (fuel < 0) unreachable
  o.byte(0x23);
  o.u(idx.fuel);
  o.byte(0x42, 0x01, 0x7d, 0x24);
  o.u(idx.fuel);
  o.byte(0x23);
  o.u(idx.fuel);
  o.byte(0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b);
}

function emitBulkCharge(o: Out, idx: GlobalIndexes): void {
  // tmp = n; fuel -= n >> SHIFT; if (fuel < 0) unreachable; push tmp
  o.byte(0x24);
  o.u(idx.tmp);
  o.byte(0x23);
  o.u(idx.fuel);
  o.byte(0x23);
  o.u(idx.tmp);
  o.byte(0xad, 0x42, BULK_BYTES_PER_FUEL_SHIFT, 0x88, 0x7d, 0x24);
  o.u(idx.fuel);
  o.byte(0x23);
  o.u(idx.fuel);
  o.byte(0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0b, 0x23);
  o.u(idx.tmp);
}

function emitGrowGuard(o: Out, idx: GlobalIndexes): void {
  // tmp = delta; request = memory.size + delta (as u64); if (request > limit) unreachable; push tmp
  o.byte(0x24);
  o.u(idx.tmp);
  o.byte(0x23);
  o.u(idx.tmp);
  o.byte(0xad, 0x3f, 0x00, 0xad, 0x7c, 0x24);
  o.u(idx.request);
  o.byte(0x23);
  o.u(idx.request);
  o.byte(0x23);
  o.u(idx.limit);
  o.byte(0x56, 0x04, 0x40, 0x00, 0x0b, 0x23);
  o.u(idx.tmp);
}

function rewriteBody(
  body: Uint8Array,
  idx: GlobalIndexes,
  growGuarded: boolean,
  chargeBulk: boolean,
  funcIndex: number,
): Uint8Array {
  const r = new In(body);
  const o = new Out();
  const groups = r.u();
  for (let i = 0; i < groups; i++) {
    r.u();
    r.valType();
  }
  o.bytes(body.subarray(0, r.pos));
  emitFuelCheck(o, idx);
  let copied = r.pos;
  const flushTo = (pos: number): void => {
    if (pos > copied) o.bytes(body.subarray(copied, pos));
    copied = pos;
  };
  try {
    while (r.pos < body.length) {
      const at = r.pos;
      const op = r.byte();
      switch (op) {
        case 0x03: // loop bt: meter every iteration
          r.blockType();
          flushTo(r.pos);
          emitFuelCheck(o, idx);
          break;
        case 0x40: {
          // memory.grow memidx
          const mem = r.u();
          if (growGuarded && mem === 0) {
            flushTo(at);
            emitGrowGuard(o, idx);
            o.byte(0x40, 0x00);
            copied = r.pos;
          }
          break;
        }
        case 0xfc: {
          const sub = r.u();
          if (chargeBulk && (sub === 8 || sub === 10 || sub === 11)) {
            // memory.init / memory.copy / memory.fill: charge by size (the top operand)
            skipFcImmediates(r, sub);
            flushTo(at);
            emitBulkCharge(o, idx);
            o.bytes(body.subarray(at, r.pos));
            copied = r.pos;
          } else {
            skipFcImmediates(r, sub);
          }
          break;
        }
        default:
          skipImmediates(r, op);
      }
    }
  } catch (err) {
    if (err instanceof InstrumentError) throw new InstrumentError(`function ${funcIndex}: ${err.message}`);
    throw err;
  }
  flushTo(body.length);
  return o.finish();
}

function skipFcImmediates(r: In, sub: number): void {
  if (sub <= 7) return; // saturating truncations
  switch (sub) {
    case 8: // memory.init dataidx memidx
      r.u();
      r.u();
      return;
    case 9: // data.drop
    case 13: // elem.drop
    case 11: // memory.fill memidx
    case 15: // table.grow
    case 16: // table.size
    case 17: // table.fill
      r.u();
      return;
    case 10: // memory.copy memidx memidx
    case 12: // table.init elemidx tableidx
    case 14: // table.copy
      r.u();
      r.u();
      return;
    default:
      throw new InstrumentError(`unknown opcode 0xfc ${sub}`);
  }
}

function skipImmediates(r: In, op: number): void {
  if (op >= 0x45 && op <= 0xc4) return; // numeric instructions (incl. sign extension)
  if (op >= 0x28 && op <= 0x3e) {
    r.memarg();
    return;
  }
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0a: // throw_ref
    case 0x0b: // end
    case 0x0f: // return
    case 0x19: // catch_all
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
    case 0xd3: // ref.eq
    case 0xd4: // ref.as_non_null
      return;
    case 0x02: // block
    case 0x04: // if
    case 0x06: // try
      r.blockType();
      return;
    case 0x07: // catch tag
    case 0x08: // throw tag
    case 0x09: // rethrow depth
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x12: // return_call
    case 0x14: // call_ref
    case 0x15: // return_call_ref
    case 0x18: // delegate
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0x3f: // memory.size
    case 0xd2: // ref.func
    case 0xd5: // br_on_null
    case 0xd6: // br_on_non_null
      r.u();
      return;
    case 0x0e: {
      // br_table
      const n = r.u();
      for (let i = 0; i <= n; i++) r.u();
      return;
    }
    case 0x11: // call_indirect typeidx tableidx
    case 0x13: // return_call_indirect
      r.u();
      r.u();
      return;
    case 0x1c: {
      // select t*
      const n = r.u();
      for (let i = 0; i < n; i++) r.valType();
      return;
    }
    case 0x1f: {
      // try_table bt vec(catch)
      r.blockType();
      const n = r.u();
      for (let i = 0; i < n; i++) {
        const kind = r.byte();
        if (kind <= 1) r.u(); // tag
        r.u(); // label
      }
      return;
    }
    case 0x41: // i32.const
    case 0x42: // i64.const
      r.skipLeb();
      return;
    case 0x43:
      r.skip(4);
      return;
    case 0x44:
      r.skip(8);
      return;
    case 0xd0: // ref.null heaptype
      r.skipLeb();
      return;
    case 0xfd:
      skipSimdImmediates(r);
      return;
    case 0xfe:
      skipAtomicImmediates(r);
      return;
    default:
      throw new InstrumentError(`unknown opcode 0x${op.toString(16)} at byte ${r.pos - 1}`);
  }
}

function skipSimdImmediates(r: In): void {
  const sub = r.u();
  if (sub <= 11 || sub === 92 || sub === 93) {
    r.memarg(); // loads, stores, load*_zero
  } else if (sub === 12 || sub === 13) {
    r.skip(16); // v128.const, i8x16.shuffle
  } else if (sub >= 21 && sub <= 34) {
    r.skip(1); // extract/replace lane
  } else if (sub >= 84 && sub <= 91) {
    r.memarg(); // load/store lane
    r.skip(1);
  } else if (sub > 0x113) {
    throw new InstrumentError(`unknown opcode 0xfd ${sub}`);
  }
}

function skipAtomicImmediates(r: In): void {
  const sub = r.u();
  if (sub === 3) {
    r.skip(1); // atomic.fence
  } else if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) {
    r.memarg();
  } else {
    throw new InstrumentError(`unknown opcode 0xfe ${sub}`);
  }
}
