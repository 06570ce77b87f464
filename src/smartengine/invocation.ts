// From the wire's SmartModuleInvocation (StreamFetch / Produce) to a chain
// config, as fluvio-spu's resolve_invocation + build_chain do:
//
// - Predefined(name): the stored SmartModule's payload, found through the
//   caller's lookup; unknown → 6001 SmartModuleNotFound.
// - AdHoc(bytes): gzipped wasm (the client gzips it; stored SmartModules are
//   gzipped too). Raw wasm is accepted as well. Anything else → 6002
//   SmartModuleInvalid.
// - params (with their lookback) go to init; the lookback also drives
//   look_back; kind Aggregate{accumulator} or Generic(Aggregate{accumulator})
//   gives the initial accumulator; version is the request's api_version.

import { gunzipSync } from 'node:zlib';
import { ErrorCode } from '../protocol/index.js';
import type { SmartModuleInvocation, SmartModuleKind } from '../protocol/index.js';
import { SmartModuleError } from './errors.js';
import type { ChainModuleConfig, SmartModuleKindName } from './engine.js';

/** Largest wasm accepted after gunzip. */
export const MAX_WASM_BYTES = 100 * 1024 * 1024;

export interface ResolveInvocationOptions {
  /** The api_version of the request carrying the invocations (the modules get it as their ABI version). */
  version: number;
  /** Payload (gzipped or raw wasm) of a stored SmartModule, or undefined when there is none by that name. */
  lookup?: (name: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  maxWasmBytes?: number;
}

const KIND_NAMES: Readonly<Record<SmartModuleKind['type'], SmartModuleKindName>> = {
  Filter: 'filter',
  Map: 'map',
  ArrayMap: 'array-map',
  FilterMap: 'filter-map',
  Aggregate: 'aggregate',
  Join: 'join',
  JoinStream: 'join-stream',
  Generic: 'generic',
};

/** Raw wasm from an invocation payload: gunzipped, or as is when it already is wasm. Throws 6002. */
export function wasmFromPayload(payload: Uint8Array, name: string | undefined, maxWasmBytes = MAX_WASM_BYTES): Buffer {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const invalid = (error: string, cause?: unknown): SmartModuleError =>
    new SmartModuleError({
      moduleName: name ?? '',
      kind: 'invalid',
      message: `SmartModule${name ? ` "${name}"` : ''} is invalid: ${error}`,
      fluvioError: name === undefined ? { code: ErrorCode.SmartModuleInvalid, error } : { code: ErrorCode.SmartModuleInvalid, error, name },
      cause,
    });
  if (buf.length >= 4 && buf[0] === 0x00 && buf[1] === 0x61 && buf[2] === 0x73 && buf[3] === 0x6d) return buf;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      return gunzipSync(buf, { maxOutputLength: maxWasmBytes });
    } catch (err) {
      throw invalid(`cannot gunzip the wasm: ${(err as Error).message}`, err);
    }
  }
  throw invalid('the payload is neither gzip nor wasm');
}

/** The chain config for one invocation. */
export async function invocationToConfig(
  invocation: SmartModuleInvocation,
  index: number,
  opts: ResolveInvocationOptions,
): Promise<ChainModuleConfig> {
  let name: string;
  let payload: Uint8Array;
  if (invocation.wasm.type === 'Predefined') {
    name = invocation.wasm.name;
    const found = opts.lookup ? await opts.lookup(name) : undefined;
    if (found === undefined) {
      throw new SmartModuleError({
        moduleName: name,
        moduleIndex: index,
        kind: 'not-found',
        message: `SmartModule "${name}" not found`,
        fluvioError: { code: ErrorCode.SmartModuleNotFound, name },
      });
    }
    payload = found;
  } else {
    name = `ad-hoc #${index}`;
    payload = invocation.wasm.payload;
  }
  const wasm = wasmFromPayload(payload, invocation.wasm.type === 'Predefined' ? name : undefined, opts.maxWasmBytes);
  const config: ChainModuleConfig = {
    wasm,
    name,
    kind: KIND_NAMES[invocation.kind.type],
    params: invocation.params.params,
    version: opts.version,
    lookbackInInit: true,
  };
  if (invocation.params.lookback !== undefined) config.lookback = invocation.params.lookback;
  const kind = invocation.kind;
  if (kind.type === 'Aggregate') config.accumulator = kind.accumulator;
  else if (kind.type === 'Generic' && kind.context.type === 'Aggregate') config.accumulator = kind.context.accumulator;
  return config;
}

/** Chain configs for a request's invocations (empty list → no chain is needed). */
export async function invocationsToConfigs(
  invocations: readonly SmartModuleInvocation[],
  opts: ResolveInvocationOptions,
): Promise<ChainModuleConfig[]> {
  const out: ChainModuleConfig[] = [];
  for (let i = 0; i < invocations.length; i++) out.push(await invocationToConfig(invocations[i], i, opts));
  return out;
}
