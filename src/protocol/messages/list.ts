// List (SC key 1003), used at v16.
//
// Request: TypeBuffer { ty = kind label, payload:
//   name_filters  Vec<{name String}>   the Node client sends none
//   summary       bool                 v >= 10
//   system        bool                 v >= 13 }
//
// Response: TypeBuffer { ty = the same label, payload:
//   Vec<Metadata<S>>   Metadata = name String, spec S, status S::Status }
//
// The client checks that the response label equals the one it asked for.

import type { Reader, Writer } from '../codec.js';
import { isKnownKind, objectCodec, type KnownKind, type ObjectMetadata } from './objects/kinds.js';
import { decodeMetadataList, encodeMetadataList, type ObjectCodec } from './objects/metadata.js';
import { decodeTypeBuffer, encodeTypeBuffer } from './type-buffer.js';

export const LIST_SUMMARY_VERSION = 10;
export const LIST_SYSTEM_VERSION = 13;

export interface ListRequest {
  /** The TypeBuffer label. */
  kind: string;
  nameFilters: string[];
  summary: boolean;
  system: boolean;
}

export type ListResponse =
  | { [K in KnownKind]: { kind: K; items: ObjectMetadata<K>[] } }[KnownKind]
  | { kind: 'Unsupported'; label: string; payload: Buffer };

export function encodeListRequest(w: Writer, req: ListRequest, version: number): void {
  encodeTypeBuffer(w, req.kind, version, () => {
    w.array(req.nameFilters, (name) => w.string(name));
    if (version >= LIST_SUMMARY_VERSION) w.bool(req.summary);
    if (version >= LIST_SYSTEM_VERSION) w.bool(req.system);
  });
}

export function decodeListRequest(r: Reader, version: number): ListRequest {
  const { label, payload } = decodeTypeBuffer(r, version, 'List request');
  const nameFilters = payload.array(() => payload.string('name_filters.name'), 'name_filters', 2);
  const summary = version >= LIST_SUMMARY_VERSION ? payload.bool('summary') : false;
  const system = version >= LIST_SYSTEM_VERSION ? payload.bool('system') : false;
  payload.expectEnd(`List ${label} payload`);
  return { kind: label, nameFilters, summary, system };
}

export function encodeListResponse(w: Writer, res: ListResponse, version: number): void {
  if (res.kind === 'Unsupported') {
    encodeTypeBuffer(w, res.label, version, () => w.raw(res.payload));
    return;
  }
  const codec = objectCodec(res.kind) as ObjectCodec<unknown, unknown>;
  encodeTypeBuffer(w, res.kind, version, () => encodeMetadataList(w, codec, res.items, version));
}

export function decodeListResponse(r: Reader, version: number): ListResponse {
  const { label, payload } = decodeTypeBuffer(r, version, 'List response');
  if (!isKnownKind(label)) return { kind: 'Unsupported', label, payload: payload.raw(payload.remaining(), 'payload') };
  const codec = objectCodec(label) as ObjectCodec<unknown, unknown>;
  const items = decodeMetadataList(payload, codec, version);
  payload.expectEnd(`List ${label} response payload`);
  return { kind: label, items } as ListResponse;
}
