// Compiling a SmartModule: validate, meter (instrument.ts), compile with
// WebAssembly.compile, and work out what the engine needs to know before
// instantiating it (transform export, init, look_back, imports).

import { createHash } from 'node:crypto';
import { ErrorCode } from '../protocol/index.js';
import { SmartModuleError, moduleLabel } from './errors.js';
import { instrument, InstrumentError } from './instrument.js';
import { WASI_MODULE } from './wasi.js';

/** Transform exports in the order Fluvio's engine looks for them. */
export const TRANSFORM_EXPORTS = ['filter', 'map', 'filter_map', 'array_map', 'aggregate'] as const;
export type TransformExport = (typeof TRANSFORM_EXPORTS)[number];

const ABI_SIGNATURE = 'i32 i32 i32 -> i32';
const ALLOC_SIGNATURE = 'i32 -> i32';

export interface CompiledSmartModule {
  /** sha256 of the original (uninstrumented) bytes, hex. */
  readonly sha256: string;
  readonly size: number;
  /** The metered module. */
  readonly module: WebAssembly.Module;
  readonly transform: TransformExport;
  readonly hasInit: boolean;
  readonly hasLookBack: boolean;
  /** Module name of the `copy_records` import. */
  readonly copyRecordsModule: string;
  /** Names of the wasi_snapshot_preview1 functions it imports. */
  readonly wasiImports: readonly string[];
  readonly initialPages: number;
  readonly growGuarded: boolean;
  /** Time spent instrumenting and compiling, ms. */
  readonly compileMs: number;
}

/** The same bytes typed for WebAssembly.compile (copied only when they live in a SharedArrayBuffer). */
function asArrayBufferView(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function chainInitError(name: string, kind: 'compile' | 'exports' | 'imports', message: string, cause?: unknown) {
  const text = `${moduleLabel(name)}: ${message}`;
  return new SmartModuleError({
    moduleName: name,
    kind,
    message: text,
    fluvioError: { code: ErrorCode.SmartModuleChainInitError, message: text },
    cause,
  });
}

/** Compiles `wasm` for the engine; throws SmartModuleError (6005) when it cannot be used. */
export async function compileSmartModule(wasm: Uint8Array, name: string, sha256 = sha256Hex(wasm)): Promise<CompiledSmartModule> {
  const started = performance.now();
  let metered: ReturnType<typeof instrument>;
  try {
    metered = instrument(wasm);
  } catch (err) {
    if (!(err instanceof InstrumentError)) throw err;
    // Report the WebAssembly compiler's own words when the module is simply invalid.
    try {
      await WebAssembly.compile(asArrayBufferView(wasm));
    } catch (compileErr) {
      throw chainInitError(name, 'compile', `invalid wasm: ${(compileErr as Error).message}`, compileErr);
    }
    throw chainInitError(name, 'compile', `cannot be metered: ${err.message}`, err);
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(asArrayBufferView(metered.bytes));
  } catch (err) {
    throw chainInitError(name, 'compile', `invalid wasm: ${(err as Error).message}`, err);
  }

  // Imports: Fluvio requires one named copy_records (any module name), links
  // WASI preview1, and supplies nothing else.
  const imports = WebAssembly.Module.imports(module);
  const copy = imports.find((imp) => imp.name === 'copy_records');
  if (copy === undefined) {
    throw chainInitError(name, 'imports', 'Failed to instantiate: At least one import is required (copy_records)');
  }
  if (copy.kind !== 'function') throw chainInitError(name, 'imports', `its copy_records import is a ${copy.kind}, not a function`);
  const wasi: string[] = [];
  for (const imp of imports) {
    if (imp === copy) continue;
    if (imp.module === WASI_MODULE && imp.kind === 'function') {
      wasi.push(imp.name);
      continue;
    }
    throw chainInitError(
      name,
      'imports',
      `Failed to instantiate: unknown import ${imp.module}.${imp.name} (${imp.kind}); ` +
        'a SmartModule may import only copy_records and wasi_snapshot_preview1 functions',
    );
  }

  const exports = metered.exports;
  const transform = TRANSFORM_EXPORTS.find((e) => exports.get(e)?.kind === 0);
  if (transform === undefined) {
    throw chainInitError(
      name,
      'exports',
      `No valid smartmodule found: it exports none of ${TRANSFORM_EXPORTS.join(', ')}`,
    );
  }
  const checkSignature = (fn: string, expected: string): void => {
    const sig = exports.get(fn)?.signature;
    if (sig !== expected) {
      throw chainInitError(name, 'exports', `export ${fn} has type (${sig ?? 'unknown'}), expected (${expected})`);
    }
  };
  checkSignature(transform, ABI_SIGNATURE);
  const hasInit = exports.get('init')?.kind === 0;
  if (hasInit) checkSignature('init', ABI_SIGNATURE);
  const hasLookBack = exports.get('look_back')?.kind === 0;
  if (hasLookBack) checkSignature('look_back', ABI_SIGNATURE);
  if (exports.get('memory')?.kind !== 2) throw chainInitError(name, 'exports', 'Missing memory: it does not export "memory"');
  if (exports.get('alloc')?.kind !== 0) throw chainInitError(name, 'exports', 'missing alloc: it does not export "alloc"');
  checkSignature('alloc', ALLOC_SIGNATURE);

  return {
    sha256,
    size: wasm.length,
    module,
    transform,
    hasInit,
    hasLookBack,
    copyRecordsModule: copy.module,
    wasiImports: wasi,
    initialPages: metered.initialPages,
    growGuarded: metered.growGuarded,
    compileMs: performance.now() - started,
  };
}
