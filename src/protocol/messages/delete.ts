// Delete (SC key 1002), used at v16.
//
// Request: TypeBuffer { ty = kind label, payload:
//   key    String for every kind except "CustomSpu", whose key is CustomSpuKey
//          (String "Name" + String, or String "Id" + i32)
//   force  bool   v >= 13 (the client sends false) }
//
// Response: Status (not wrapped).

import type { Reader, Writer } from '../codec.js';
import { decodeCustomSpuKey, encodeCustomSpuKey, type CustomSpuKey } from './objects/spu.js';
import { decodeStatus, encodeStatus, type Status } from './status.js';
import { decodeTypeBuffer, encodeTypeBuffer } from './type-buffer.js';

export const DELETE_FORCE_VERSION = 13;

export interface DeleteRequest {
  /** The TypeBuffer label: "Topic", "SmartModule", "CustomSpu", "SpuGroup", ... */
  kind: string;
  /** A CustomSpuKey for "CustomSpu" (a plain string there means a Name key); a name otherwise. */
  key: string | CustomSpuKey;
  force: boolean;
}

export type DeleteResponse = Status;

export function encodeDeleteRequest(w: Writer, req: DeleteRequest, version: number): void {
  encodeTypeBuffer(w, req.kind, version, () => {
    if (req.kind === 'CustomSpu') {
      encodeCustomSpuKey(w, typeof req.key === 'string' ? { type: 'Name', name: req.key } : req.key);
    } else if (typeof req.key === 'string') {
      w.string(req.key);
    } else {
      throw new TypeError(`a ${req.kind} is deleted by name, not by a CustomSpuKey`);
    }
    if (version >= DELETE_FORCE_VERSION) w.bool(req.force);
  });
}

export function decodeDeleteRequest(r: Reader, version: number): DeleteRequest {
  const { label, payload } = decodeTypeBuffer(r, version, 'Delete request');
  const key = label === 'CustomSpu' ? decodeCustomSpuKey(payload) : payload.string('key');
  const force = version >= DELETE_FORCE_VERSION ? payload.bool('force') : false;
  payload.expectEnd(`Delete ${label} payload`);
  return { kind: label, key, force };
}

export function encodeDeleteResponse(w: Writer, res: DeleteResponse, version: number): void {
  encodeStatus(w, res, version);
}

export function decodeDeleteResponse(r: Reader, version: number): DeleteResponse {
  return decodeStatus(r, version);
}
