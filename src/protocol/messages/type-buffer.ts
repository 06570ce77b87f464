// TypeBuffer, the "typed object" wrapper of the SC object APIs (Create,
// Delete, List, Watch: requests and List/Watch responses), at v >= 11:
//
//   ty       String   object kind label: "Topic", "Partition", "SPU", "CustomSpu",
//                     "SpuGroup", "SmartModule", "TableFormat", "Mirror"
//   len      u32      byte length of the payload
//   payload  len bytes, the kind-specific struct encoded at the request's api_version
//
// Below v11 Fluvio used a "classic" per-kind enum layout; the client never
// uses it against a server that advertises v16, so it is refused here.

import { DecodeError, type Reader, type Writer } from '../codec.js';

/** Fluvio's DYN_OBJ: the first version with the TypeBuffer layout. */
export const DYN_OBJ_VERSION = 11;

export interface TypeBuffer {
  label: string;
  /** A reader over exactly the payload bytes. */
  payload: Reader;
}

export function decodeTypeBuffer(r: Reader, version: number, what: string): TypeBuffer {
  if (version < DYN_OBJ_VERSION) {
    throw new DecodeError(`${what} at api_version ${version} uses the classic layout, which is not supported`);
  }
  const label = r.string(`${what} type label`);
  const length = r.u32(`${what} payload length`);
  return { label, payload: r.sub(length, `${what} payload`) };
}

export function encodeTypeBuffer(w: Writer, label: string, version: number, writePayload: () => void): void {
  if (version < DYN_OBJ_VERSION) {
    throw new RangeError(`TypeBuffer cannot be written at api_version ${version} (classic layout)`);
  }
  w.string(label);
  w.u32LengthPrefixed(writePayload);
}
