// A chain of SmartModule instances, applied in order to each batch, with
// the semantics of Fluvio's SmartModuleChainInstance::process
// (smartmodule-abi.md §7):
//
// - module i+1 gets module i's successes as its records, with base_offset
//   and base_timestamp of the ORIGINAL input;
// - when a module that is not the last returns an error record, the chain
//   stops and returns that module's output: its partial successes (not run
//   through the later modules) and the error;
// - a hard failure (error status, trap, out of fuel or memory, bad output)
//   returns no records, only the error;
// - an empty chain returns the input records.
//
// The chain is synchronous: every module runs on the calling thread, bounded
// by its fuel and memory limits (instrument.ts explains why).

import { decodeRecords, encodeRecords, type Lookback, type SmartRecord } from './abi.js';
import { ErrorCode } from '../protocol/index.js';
import { runtimeChainError, SmartModuleError, type ChainError } from './errors.js';
import type { RecordsInput, SmartModuleInstance } from './instance.js';
import type { TransformOutput } from './abi.js';

export interface ProcessOptions {
  /** Base offset of the batch the records come from. */
  baseOffset: number;
  /** First timestamp of the batch (ms); default 0. */
  baseTimestamp?: number;
}

export interface ChainOutput {
  /**
   * Output records; offset and timestamp deltas are relative to the input's
   * base offset and timestamp. Decoded on first access: a caller that only
   * needs `recordsBytes` and `count` never pays for it.
   */
  readonly records: SmartRecord[];
  /** Number of output records. */
  readonly count: number;
  /**
   * The same records encoded as `Vec<Record>` (i32 count + records) when
   * already at hand (the last module's own bytes, when canonical); else null.
   */
  readonly recordsBytes: Buffer | null;
  baseOffset: number;
  baseTimestamp: number;
  /** Set when a module failed; `records` then holds the partial output Fluvio returns. */
  error?: ChainError;
}

export interface ChainModuleInfo {
  name: string;
  index: number;
  /** The transform export the engine found (filter, map, filter_map, array_map, aggregate). */
  transform: string;
  version: number;
  sha256: string;
  hasInit: boolean;
  hasLookBack: boolean;
  /** The look-back this module asks for (only when it exports look_back and its config has one). */
  lookback?: Lookback;
  memoryBytes: number;
  calls: number;
  fuelUsed: number;
}

/** Reads the records for a module's look-back (the SPU reads them from the partition). */
export type LookbackReader = (
  lookback: Lookback,
  module: { name: string; index: number },
) => Promise<RecordsInput> | RecordsInput;

export class SmartChain {
  private closed = false;
  private broken: ChainError | null = null;

  /** @internal built by SmartEngine.buildChain */
  constructor(
    private readonly instances: SmartModuleInstance[],
    private readonly lookbacks: (Lookback | undefined)[],
    private readonly onClose: (chain: SmartChain) => void,
  ) {}

