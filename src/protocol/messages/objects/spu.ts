// SPU objects (store key = SPU name, e.g. "custom-spu-5001").
//
// SpuSpec:
//   id                     i32
//   spu_type               u8: 0 Managed, 1 Custom
//   public_endpoint        IngressPort
//     port                 u16
//     ingress              Vec<IngressAddr { hostname Option<String>, ip Option<String> }>
//     encryption           u8: 0 PLAINTEXT, 1 SSL
//   private_endpoint       Endpoint { port u16, host String, encryption u8 }
//   rack                   Option<String>
//   public_endpoint_local  Option<Endpoint>   v >= 1
//
// CustomSpuSpec (kind "CustomSpu", create/delete only; listed with SpuStatus):
//   id, public_endpoint, private_endpoint, rack, public_endpoint_local (no version gate)
//
// CustomSpuKey (the Delete key of "CustomSpu"): String "Name" + String, or String "Id" + i32
//
// SpuStatus: resolution u8: 0 Online, 1 Offline, 2 Init
//
// The client connects to the leader at the first ingress entry's hostname
// (else its ip) and public_endpoint.port.

import { DecodeError, type Reader, type Writer } from '../../codec.js';
import type { ObjectCodec } from './metadata.js';

export const SpuType = { Managed: 0, Custom: 1 } as const;
export const Encryption = { PLAINTEXT: 0, SSL: 1 } as const;
export const SpuStatusResolution = { Online: 0, Offline: 1, Init: 2 } as const;

export interface IngressAddr {
  hostname?: string;
  ip?: string;
}

export interface IngressPort {
  port: number;
  ingress: IngressAddr[];
  encryption: number;
}

export interface Endpoint {
  port: number;
  host: string;
  encryption: number;
}

export interface SpuSpec {
  id: number;
  spuType: number;
  publicEndpoint: IngressPort;
  privateEndpoint: Endpoint;
  rack?: string;
  publicEndpointLocal?: Endpoint;
}

export interface CustomSpuSpec {
  id: number;
  publicEndpoint: IngressPort;
  privateEndpoint: Endpoint;
  rack?: string;
  publicEndpointLocal?: Endpoint;
}

export interface SpuStatus {
  resolution: number;
}

export type CustomSpuKey = { type: 'Name'; name: string } | { type: 'Id'; id: number };

function decodeEncryption(r: Reader, field: string): number {
  const tag = r.u8(field);
  if (tag > Encryption.SSL) throw new DecodeError(`${field}: unknown encryption ${tag}`);
  return tag;
}

export function encodeIngressPort(w: Writer, port: IngressPort): void {
  w.u16(port.port);
  w.array(port.ingress, (addr) => {
    w.optional(addr.hostname, (hostname) => w.string(hostname));
    w.optional(addr.ip, (ip) => w.string(ip));
  });
  w.u8(port.encryption);
}

export function decodeIngressPort(r: Reader, field: string): IngressPort {
  const port = r.u16(`${field}.port`);
  const ingress = r.array(
    (): IngressAddr => {
      const hostname = r.optional(() => r.string(`${field}.ingress.hostname`), `${field}.ingress.hostname`);
      const ip = r.optional(() => r.string(`${field}.ingress.ip`), `${field}.ingress.ip`);
      const addr: IngressAddr = {};
      if (hostname !== undefined) addr.hostname = hostname;
      if (ip !== undefined) addr.ip = ip;
      return addr;
    },
    `${field}.ingress`,
    2,
  );
  return { port, ingress, encryption: decodeEncryption(r, `${field}.encryption`) };
}

export function encodeEndpoint(w: Writer, endpoint: Endpoint): void {
  w.u16(endpoint.port);
  w.string(endpoint.host);
  w.u8(endpoint.encryption);
}

export function decodeEndpoint(r: Reader, field: string): Endpoint {
  const port = r.u16(`${field}.port`);
  const host = r.string(`${field}.host`);
  return { port, host, encryption: decodeEncryption(r, `${field}.encryption`) };
}

