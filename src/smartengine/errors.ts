// Errors of the SmartModule engine. Each names the module and, while
// processing, the record offset, and carries the Fluvio error code (with its
// payload) that the SPU sends for it, following fluvio-spu:
//
//   building a chain     6001 SmartModuleNotFound (Predefined name unknown)
//                        6002 SmartModuleInvalid (payload not wasm / not gzip)
//                        6008 SmartModuleMemoryLimitExceeded
//                        6005 SmartModuleChainInitError(text) for anything else:
//                             compile error, missing import/export, init failure
//   look_back            6007 SmartModuleLookBackError(text)
//   processing a batch   6004 SmartModuleRuntimeError (the module's own error
//                             record; partial output is kept)
//                        6008 SmartModuleMemoryLimitExceeded
//                        2 Other("SmartModule err …") for a hard failure:
//                             error status, trap, out of fuel, bad output

import { ErrorCode, type FluvioError } from '../protocol/index.js';
import type { TransformRuntimeError } from './abi.js';

export type SmartModuleErrorKind =
  /** The module returned an error record in its output (SmartModuleTransformRuntimeError). */
  | 'runtime'
  /** The module returned a negative status code. */
  | 'status'
  /** A wasm trap: panic (`unreachable`), out-of-bounds access, stack overflow, proc_exit… */
  | 'trap'
  /** The invocation used up its fuel (the per-call CPU limit). */
  | 'fuel'
  /** The instance reached its memory limit, or the engine its total memory budget. */
  | 'memory'
  /** The module's output could not be decoded. */
  | 'output'
  /** The bytes are not a valid wasm module (or cannot be metered). */
  | 'compile'
  /** A required export is missing or has the wrong signature. */
  | 'exports'
  /** The module lacks the copy_records import or imports something the engine does not supply. */
  | 'imports'
  /** init returned an error. */
  | 'init'
  /** look_back returned an error. */
  | 'lookback'
  /** A Predefined SmartModule name that the lookup does not know. */
  | 'not-found'
  /** An invocation payload that is neither wasm nor gzipped wasm. */
  | 'invalid'
  /** The chain was closed, or is unusable after an earlier hard failure. */
  | 'closed';

export interface ChainError {
  moduleName: string;
  /** Position of the module in its chain (-1 when not tied to one). */
  moduleIndex: number;
  /** The offset of the record at fault; for a failure not tied to one record, the batch's base offset. Null outside processing. */
  offset: number | null;
  kind: SmartModuleErrorKind;
  message: string;
  /** What the SPU sends to the client for this failure. */
  fluvioError: FluvioError;
  /** The module's own error record, for kind 'runtime'. */
  runtimeError?: TransformRuntimeError;
}

export class SmartModuleError extends Error implements ChainError {
  override name = 'SmartModuleError';
  readonly moduleName: string;
  moduleIndex: number;
  offset: number | null;
  readonly kind: SmartModuleErrorKind;
  fluvioError: FluvioError;
  readonly runtimeError?: TransformRuntimeError;

  constructor(fields: {
    moduleName: string;
    moduleIndex?: number;
    offset?: number | null;
    kind: SmartModuleErrorKind;
    message: string;
    fluvioError?: FluvioError;
    runtimeError?: TransformRuntimeError;
    cause?: unknown;
  }) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.moduleName = fields.moduleName;
    this.moduleIndex = fields.moduleIndex ?? -1;
    this.offset = fields.offset ?? null;
    this.kind = fields.kind;
    this.fluvioError = fields.fluvioError ?? { code: ErrorCode.Other, message: `SmartModule err ${fields.message}` };
    if (fields.runtimeError !== undefined) this.runtimeError = fields.runtimeError;
  }

  /** A plain ChainError record (no stack), for results. */
  toChainError(): ChainError {
    const out: ChainError = {
      moduleName: this.moduleName,
      moduleIndex: this.moduleIndex,
      offset: this.offset,
      kind: this.kind,
      message: this.message,
      fluvioError: this.fluvioError,
    };
    if (this.runtimeError !== undefined) out.runtimeError = this.runtimeError;
    return out;
  }
}

/** A label for messages: `SmartModule "name"`. */
export function moduleLabel(name: string): string {
  return `SmartModule "${name}"`;
}

/** The error record a module returned, as ChainError (6004 with its payload). */
export function runtimeChainError(moduleName: string, moduleIndex: number, err: TransformRuntimeError): ChainError {
  const kinds = ['Filter', 'Map', 'ArrayMap', 'Aggregate', 'FilterMap', 'Join', 'Generic'];
  return {
    moduleName,
    moduleIndex,
    offset: err.offset,
    kind: 'runtime',
    message:
      `${moduleLabel(moduleName)} failed on the record at offset ${err.offset} ` +
      `(${kinds[err.kind] ?? err.kind}): ${err.hint}`,
    fluvioError: {
      code: ErrorCode.SmartModuleRuntimeError,
      hint: err.hint,
      offset: err.offset,
      smartModuleKind: err.kind,
      recordKey: err.recordKey,
      recordValue: err.recordValue,
    },
    runtimeError: err,
  };
}
