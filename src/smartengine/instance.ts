// One instantiated SmartModule and the Fluvio calling convention
// (smartmodule-abi.md §2): for init, look_back and the transform the host
// encodes the input at `version`, calls alloc(len), writes the input there
// (the guest owns it from then on), calls fn(ptr, len, version), and reads
// the bytes the guest last passed to copy_records, after the call returns.
//
// Limits: before every invocation (alloc + call) the fuel global is set to
// the per-call fuel and the memory.grow limit to the lower of the instance
// limit and what the engine's total budget still allows (instrument.ts). A
// trap is classified by reading those globals back. After an out-of-fuel,
// out-of-memory or trap failure the instance is discarded (its memory is
// released and every later call fails with the same error): a module
// interrupted mid-call may have left its allocator or statics inconsistent.

import {
  DECODING_BASE_INPUT_RC,
  decodeAggregateOutput,
  decodeInitOutput,
  decodeLookbackOutput,
  decodeTransformOutput,
  encodeExtraParams,
  INIT_ERROR_RC,
  InitStatus,
  inputFraming,
  LOOKBACK_PROPAGATED_ERROR_RC,
  LookbackStatus,
  recordsEncodedSize,
  SMARTMODULE_TIMESTAMPS_VERSION,
  statusName,
  statusText,
  TransformStatus,
  writeInputHead,
  writeInputTail,
  writeRecords,
  type AggregateOutput,
  type Lookback,
  type SmartRecord,
  type TransformOutput,
} from './abi.js';
import { ErrorCode } from '../protocol/index.js';
import { moduleLabel, SmartModuleError } from './errors.js';
import { FUEL_EXPORT, GROW_LIMIT_EXPORT, GROW_REQUEST_EXPORT } from './instrument.js';
import type { CompiledSmartModule } from './module.js';
import { WasiExit, wasiImports, type WasiContext, type WasiOutput } from './wasi.js';

export const WASM_PAGE = 65536;

export interface InstanceLimits {
  /** Fuel per invocation: 1 per function entry and loop iteration, 1 per 64 bytes of bulk memory ops. */
  fuel: number;
  /** Linear memory of one instance, bytes. */
  maxMemoryBytes: number;
}

/** The engine's shared memory budget over all live instances. */
export interface MemoryBudget {
  /** Bytes that may still be added. */
  available(): number;
  /** Record a change of `delta` bytes in use. */
  add(delta: number): void;
  readonly maxBytes: number;
}

/** One wasm call as the engine made it (see SmartEngineOptions.trace). */
export interface TraceCall {
  module: string;
  index: number;
  fn: string;
  version: number;
  /** The bytes written at alloc(len). */
  input: Buffer;
  /** The return code, or null when the call failed (trap, limit). */
  rc: number | null;
  /** The bytes passed to copy_records (empty when it was not called), read after the call. */
  output: Buffer;
}

export type TraceHook = (call: TraceCall) => void;

export interface InstanceOptions {
  trace?: TraceHook;
  /**
   * Enables the 2022-era fallback: called once when the module failed to
   * decode its input at `requested` (>= 23) and decoded it at 22, the version
   * it gets from then on (see transform).
   */
  onLegacyInput?: (requested: number) => void;
  name: string;
  index: number;
  version: number;
  limits: InstanceLimits;
  budget: MemoryBudget;
  wasiOutput: WasiOutput;
  accumulator?: Uint8Array;
}

/** Records for an input: the encoded `Vec<Record>` (i32 count + records) or the records themselves. */
export type RecordsInput = Uint8Array | readonly SmartRecord[];

export interface InvocationStats {
  calls: number;
  fuelUsed: number;
  /** Fuel used by the last invocation. */
  lastFuelUsed: number;
}

type AbiFn = (ptr: number, len: number, version: number) => number;

export class SmartModuleInstance {
  readonly name: string;
  readonly index: number;
  readonly compiled: CompiledSmartModule;
  readonly stats: InvocationStats = { calls: 0, fuelUsed: 0, lastFuelUsed: 0 };
  /** The aggregate accumulator (kept across calls, like Fluvio's per-instance state). */
  accumulator: Buffer;
  /** Set once the instance is unusable (a trap, out of fuel or memory, or disposed). */
  failure: SmartModuleError | null = null;

