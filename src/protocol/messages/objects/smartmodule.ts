// SmartModule objects (store key = the SmartModule's name or package id).
// Layout of fluvio-controlplane-metadata smartmodule/ at v0.11.11; the SC
// APIs run at v16, where the V2 format (v >= 10) applies.
//
// SmartModuleSpec:
//   meta     Option<SmartModuleMetadata>
//              package  SmartModulePackage
//                name         String
//                group        String
//                version      String (semver)
//                api_version  String (semver)
//                description  Option<String>
//                license      Option<String>
//                visibility   u8: 0 Private, 1 Public   v >= 19
//                repository   Option<String>
//              params   BTreeMap<String, SmartModuleParam { description Option<String>, optional bool }>
//   summary  Option<{ wasm_length u32 }>     only SC -> CLI, in summary listings
//   wasm     SmartModuleWasm
//              format   u8: 0 Binary, 1 Text
//              payload  ByteBuf (u32 length + bytes), the gzipped module
//
// SmartModuleStatus: a unit struct, zero bytes.

import { compareUtf8, DecodeError, type Reader, type Writer } from '../../codec.js';
import { isSemver } from '../../semver.js';
import type { ObjectCodec } from './metadata.js';

/** Below this version the spec used the V1 layout, which Freshet does not speak. */
export const SMARTMODULE_V2_FORMAT_VERSION = 10;
export const SMARTMODULE_VISIBILITY_VERSION = 19;

export const SmartModuleWasmFormat = { Binary: 0, Text: 1 } as const;
export const SmartModuleVisibility = { Private: 0, Public: 1 } as const;

export interface SmartModulePackage {
  name: string;
  group: string;
  version: string;
  apiVersion: string;
  description?: string;
  license?: string;
  /** Only on the wire at v >= 19. */
  visibility: number;
  repository?: string;
}

export interface SmartModuleParam {
  description?: string;
  optional: boolean;
}

export interface SmartModuleMetadata {
  package: SmartModulePackage;
  params: Map<string, SmartModuleParam>;
}

export interface SmartModuleWasm {
  format: number;
  /** gzip-compressed wasm. */
  payload: Buffer;
}

export interface SmartModuleSpec {
  meta?: SmartModuleMetadata;
  summary?: { wasmLength: number };
  wasm: SmartModuleWasm;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface SmartModuleStatus {}

function readSemver(r: Reader, field: string): string {
  const value = r.string(field);
  if (!isSemver(value)) throw new DecodeError(`${field}: ${JSON.stringify(value)} is not a semver version`);
  return value;
}

function checkVersion(version: number): void {
  if (version < SMARTMODULE_V2_FORMAT_VERSION) {
    throw new DecodeError(`SmartModuleSpec at api_version ${version} uses the V1 layout, which is not supported`);
  }
}

function encodeOptionalString(w: Writer, value: string | undefined): void {
  w.optional(value, (text) => w.string(text));
}

export function encodeSmartModuleSpec(w: Writer, spec: SmartModuleSpec, version: number): void {
  if (version < SMARTMODULE_V2_FORMAT_VERSION) {
    throw new RangeError(`SmartModuleSpec cannot be written at api_version ${version} (V1 layout)`);
  }
  w.optional(spec.meta, (meta) => {
    const pkg = meta.package;
    w.string(pkg.name);
    w.string(pkg.group);
    w.string(pkg.version);
    w.string(pkg.apiVersion);
    encodeOptionalString(w, pkg.description);
    encodeOptionalString(w, pkg.license);
    if (version >= SMARTMODULE_VISIBILITY_VERSION) w.u8(pkg.visibility);
    encodeOptionalString(w, pkg.repository);
    w.map(
      meta.params,
      compareUtf8,
      (name) => w.string(name),
      (param) => {
        encodeOptionalString(w, param.description);
        w.bool(param.optional);
      },
    );
  });
  w.optional(spec.summary, (summary) => w.u32(summary.wasmLength));
  w.u8(spec.wasm.format);
  w.bytes(spec.wasm.payload);
}

export function decodeSmartModuleSpec(r: Reader, version: number): SmartModuleSpec {
  checkVersion(version);
  const meta = r.optional((): SmartModuleMetadata => {
    const name = r.string('spec.meta.package.name');
    const group = r.string('spec.meta.package.group');
    const pkgVersion = readSemver(r, 'spec.meta.package.version');
    const apiVersion = readSemver(r, 'spec.meta.package.api_version');
    const pkg: SmartModulePackage = {
      name,
      group,
      version: pkgVersion,
      apiVersion,
      visibility: SmartModuleVisibility.Private,
    };
    const description = r.optional(() => r.string('spec.meta.package.description'), 'spec.meta.package.description');
    if (description !== undefined) pkg.description = description;
    const license = r.optional(() => r.string('spec.meta.package.license'), 'spec.meta.package.license');
    if (license !== undefined) pkg.license = license;
    if (version >= SMARTMODULE_VISIBILITY_VERSION) {
      const visibility = r.u8('spec.meta.package.visibility');
      if (visibility > SmartModuleVisibility.Public) {
        throw new DecodeError(`spec.meta.package.visibility: unknown visibility ${visibility}`);
      }
      pkg.visibility = visibility;
    }
    const repository = r.optional(() => r.string('spec.meta.package.repository'), 'spec.meta.package.repository');
    if (repository !== undefined) pkg.repository = repository;
    const params = r.map(
      () => r.string('spec.meta.params key'),
      (): SmartModuleParam => {
        const paramDescription = r.optional(() => r.string('spec.meta.params.description'), 'spec.meta.params.description');
        const optional = r.bool('spec.meta.params.optional');
        return paramDescription === undefined ? { optional } : { description: paramDescription, optional };
      },
      'spec.meta.params',
      4,
    );
    return { package: pkg, params };
  }, 'spec.meta');
  const summary = r.optional(() => ({ wasmLength: r.u32('spec.summary.wasm_length') }), 'spec.summary');
  const format = r.u8('spec.wasm.format');
  if (format > SmartModuleWasmFormat.Text) throw new DecodeError(`spec.wasm.format: unknown format ${format}`);
  const payload = r.bytes('spec.wasm.payload');
  const spec: SmartModuleSpec = { wasm: { format, payload } };
  if (meta !== undefined) spec.meta = meta;
  if (summary !== undefined) spec.summary = summary;
  return spec;
}

export function encodeSmartModuleStatus(_w: Writer, _status: SmartModuleStatus, _version: number): void {}

export function decodeSmartModuleStatus(_r: Reader, _version: number): SmartModuleStatus {
  return {};
}

export const smartModuleCodec: ObjectCodec<SmartModuleSpec, SmartModuleStatus> = {
  encodeSpec: encodeSmartModuleSpec,
  decodeSpec: decodeSmartModuleSpec,
  encodeStatus: encodeSmartModuleStatus,
  decodeStatus: decodeSmartModuleStatus,
};
