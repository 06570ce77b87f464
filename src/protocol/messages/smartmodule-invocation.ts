// SmartModuleInvocation (StreamFetch v >= 16 / 18, Produce v >= 8):
//
//   wasm    enum u8
//             0 Predefined(name String)
//             1 AdHoc(Vec<u8>)          gzipped wasm (u32 length + bytes)
//   kind    enum u8
//             0 Filter  1 Map  2 ArrayMap  4 FilterMap
//             3 Aggregate { accumulator Vec<u8> }
//             5 Join(String)
//             6 JoinStream { topic String, derivedstream String }
//             7 Generic(context enum u8:
//                 0 None
//                 1 Aggregate { accumulator Vec<u8> }
//                 2 Join(String)
//                 3 JoinStream { topic String, derivedstream String })
//   params  SmartModuleExtraParams
//             inner     BTreeMap<String, String>   (u16 count)
//             lookback  Option<Lookback>           v >= 20
//               last  u64
//               age   Option<Duration>           v >= 21  (u64 secs + u32 nanos)
//
// Variant-level version attributes do not gate enum encoding in Fluvio, so
// every kind is accepted at every version.

import { compareUtf8, DecodeError, type Duration, type Reader, type Writer } from '../codec.js';

export const SMARTMODULE_LOOKBACK_VERSION = 20;
export const SMARTMODULE_LOOKBACK_AGE_VERSION = 21;

export type SmartModuleInvocationWasm = { type: 'Predefined'; name: string } | { type: 'AdHoc'; payload: Buffer };

export type SmartModuleContextData =
  | { type: 'None' }
  | { type: 'Aggregate'; accumulator: Buffer }
  | { type: 'Join'; topic: string }
  | { type: 'JoinStream'; topic: string; derivedstream: string };

export type SmartModuleKind =
  | { type: 'Filter' }
  | { type: 'Map' }
  | { type: 'ArrayMap' }
  | { type: 'Aggregate'; accumulator: Buffer }
  | { type: 'FilterMap' }
  | { type: 'Join'; topic: string }
  | { type: 'JoinStream'; topic: string; derivedstream: string }
  | { type: 'Generic'; context: SmartModuleContextData };

export interface Lookback {
  last: number;
  age?: Duration;
}

export interface SmartModuleExtraParams {
  params: Map<string, string>;
  lookback?: Lookback;
}

export interface SmartModuleInvocation {
  wasm: SmartModuleInvocationWasm;
  kind: SmartModuleKind;
  params: SmartModuleExtraParams;
}

const KIND_TAGS = {
  Filter: 0,
  Map: 1,
  ArrayMap: 2,
  Aggregate: 3,
  FilterMap: 4,
  Join: 5,
  JoinStream: 6,
  Generic: 7,
} as const;

export function encodeSmartModuleInvocation(w: Writer, invocation: SmartModuleInvocation, version: number): void {
  const wasm = invocation.wasm;
  if (wasm.type === 'Predefined') {
    w.u8(0);
    w.string(wasm.name);
  } else {
    w.u8(1);
    w.bytes(wasm.payload);
  }
  encodeSmartModuleKind(w, invocation.kind);
  encodeSmartModuleExtraParams(w, invocation.params, version);
}

export function decodeSmartModuleInvocation(r: Reader, version: number, field = 'smartmodule'): SmartModuleInvocation {
  const wasmTag = r.u8(`${field}.wasm tag`);
  let wasm: SmartModuleInvocationWasm;
  if (wasmTag === 0) wasm = { type: 'Predefined', name: r.string(`${field}.wasm.Predefined`) };
  else if (wasmTag === 1) wasm = { type: 'AdHoc', payload: r.bytes(`${field}.wasm.AdHoc`) };
  else throw new DecodeError(`${field}.wasm: unknown variant tag ${wasmTag}`);
  const kind = decodeSmartModuleKind(r, `${field}.kind`);
  const params = decodeSmartModuleExtraParams(r, version, `${field}.params`);
  return { wasm, kind, params };
}