  private memory: WebAssembly.Memory;
  private alloc: (len: number) => number;
  private transformFn: AbiFn;
  private initFn: AbiFn | null;
  private lookBackFn: AbiFn | null;
  private fuel: WebAssembly.Global;
  private growLimit: WebAssembly.Global;
  private growRequest: WebAssembly.Global;
  private out: { ptr: number; len: number } | null = null;
  private accountedBytes = 0;
  private readonly limits: InstanceLimits;
  private readonly budget: MemoryBudget;
  private readonly trace: TraceHook | null;
  private inputVersion: number;
  /** Whether a transform has decoded its input at inputVersion (then a -11 is the input's fault, not the era's). */
  private decodedOnce = false;
  private readonly onLegacyInput: ((requested: number) => void) | null;

  private constructor(compiled: CompiledSmartModule, instance: WebAssembly.Instance, opts: InstanceOptions) {
    this.compiled = compiled;
    this.name = opts.name;
    this.index = opts.index;
    this.inputVersion = opts.version;
    this.onLegacyInput = opts.onLegacyInput ?? null;
    this.limits = opts.limits;
    this.budget = opts.budget;
    this.trace = opts.trace ?? null;
    this.accumulator = Buffer.from(opts.accumulator ?? new Uint8Array(0));
    const ex = instance.exports;
    this.memory = ex.memory as WebAssembly.Memory;
    this.alloc = ex.alloc as (len: number) => number;
    this.transformFn = ex[compiled.transform] as AbiFn;
    this.initFn = compiled.hasInit ? (ex.init as AbiFn) : null;
    this.lookBackFn = compiled.hasLookBack ? (ex.look_back as AbiFn) : null;
    this.fuel = ex[FUEL_EXPORT] as WebAssembly.Global;
    this.growLimit = ex[GROW_LIMIT_EXPORT] as WebAssembly.Global;
    this.growRequest = ex[GROW_REQUEST_EXPORT] as WebAssembly.Global;
  }

