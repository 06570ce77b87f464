// Running SmartModules locally, without a node (`freshet sm test`): any
// SmartModule .wasm (ours or Fluvio-built) or a built-in, over records made
// from text lines, through the same SmartEngine the SPU uses.

import { SmartEngine } from '../engine.js';
import type { SmartRecord } from '../abi.js';
import type { ChainError } from '../errors.js';
import { TRANSFORM_EXPORTS, type TransformExport } from '../module.js';
import { builtinSmartModule, resolveBuiltin } from '../builtins.js';
import type { SdkKind } from './entry.js';

const EXPORT_KIND: Record<TransformExport, SdkKind> = {
  filter: 'filter',
  map: 'map',
  filter_map: 'filter-map',
  array_map: 'array-map',
  aggregate: 'aggregate',
};

/** The transforms a module exports, in the order the engine looks for them (it runs the first). */
export function exportedKinds(wasm: Uint8Array): SdkKind[] {
  let exports: WebAssembly.ModuleExportDescriptor[];
  try {
    exports = WebAssembly.Module.exports(new WebAssembly.Module(wasm.buffer instanceof ArrayBuffer ? (wasm as Uint8Array<ArrayBuffer>) : new Uint8Array(wasm)));
  } catch (err) {
    throw new Error(`not a WebAssembly module: ${(err as Error).message}`, { cause: err });
  }
  const names = new Set(exports.filter((e) => e.kind === 'function').map((e) => e.name));
  return TRANSFORM_EXPORTS.filter((e) => names.has(e)).map((e) => EXPORT_KIND[e]);
}

/**
 * The kind a module runs as. With `declared`, checks the module exports it;
 * without, the module must export exactly one transform.
 */
export function moduleKind(wasm: Uint8Array, declared?: SdkKind): SdkKind {
  const kinds = exportedKinds(wasm);
  if (kinds.length === 0) throw new Error('the module exports none of filter, map, filter_map, array_map, aggregate');
  if (declared !== undefined) {
    if (!kinds.includes(declared)) throw new Error(`the module is not a ${declared}: it exports ${kinds.join(', ')}`);
    if (kinds[0] !== declared) throw new Error(`the module exports ${kinds.join(' and ')}; the engine runs the first (${kinds[0]}), not ${declared}`);
    return declared;
  }
  if (kinds.length > 1) throw new Error(`the module exports several transforms (${kinds.join(', ')}): say which with --kind`);
  return kinds[0];
}

/** One step of a chain: `{"uses": "infinyon/jolt@0.4.1", "with": {"spec": [...]}}` (Fluvio's transforms syntax). */
export interface TransformStep {
  uses: string;
  with: Record<string, string>;
}

/**
 * Parses a `--transforms-line` JSON step. `with` values must be strings, maps
 * or lists; maps and lists reach the module as compact JSON (as Fluvio does).
 */
export function parseTransformStep(text: string): TransformStep {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`transform is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('a transform is an object: {"uses": "...", "with": {...}}');
  const step = raw as { uses?: unknown; with?: unknown };
  if (typeof step.uses !== 'string' || step.uses.length === 0) throw new Error('a transform needs "uses": the SmartModule name');
  const params: Record<string, string> = {};
  if (step.with !== undefined && step.with !== null) {
    if (typeof step.with !== 'object' || Array.isArray(step.with)) throw new Error('"with" must be a map of parameters');
    for (const [key, value] of Object.entries(step.with as Record<string, unknown>)) {
      if (typeof value === 'string') params[key] = value;
      else if (typeof value === 'object' && value !== null) params[key] = JSON.stringify(value);
      else throw new Error(`with.${key}: expected str, string, sequence or map`);
    }
  }
  return { uses: step.uses, with: params };
}

export interface LocalModule {
  wasm: Uint8Array;
  name: string;
  params?: Record<string, string>;
  /** Initial accumulator of an aggregate. */
  accumulator?: Uint8Array;
}

/** A step's module: a built-in, or `resolve` for other names (a node's registry, a file). */
export async function stepModule(step: TransformStep, resolve?: (name: string) => Promise<Uint8Array | undefined>): Promise<LocalModule> {
  const wasm = (await builtinSmartModule(step.uses)) ?? (resolve ? await resolve(step.uses) : undefined);
  if (!wasm) {
    throw new Error(`SmartModule ${step.uses} was not found: it is not a built-in (infinyon/jolt, infinyon/regex-filter, infinyon/array-map-json, infinyon/json-sql)${resolve ? ' nor registered with the node' : ''}; pass a .wasm with --wasm-file`);
  }
  return { wasm, name: resolveBuiltin(step.uses)?.name ?? step.uses, params: step.with };
}

export interface LocalInputRecord {
  key: Buffer | null;
  value: Buffer;
}

export interface LocalRunOptions {
  /** ABI version the modules get (default 22, as smdk test and Fluvio's local engines). */
  version?: number;
  baseOffset?: number;
  /** Base timestamp of the batch, ms (default: now). */
  baseTimestamp?: number;
}

export interface LocalRunResult {
  records: SmartRecord[];
  /** The failure, with the offset of the record at fault; `records` then holds what came before it. */
  error?: ChainError;
  /** Which transform each module ran as. */
  kinds: SdkKind[];
}

/** Builds the chain (init with params) and runs the records through it as one batch. Throws SmartModuleError if the chain cannot start. */
export async function runLocal(modules: readonly LocalModule[], records: readonly LocalInputRecord[], opts: LocalRunOptions = {}): Promise<LocalRunResult> {
  const engine = new SmartEngine({ wasiOutput: 'inherit' });
  try {
    const chain = await engine.buildChain(
      modules.map((m) => ({
        wasm: m.wasm,
        name: m.name,
        ...(m.params ? { params: m.params } : {}),
        ...(m.accumulator ? { accumulator: m.accumulator } : {}),
        ...(opts.version !== undefined ? { version: opts.version } : {}),
      })),
    );
    const kinds = chain.modules().map((m) => EXPORT_KIND[m.transform as TransformExport]);
    const input: SmartRecord[] = records.map((r, i) => ({ attributes: 0, timestampDelta: 0, offsetDelta: i, key: r.key, value: r.value, headers: 0 }));
    const out = chain.process(input, { baseOffset: opts.baseOffset ?? 0, baseTimestamp: opts.baseTimestamp ?? Date.now() });
    const result: LocalRunResult = { records: out.records, kinds };
    if (out.error) result.error = out.error;
    chain.close();
    return result;
  } finally {
    engine.close();
  }
}