  get length(): number {
    return this.instances.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  modules(): ChainModuleInfo[] {
    return this.instances.map((inst, i) => {
      const info: ChainModuleInfo = {
        name: inst.name,
        index: i,
        transform: inst.compiled.transform,
        version: inst.version,
        sha256: inst.compiled.sha256,
        hasInit: inst.compiled.hasInit,
        hasLookBack: inst.compiled.hasLookBack,
        memoryBytes: inst.memoryBytes,
        calls: inst.stats.calls,
        fuelUsed: inst.stats.fuelUsed,
      };
      const lookback = this.lookbacks[i];
      if (inst.compiled.hasLookBack && lookback !== undefined) info.lookback = lookback;
      return info;
    });
  }

  /** Whether any module needs look_back before the first batch. */
  get needsLookBack(): boolean {
    return this.instances.some((inst, i) => inst.compiled.hasLookBack && this.lookbacks[i] !== undefined);
  }

  /**
   * Runs look_back on every module that exports it and has a look-back
   * configured, in chain order, with the records `read` returns for it (the
   * SPU passes the last N records / records younger than the age, as stored,
   * before the first batch). Throws SmartModuleError with 6007
   * SmartModuleLookBackError.
   */
  async lookBack(read: LookbackReader): Promise<void> {
    this.checkOpen();
    for (let i = 0; i < this.instances.length; i++) {
      const inst = this.instances[i];
      const lookback = this.lookbacks[i];
      if (!inst.compiled.hasLookBack || lookback === undefined) continue;
      const records = await read(lookback, { name: inst.name, index: i });
      this.checkOpen();
      try {
        inst.callLookBack(records);
      } catch (err) {
        if (!(err instanceof SmartModuleError)) throw err;
        err.fluvioError = { code: ErrorCode.SmartModuleLookBackError, message: err.message };
        if (inst.failure !== null) this.broken = err.toChainError();
        throw err;
      }
    }
  }

  /**
   * Processes one batch's records through the chain. `records` is the
   * batch's decompressed records section (i32 count + records, written to
   * the first module's memory as is) or the records themselves.
   * Never throws for a module failure: the result carries it.
   */
  process(records: RecordsInput, opts: ProcessOptions): ChainOutput {
    const baseOffset = opts.baseOffset;
    const baseTimestamp = opts.baseTimestamp ?? 0;
    if (this.closed || this.broken !== null) {
      return { records: [], count: 0, recordsBytes: null, baseOffset, baseTimestamp, error: this.unusableError(baseOffset) };
    }
    if (this.instances.length === 0) {
      if (records instanceof Uint8Array) {
        const buf = Buffer.isBuffer(records) ? records : Buffer.from(records.buffer, records.byteOffset, records.length);
        const decoded = decodeRecords(buf);
        return { records: decoded, count: decoded.length, recordsBytes: buf, baseOffset, baseTimestamp };
      }
      return { records: [...records], count: records.length, recordsBytes: null, baseOffset, baseTimestamp };
    }
    let input: RecordsInput = records;
    const last = this.instances.length - 1;
    for (let i = 0; i <= last; i++) {
      const inst = this.instances[i];
      let output;
      try {
        output = inst.transform(input, baseOffset, baseTimestamp);
      } catch (err) {
        if (!(err instanceof SmartModuleError)) throw err;
        const error = err.toChainError();
        if (inst.failure !== null) this.broken = error;
        return { records: [], count: 0, recordsBytes: null, baseOffset, baseTimestamp, error };
      }
      if (output.error !== null) {
        // Partial output of THIS module, as Fluvio returns it (also for the last module).
        return chainOutput(output, baseOffset, baseTimestamp, runtimeChainError(inst.name, i, output.error));
      }
      if (i === last) return chainOutput(output, baseOffset, baseTimestamp);
      input = output.successesBytes ?? encodeRecords(output.successes);
    }
    throw new Error('unreachable');
  }

  /** Releases every instance (and its memory). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const inst of this.instances) inst.dispose();
    this.onClose(this);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('SmartModule chain is closed');
    if (this.broken !== null) {
      throw new SmartModuleError({ ...this.broken, kind: 'closed', message: this.unusableError(null).message });
    }
  }

  private unusableError(offset: number | null): ChainError {
    const names = this.instances.map((i) => i.name).join(', ');
    if (this.closed) {
      const message = `SmartModule chain [${names}] is closed`;
      return {
        moduleName: names,
        moduleIndex: -1,
        offset,
        kind: 'closed',
        message,
        fluvioError: { code: ErrorCode.Other, message: `SmartModule err ${message}` },
      };
    }
    const broken = this.broken as ChainError;
    const message = `SmartModule chain unusable after an earlier failure: ${broken.message}`;
    return { ...broken, offset, kind: 'closed', message, fluvioError: broken.fluvioError };
  }
}

function chainOutput(output: TransformOutput, baseOffset: number, baseTimestamp: number, error?: ChainError): ChainOutput {
  const out: ChainOutput = {
    get records(): SmartRecord[] {
      return output.successes;
    },
    count: output.count,
    recordsBytes: output.successesBytes,
    baseOffset,
    baseTimestamp,
  };
  if (error !== undefined) out.error = error;
  return out;
}