  /** Instantiates a compiled module (no init call). Throws SmartModuleError. */
  static async create(compiled: CompiledSmartModule, opts: InstanceOptions): Promise<SmartModuleInstance> {
    const label = moduleLabel(opts.name);
    const initialBytes = compiled.initialPages * WASM_PAGE;
    if (initialBytes > opts.limits.maxMemoryBytes || initialBytes > opts.budget.available()) {
      throw memoryError(opts, initialBytes, Math.min(opts.limits.maxMemoryBytes, opts.budget.available()), null, 'at instantiation');
    }
    let self: SmartModuleInstance | null = null;
    const copyRecords = (ptr: number, len: number): void => {
      if (self !== null) self.out = { ptr: ptr >>> 0, len: len >>> 0 };
    };
    const wasiCtx: WasiContext = { memory: null };
    const imports: WebAssembly.Imports = {};
    if (compiled.wasiImports.length > 0) {
      imports.wasi_snapshot_preview1 = wasiImports(compiled.wasiImports, wasiCtx, opts.wasiOutput);
    }
    imports[compiled.copyRecordsModule] = { ...(imports[compiled.copyRecordsModule] ?? {}), copy_records: copyRecords };
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(compiled.module, imports);
    } catch (err) {
      throw new SmartModuleError({
        moduleName: opts.name,
        moduleIndex: opts.index,
        kind: err instanceof WebAssembly.LinkError ? 'imports' : 'trap',
        message: `${label}: Failed to instantiate: ${(err as Error).message}`,
        cause: err,
      });
    }
    self = new SmartModuleInstance(compiled, instance, opts);
    wasiCtx.memory = self.memory;
    const bytes = self.memory.buffer.byteLength;
    if (bytes > opts.limits.maxMemoryBytes || bytes > opts.budget.available()) {
      throw memoryError(opts, bytes, Math.min(opts.limits.maxMemoryBytes, opts.budget.available()), null, 'at instantiation');
    }
    self.accountMemory();
    return self;
  }

  /** The ABI version the module gets (the requested one, or 22 for a 2022-era module). */
  get version(): number {
    return this.inputVersion;
  }

  get memoryBytes(): number {
    return this.accountedBytes;
  }

  /** Calls init with the params (once, before any processing). Throws SmartModuleError. */
  callInit(params: ReadonlyMap<string, string>, lookback: Lookback | undefined): void {
    if (this.initFn === null) return;
    const input = encodeExtraParams(params, lookback, this.version);
    const rc = this.invoke('init', this.initFn, input.length, (mem, ptr) => mem.set(input, ptr), null);
    if (rc >= 0) return;
    const status = statusName(InitStatus, rc);
    if (rc === INIT_ERROR_RC) {
      let hint: string;
      try {
        hint = decodeInitOutput(this.takeOutput());
      } catch (err) {
        throw this.outputError('init', err, null);
      }
      throw new SmartModuleError({
        moduleName: this.name,
        moduleIndex: this.index,
        kind: 'init',
        message: `${moduleLabel(this.name)}: init failed: ${hint}`,
      });
    }
    throw new SmartModuleError({
      moduleName: this.name,
      moduleIndex: this.index,
      kind: 'init',
      message: `${moduleLabel(this.name)}: init returned ${rc} (${status}: ${statusText(status)})`,
    });
  }

  /** Calls look_back with the records (base offset and timestamp 0). Throws SmartModuleError. */
  callLookBack(records: RecordsInput): void {
    if (this.lookBackFn === null) return;
    const header = { baseOffset: 0, baseTimestamp: 0, version: this.version };
    const rc = this.invokeWithRecords('look_back', this.lookBackFn, records, header, null);
    if (rc >= 0) return;
    const status = statusName(LookbackStatus, rc);
    if (rc === LOOKBACK_PROPAGATED_ERROR_RC) {
      let out: ReturnType<typeof decodeLookbackOutput>;
      try {
        out = decodeLookbackOutput(this.takeOutput());
      } catch (err) {
        throw this.outputError('look_back', err, null);
      }
      throw new SmartModuleError({
        moduleName: this.name,
        moduleIndex: this.index,
        offset: out.offset,
        kind: 'lookback',
        message: `${moduleLabel(this.name)}: look_back failed on the record at offset ${out.offset}: ${out.hint}`,
      });
    }
    throw new SmartModuleError({
      moduleName: this.name,
      moduleIndex: this.index,
      kind: 'lookback',
      message: `${moduleLabel(this.name)}: look_back returned ${rc} (${status}: ${statusText(status)})`,
    });
  }

  /**
   * Runs the transform over one input. Returns the decoded output (with the
   * module's own error record, if any); throws SmartModuleError for an error
   * status, a trap, a limit or an undecodable output.
   */
  transform(records: RecordsInput, baseOffset: number, baseTimestamp: number): TransformOutput | AggregateOutput {
    const isAggregate = this.compiled.transform === 'aggregate';
    const call = () =>
      this.invokeWithRecords(
        this.compiled.transform,
        this.transformFn,
        records,
        { baseOffset, baseTimestamp, version: this.version },
        baseOffset,
        isAggregate ? this.accumulator : undefined,
      );
    let rc = call();
    if (rc === DECODING_BASE_INPUT_RC && this.onLegacyInput !== null && !this.decodedOnce && this.version > SMARTMODULE_TIMESTAMPS_VERSION) {
      // A 2022-era module reads a v22 layout without timestamps whatever the
      // version: at >= 23 it takes base_timestamp for its params and fails
      // (smartmodule-abi.md §4). The same batch at 22 tells.
      const requested = this.version;
      this.inputVersion = SMARTMODULE_TIMESTAMPS_VERSION;
      rc = call();
      if (rc >= 0) this.onLegacyInput?.(requested);
      else this.inputVersion = requested;
    }
    if (rc >= 0) this.decodedOnce = true;
    if (rc < 0) {
      const status = statusName(TransformStatus, rc);
      throw new SmartModuleError({
        moduleName: this.name,
        moduleIndex: this.index,
        offset: baseOffset,
        kind: 'status',
        message:
          `${moduleLabel(this.name)} returned ${rc} (${status}: ${statusText(status)}) ` +
          `for the batch at base offset ${baseOffset}`,
      });
    }
    const bytes = this.takeOutput();
    try {
      if (isAggregate) {
        const out = decodeAggregateOutput(bytes, this.version);
        this.accumulator = out.accumulator;
        return out;
      }
      return decodeTransformOutput(bytes);
    } catch (err) {
      throw this.outputError(this.compiled.transform, err, baseOffset);
    }
  }

  /** Drops the instance; every later call fails. */
  dispose(reason?: SmartModuleError): void {
    if (this.failure === null) {
      this.failure =
        reason ??
        new SmartModuleError({
          moduleName: this.name,
          moduleIndex: this.index,
          kind: 'closed',
          message: `${moduleLabel(this.name)}: the instance was closed`,
        });
    }
    this.budget.add(-this.accountedBytes);
    this.accountedBytes = 0;
    // Let the instance and its memory be collected.
    const dead = (): never => {
      throw this.failure as SmartModuleError;
    };
    this.alloc = dead;
    this.transformFn = dead;
    this.initFn = this.initFn && dead;
    this.lookBackFn = this.lookBackFn && dead;
    this.memory = DEAD_MEMORY;
  }

  // --- calling convention -----------------------------------------------------

  private invokeWithRecords(
    fnName: string,
    fn: AbiFn,
    records: RecordsInput,
    header: { baseOffset: number; baseTimestamp: number; version: number },
    offset: number | null,
    accumulator?: Buffer,
  ): number {
    const encoded = records instanceof Uint8Array;
    const rawLength = encoded ? records.length : recordsEncodedSize(records);
    const [before, after] = inputFraming(this.version);
    const size = before + rawLength + after + (accumulator ? 4 + accumulator.length : 0);
    return this.invoke(
      fnName,
      fn,
      size,
      (mem, ptr) => {
        let pos = writeInputHead(mem, ptr, header, rawLength);
        if (encoded) {
          mem.set(records, pos); // the one copy of the batch into module memory
          pos += rawLength;
        } else {
          pos = writeRecords(mem, pos, records);
        }
        pos = writeInputTail(mem, pos, header);
        if (accumulator) {
          new DataView(mem.buffer, mem.byteOffset).setUint32(pos, accumulator.length);
          mem.set(accumulator, pos + 4);
        }
      },
      offset,
    );
  }

  private invoke(
    fnName: string,
    fn: AbiFn,
    size: number,
    write: (mem: Buffer, ptr: number) => void,
    offset: number | null,
  ): number {
    if (this.failure !== null) throw this.failure;
    this.out = null;
    const fuel = this.limits.fuel;
    const limitBytes = this.growLimitBytes();
    this.fuel.value = BigInt(fuel);
    this.growRequest.value = 0n;
    this.growLimit.value = BigInt(Math.floor(limitBytes / WASM_PAGE));
    let rc: number;
    let traced: Buffer | null = null;
    try {
      const ptr = this.alloc(size) >>> 0;
      const mem = Buffer.from(this.memory.buffer);
      if (ptr + size > mem.length) {
        throw new WebAssembly.RuntimeError(`alloc(${size}) returned ${ptr}, outside memory of ${mem.length} bytes`);
      }
      write(mem, ptr);
      if (this.trace !== null) traced = Buffer.from(mem.subarray(ptr, ptr + size));
      rc = fn(ptr, size, this.version);
    } catch (err) {
      const failure = this.classify(err, fnName, offset, limitBytes);
      this.recordFuel(fuel);
      if (this.trace !== null) this.emitTrace(fnName, traced, null);
      this.dispose(failure);
      throw failure;
    }
    this.recordFuel(fuel);
    if (this.trace !== null) this.emitTrace(fnName, traced, rc);
    this.accountMemory();
    const bytes = this.memory.buffer.byteLength;
    if (bytes > this.limits.maxMemoryBytes) {
      const failure = memoryError(this, bytes, this.limits.maxMemoryBytes, offset, `after ${fnName}`);
      this.dispose(failure);
      throw failure;
    }
    return rc;
  }

  /** Memory the module may grow to in this call: its own limit, or less when the engine budget is short. */
  private growLimitBytes(): number {
    const current = this.memory.buffer.byteLength;
    return Math.min(this.limits.maxMemoryBytes, current + Math.max(0, this.budget.available()));
  }

  private recordFuel(fuel: number): void {
    const left = Number(this.fuel.value as bigint);
    const used = left < 0 ? fuel : fuel - left;
    this.stats.calls++;
    this.stats.fuelUsed += used;
    this.stats.lastFuelUsed = used;
  }

  private accountMemory(): void {
    const bytes = this.memory.buffer.byteLength;
    if (bytes !== this.accountedBytes) {
      this.budget.add(bytes - this.accountedBytes);
      this.accountedBytes = bytes;
    }
  }

  private emitTrace(fn: string, input: Buffer | null, rc: number | null): void {
    (this.trace as TraceHook)({
      module: this.name,
      index: this.index,
      fn,
      version: this.version,
      input: input ?? Buffer.alloc(0),
      rc,
      output: this.takeOutput(),
    });
  }

  private takeOutput(): Buffer {
    const out = this.out;
    if (out === null) return Buffer.alloc(0);
    const buf = this.memory.buffer;
    // Fluvio reads nothing when the region is out of bounds (the decode then fails).
    if (out.ptr + out.len > buf.byteLength) return Buffer.alloc(0);
    return Buffer.from(new Uint8Array(buf, out.ptr, out.len)); // one copy out of module memory
  }

  private outputError(fnName: string, err: unknown, offset: number | null): SmartModuleError {
    const where = offset === null ? '' : ` for the batch at base offset ${offset}`;
    return new SmartModuleError({
      moduleName: this.name,
      moduleIndex: this.index,
      offset,
      kind: 'output',
      message: `${moduleLabel(this.name)}: cannot decode the output of ${fnName}${where}: ${(err as Error).message}`,
      cause: err,
    });
  }

  private classify(err: unknown, fnName: string, offset: number | null, limitBytes: number): SmartModuleError {
    const label = moduleLabel(this.name);
    const where = offset === null ? `in ${fnName}` : `in ${fnName} for the batch at base offset ${offset}`;
    if ((this.fuel.value as bigint) < 0n) {
      return new SmartModuleError({
        moduleName: this.name,
        moduleIndex: this.index,
        offset,
        kind: 'fuel',
        message: `${label} ran out of fuel ${where} (limit ${this.limits.fuel} per call): stopped as a runaway`,
        cause: err,
      });
    }
    const requestedPages = Number(this.growRequest.value as bigint);
    if (requestedPages * WASM_PAGE > limitBytes) {
      const requested = requestedPages * WASM_PAGE;
      const byBudget = limitBytes < this.limits.maxMemoryBytes;
      return memoryError(this, requested, limitBytes, offset, where, byBudget ? this.budget.maxBytes : undefined);
    }
    if (err instanceof SmartModuleError) return err;
    const detail =
      err instanceof WasiExit
        ? err.message
        : err instanceof RangeError && /call stack/i.test(err.message)
          ? 'stack overflow'
          : `${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? String(err)}`;
    return new SmartModuleError({
      moduleName: this.name,
      moduleIndex: this.index,
      offset,
      kind: 'trap',
      message: `${label} trapped ${where}: ${detail}`,
      cause: err,
    });
  }
}

const DEAD_MEMORY = new WebAssembly.Memory({ initial: 0 });

function memoryError(
  who: { name: string; index: number },
  requested: number,
  max: number,
  offset: number | null,
  where: string,
  engineBudget?: number,
): SmartModuleError {
  const what =
    engineBudget === undefined
      ? `its memory limit of ${max} bytes`
      : `the engine's total memory budget (${engineBudget} bytes over all SmartModules; ${max} bytes were left for it)`;
  return new SmartModuleError({
    moduleName: who.name,
    moduleIndex: who.index,
    offset,
    kind: 'memory',
    message: `${moduleLabel(who.name)} asked for ${requested} bytes of memory ${where}, above ${what}`,
    fluvioError: { code: ErrorCode.SmartModuleMemoryLimitExceeded, requested, max },
  });
}
