// Create (SC key 1001), used at v16.
//
// Request: TypeBuffer { ty = kind label, payload:
//   name     String
//   dry_run  bool
//   timeout  Option<u32>   ms, v >= 7 (the client sends None)
//   spec     the kind's spec: TopicSpec, SmartModuleSpec, CustomSpuSpec, ... }
//
// Response: Status (not wrapped).
//
// Kinds Freshet does not model (SpuGroup, TableFormat, Mirror, or any unknown
// label) decode as 'Unsupported' with the spec's raw bytes, so the server can
// answer with an error Status instead of dropping the connection.

import type { Reader, Writer } from '../codec.js';
import { decodeCustomSpuSpec, encodeCustomSpuSpec, type CustomSpuSpec } from './objects/spu.js';
import { decodeSmartModuleSpec, encodeSmartModuleSpec, type SmartModuleSpec } from './objects/smartmodule.js';
import { decodeTopicSpec, encodeTopicSpec, type TopicSpec } from './objects/topic.js';
import { decodeStatus, encodeStatus, type Status } from './status.js';
import { decodeTypeBuffer, encodeTypeBuffer } from './type-buffer.js';

export const CREATE_TIMEOUT_VERSION = 7;

export interface CreateCommon {
  name: string;
  dryRun: boolean;
  /** ms */
  timeout?: number;
}

export type CreateRequest =
  | (CreateCommon & { kind: 'Topic'; spec: TopicSpec })
  | (CreateCommon & { kind: 'SmartModule'; spec: SmartModuleSpec })
  | (CreateCommon & { kind: 'CustomSpu'; spec: CustomSpuSpec })
  | (CreateCommon & { kind: 'Unsupported'; label: string; spec: Buffer });

export type CreateResponse = Status;

export function encodeCreateRequest(w: Writer, req: CreateRequest, version: number): void {
  const label = req.kind === 'Unsupported' ? req.label : req.kind;
  encodeTypeBuffer(w, label, version, () => {
    w.string(req.name);
    w.bool(req.dryRun);
    if (version >= CREATE_TIMEOUT_VERSION) w.optional(req.timeout, (timeout) => w.u32(timeout));
    switch (req.kind) {
      case 'Topic':
        encodeTopicSpec(w, req.spec, version);
        return;
      case 'SmartModule':
        encodeSmartModuleSpec(w, req.spec, version);
        return;
      case 'CustomSpu':
        encodeCustomSpuSpec(w, req.spec, version);
        return;
      case 'Unsupported':
        w.raw(req.spec);
        return;
    }
  });
}

export function decodeCreateRequest(r: Reader, version: number): CreateRequest {
  const { label, payload } = decodeTypeBuffer(r, version, 'Create request');
  const name = payload.string('name');
  const dryRun = payload.bool('dry_run');
  const common: CreateCommon = { name, dryRun };
  if (version >= CREATE_TIMEOUT_VERSION) {
    const timeout = payload.optional(() => payload.u32('timeout'), 'timeout');
    if (timeout !== undefined) common.timeout = timeout;
  }
  let req: CreateRequest;
  switch (label) {
    case 'Topic':
      req = { ...common, kind: 'Topic', spec: decodeTopicSpec(payload, version) };
      break;
    case 'SmartModule':
      req = { ...common, kind: 'SmartModule', spec: decodeSmartModuleSpec(payload, version) };
      break;
    case 'CustomSpu':
      req = { ...common, kind: 'CustomSpu', spec: decodeCustomSpuSpec(payload, version) };
      break;
    default:
      req = { ...common, kind: 'Unsupported', label, spec: payload.raw(payload.remaining(), 'spec') };
  }
  payload.expectEnd(`Create ${label} payload`);
  return req;
}

export function encodeCreateResponse(w: Writer, res: CreateResponse, version: number): void {
  encodeStatus(w, res, version);
}

export function decodeCreateResponse(r: Reader, version: number): CreateResponse {
  return decodeStatus(r, version);
}
