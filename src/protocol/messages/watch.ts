// Watch (SC key 1004), used at v16; streaming: every response frame carries
// the request's correlation id, for as long as the connection lives.
//
// Request: TypeBuffer { ty = kind label, payload:
//   epoch    i64    the client always sends 0
//   summary  bool   v >= 10 }
//
// Response frame: TypeBuffer { ty = the same label, payload: MetadataUpdate<S>
//   epoch    i64
//   changes  Vec<{header u8 (0 UPDATE, 1 DELETE), content Metadata<S>}>
//   all      Vec<Metadata<S>> }
//
// The client sends the Watch requests with client_id "dummy".

import type { Reader, Writer } from '../codec.js';
import { isKnownKind, objectCodec, type KnownKind, type ObjectMetadata } from './objects/kinds.js';
import { decodeMetadataUpdate, encodeMetadataUpdate, type MetadataUpdate, type ObjectCodec } from './objects/metadata.js';
import { decodeTypeBuffer, encodeTypeBuffer } from './type-buffer.js';

export const WATCH_SUMMARY_VERSION = 10;

export interface WatchRequest {
  /** The TypeBuffer label. */
  kind: string;
  epoch: number;
  summary: boolean;
}

export type WatchResponse =
  | { [K in KnownKind]: { kind: K; update: MetadataUpdate<ObjectMetadata<K>> } }[KnownKind]
  | { kind: 'Unsupported'; label: string; payload: Buffer };

export function encodeWatchRequest(w: Writer, req: WatchRequest, version: number): void {
  encodeTypeBuffer(w, req.kind, version, () => {
    w.i64(req.epoch);
    if (version >= WATCH_SUMMARY_VERSION) w.bool(req.summary);
  });
}

export function decodeWatchRequest(r: Reader, version: number): WatchRequest {
  const { label, payload } = decodeTypeBuffer(r, version, 'Watch request');
  const epoch = payload.i64('epoch');
  const summary = version >= WATCH_SUMMARY_VERSION ? payload.bool('summary') : false;
  payload.expectEnd(`Watch ${label} payload`);
  return { kind: label, epoch, summary };
}

export function encodeWatchResponse(w: Writer, res: WatchResponse, version: number): void {
  if (res.kind === 'Unsupported') {
    encodeTypeBuffer(w, res.label, version, () => w.raw(res.payload));
    return;
  }
  const codec = objectCodec(res.kind) as ObjectCodec<unknown, unknown>;
  encodeTypeBuffer(w, res.kind, version, () => encodeMetadataUpdate(w, codec, res.update, version));
}

export function decodeWatchResponse(r: Reader, version: number): WatchResponse {
  const { label, payload } = decodeTypeBuffer(r, version, 'Watch response');
  if (!isKnownKind(label)) return { kind: 'Unsupported', label, payload: payload.raw(payload.remaining(), 'payload') };
  const codec = objectCodec(label) as ObjectCodec<unknown, unknown>;
  const update = decodeMetadataUpdate(payload, codec, version);
  payload.expectEnd(`Watch ${label} response payload`);
  return { kind: label, update } as WatchResponse;
}