export function encodeSmartModuleKind(w: Writer, kind: SmartModuleKind): void {
  w.u8(KIND_TAGS[kind.type]);
  switch (kind.type) {
    case 'Aggregate':
      w.bytes(kind.accumulator);
      return;
    case 'Join':
      w.string(kind.topic);
      return;
    case 'JoinStream':
      w.string(kind.topic);
      w.string(kind.derivedstream);
      return;
    case 'Generic':
      encodeContextData(w, kind.context);
      return;
    default:
      return;
  }
}

export function decodeSmartModuleKind(r: Reader, field = 'kind'): SmartModuleKind {
  const tag = r.u8(`${field} tag`);
  switch (tag) {
    case 0:
      return { type: 'Filter' };
    case 1:
      return { type: 'Map' };
    case 2:
      return { type: 'ArrayMap' };
    case 3:
      return { type: 'Aggregate', accumulator: r.bytes(`${field}.Aggregate.accumulator`) };
    case 4:
      return { type: 'FilterMap' };
    case 5:
      return { type: 'Join', topic: r.string(`${field}.Join`) };
    case 6: {
      const topic = r.string(`${field}.JoinStream.topic`);
      return { type: 'JoinStream', topic, derivedstream: r.string(`${field}.JoinStream.derivedstream`) };
    }
    case 7:
      return { type: 'Generic', context: decodeContextData(r, `${field}.Generic`) };
    default:
      throw new DecodeError(`${field}: unknown SmartModule kind tag ${tag}`);
  }
}

function encodeContextData(w: Writer, context: SmartModuleContextData): void {
  switch (context.type) {
    case 'None':
      w.u8(0);
      return;
    case 'Aggregate':
      w.u8(1);
      w.bytes(context.accumulator);
      return;
    case 'Join':
      w.u8(2);
      w.string(context.topic);
      return;
    case 'JoinStream':
      w.u8(3);
      w.string(context.topic);
      w.string(context.derivedstream);
      return;
  }
}

function decodeContextData(r: Reader, field: string): SmartModuleContextData {
  const tag = r.u8(`${field} tag`);
  switch (tag) {
    case 0:
      return { type: 'None' };
    case 1:
      return { type: 'Aggregate', accumulator: r.bytes(`${field}.Aggregate.accumulator`) };
    case 2:
      return { type: 'Join', topic: r.string(`${field}.Join`) };
    case 3: {
      const topic = r.string(`${field}.JoinStream.topic`);
      return { type: 'JoinStream', topic, derivedstream: r.string(`${field}.JoinStream.derivedstream`) };
    }
    default:
      throw new DecodeError(`${field}: unknown SmartModule context tag ${tag}`);
  }
}

export function encodeSmartModuleExtraParams(w: Writer, params: SmartModuleExtraParams, version: number): void {
  encodeStringMap(w, params.params);
  if (version >= SMARTMODULE_LOOKBACK_VERSION) {
    w.optional(params.lookback, (lookback) => {
      w.u64(lookback.last);
      if (version >= SMARTMODULE_LOOKBACK_AGE_VERSION) w.optional(lookback.age, (age) => w.duration(age));
    });
  }
}

export function decodeSmartModuleExtraParams(r: Reader, version: number, field = 'params'): SmartModuleExtraParams {
  const params = decodeStringMap(r, `${field}.inner`);
  if (version < SMARTMODULE_LOOKBACK_VERSION) return { params };
  const lookback = r.optional((): Lookback => {
    const last = r.u64(`${field}.lookback.last`);
    if (version < SMARTMODULE_LOOKBACK_AGE_VERSION) return { last };
    const age = r.optional(() => r.duration(`${field}.lookback.age`), `${field}.lookback.age`);
    return age === undefined ? { last } : { last, age };
  }, `${field}.lookback`);
  return lookback === undefined ? { params } : { params, lookback };
}

/** BTreeMap<String, String>. */
export function encodeStringMap(w: Writer, map: ReadonlyMap<string, string>): void {
  w.map(
    map,
    compareUtf8,
    (key) => w.string(key),
    (value) => w.string(value),
  );
}

export function decodeStringMap(r: Reader, field: string): Map<string, string> {
  return r.map(
    () => r.string(`${field} key`),
    () => r.string(`${field} value`),
    field,
    4,
  );
}