export function encodeSpuSpec(w: Writer, spec: SpuSpec, version: number): void {
  w.i32(spec.id);
  w.u8(spec.spuType);
  encodeIngressPort(w, spec.publicEndpoint);
  encodeEndpoint(w, spec.privateEndpoint);
  w.optional(spec.rack, (rack) => w.string(rack));
  if (version >= 1) w.optional(spec.publicEndpointLocal, (endpoint) => encodeEndpoint(w, endpoint));
}

export function decodeSpuSpec(r: Reader, version: number): SpuSpec {
  const id = r.i32('spec.id');
  const spuType = r.u8('spec.spu_type');
  if (spuType > SpuType.Custom) throw new DecodeError(`spec.spu_type: unknown SPU type ${spuType}`);
  const publicEndpoint = decodeIngressPort(r, 'spec.public_endpoint');
  const privateEndpoint = decodeEndpoint(r, 'spec.private_endpoint');
  const spec: SpuSpec = { id, spuType, publicEndpoint, privateEndpoint };
  const rack = r.optional(() => r.string('spec.rack'), 'spec.rack');
  if (rack !== undefined) spec.rack = rack;
  if (version >= 1) {
    const local = r.optional(() => decodeEndpoint(r, 'spec.public_endpoint_local'), 'spec.public_endpoint_local');
    if (local !== undefined) spec.publicEndpointLocal = local;
  }
  return spec;
}

export function encodeCustomSpuSpec(w: Writer, spec: CustomSpuSpec, _version: number): void {
  w.i32(spec.id);
  encodeIngressPort(w, spec.publicEndpoint);
  encodeEndpoint(w, spec.privateEndpoint);
  w.optional(spec.rack, (rack) => w.string(rack));
  w.optional(spec.publicEndpointLocal, (endpoint) => encodeEndpoint(w, endpoint));
}

export function decodeCustomSpuSpec(r: Reader, _version: number): CustomSpuSpec {
  const id = r.i32('spec.id');
  const publicEndpoint = decodeIngressPort(r, 'spec.public_endpoint');
  const privateEndpoint = decodeEndpoint(r, 'spec.private_endpoint');
  const spec: CustomSpuSpec = { id, publicEndpoint, privateEndpoint };
  const rack = r.optional(() => r.string('spec.rack'), 'spec.rack');
  if (rack !== undefined) spec.rack = rack;
  const local = r.optional(() => decodeEndpoint(r, 'spec.public_endpoint_local'), 'spec.public_endpoint_local');
  if (local !== undefined) spec.publicEndpointLocal = local;
  return spec;
}

export function encodeSpuStatus(w: Writer, status: SpuStatus, _version: number): void {
  w.u8(status.resolution);
}

export function decodeSpuStatus(r: Reader, _version: number): SpuStatus {
  const resolution = r.u8('status.resolution');
  if (resolution > SpuStatusResolution.Init) throw new DecodeError(`status.resolution: unknown SPU resolution ${resolution}`);
  return { resolution };
}

export function encodeCustomSpuKey(w: Writer, key: CustomSpuKey): void {
  if (key.type === 'Name') {
    w.string('Name');
    w.string(key.name);
  } else {
    w.string('Id');
    w.i32(key.id);
  }
}

export function decodeCustomSpuKey(r: Reader, field = 'key'): CustomSpuKey {
  const type = r.string(`${field} type`);
  if (type === 'Name') return { type: 'Name', name: r.string(`${field}.Name`) };
  if (type === 'Id') return { type: 'Id', id: r.i32(`${field}.Id`) };
  throw new DecodeError(`${field}: unknown CustomSpuKey type ${JSON.stringify(type)}`);
}

export const spuCodec: ObjectCodec<SpuSpec, SpuStatus> = {
  encodeSpec: encodeSpuSpec,
  decodeSpec: decodeSpuSpec,
  encodeStatus: encodeSpuStatus,
  decodeStatus: decodeSpuStatus,
};

export const customSpuCodec: ObjectCodec<CustomSpuSpec, SpuStatus> = {
  encodeSpec: encodeCustomSpuSpec,
  decodeSpec: decodeCustomSpuSpec,
  encodeStatus: encodeSpuStatus,
  decodeStatus: decodeSpuStatus,
};
