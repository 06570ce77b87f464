// Kafka messages are described, as in apache/kafka's message JSON files, by a
// list of fields, each present in a range of versions and possibly nullable
// from some version on. One interpreter encodes and decodes every message
// from that description, so each message file states the layout only once.
//
//   field       := name type [since..until] [nullable since]
//   type        := int8 | int16 | int32 | int64 | uint16 | bool | string
//                | bytes | records | uuid | array(type) | struct (fields)
//
// A struct is always an array element here (the APIs we serve have no bare
// structs outside tagged fields). In a flexible version every struct and the
// message itself end with a tagged-field section; tagged fields received are
// skipped and none are sent. A field outside its versions is not on the wire
// and decodes as its default.

import { DecodeError } from '../codec.js';
import { KafkaReader, KafkaWriter, UUID_SIZE, ZERO_UUID } from './codec.js';

export type ScalarType = 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'bool' | 'string' | 'bytes' | 'records' | 'uuid';

export interface ArrayType<T extends FieldType = FieldType> {
  readonly array: T;
}

export type FieldType = ScalarType | ArrayType | readonly AnyField[];

export interface Field<N extends string, T extends FieldType, Null extends boolean> {
  readonly name: N;
  readonly type: T;
  readonly since: number;
  readonly until: number;
  /** The first version in which the field may be null (Infinity: never). */
  readonly nullableSince: number;
  readonly defaultValue?: unknown;
  readonly nullable: Null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyField = Field<string, any, boolean>;

export interface FieldOptions {
  since?: number;
  until?: number;
  nullableSince?: number;
  default?: number | bigint | boolean | string | null;
}

export function field<N extends string, T extends FieldType>(name: N, type: T, opts?: FieldOptions & { nullableSince?: undefined }): Field<N, T, false>;
export function field<N extends string, T extends FieldType>(name: N, type: T, opts: FieldOptions & { nullableSince: number }): Field<N, T, true>;
export function field<N extends string, T extends FieldType>(name: N, type: T, opts: FieldOptions = {}): Field<N, T, boolean> {
  return {
    name,
    type,
    since: opts.since ?? 0,
    until: opts.until ?? Number.POSITIVE_INFINITY,
    nullableSince: opts.nullableSince ?? Number.POSITIVE_INFINITY,
    nullable: opts.nullableSince !== undefined,
    ...(opts.default !== undefined ? { defaultValue: opts.default } : {}),
  };
}

export function arrayOf<T extends FieldType>(type: T): ArrayType<T> {
  return { array: type };
}

type ScalarValue<T> = T extends 'int8' | 'int16' | 'int32' | 'int64' | 'uint16'
  ? number
  : T extends 'bool'
    ? boolean
    : T extends 'string'
      ? string
      : T extends 'bytes' | 'uuid'
        ? Buffer
        : T extends 'records'
          ? Buffer
          : never;

export type ValueOf<T> = T extends readonly AnyField[]
  ? StructOf<T>[]
  : T extends ArrayType<infer E>
    ? ValueOf<E>[]
    : ScalarValue<T>;

export type StructOf<Fs extends readonly AnyField[]> = {
  -readonly [F in Fs[number] as F['name']]: F['nullable'] extends true ? ValueOf<F['type']> | null : ValueOf<F['type']>;
};

/** What an encoder accepts: records may be given as chunks, defaults may be left out. */
export type EncodableOf<Fs extends readonly AnyField[]> = {
  -readonly [F in Fs[number] as F['name']]?: F['type'] extends 'records'
    ? Buffer | readonly Buffer[] | null
    : F['type'] extends readonly AnyField[]
      ? EncodableOf<F['type']>[]
      : F['nullable'] extends true
        ? ValueOf<F['type']> | null
        : ValueOf<F['type']>;
};

export interface MessageSchema<Fs extends readonly AnyField[] = readonly AnyField[]> {
  readonly name: string;
  readonly fields: Fs;
  /** The first flexible version. */
  readonly flexibleSince: number;
}

export function message<const Fs extends readonly AnyField[]>(name: string, flexibleSince: number, fields: Fs): MessageSchema<Fs> {
  return { name, fields, flexibleSince };
}

function present(f: AnyField, version: number): boolean {
  return version >= f.since && version <= f.until;
}

function defaultFor(f: AnyField, version: number): unknown {
  if (f.defaultValue !== undefined) return f.defaultValue;
  if (version >= f.nullableSince) return null;
  return zeroOf(f.type);
}

function zeroOf(type: FieldType): unknown {
  if (typeof type !== 'string') return [];
  switch (type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
    case 'records':
      return Buffer.alloc(0);
    case 'uuid':
      return ZERO_UUID;
    default:
      return 0;
  }
}

/** The fewest bytes an element of this type takes on the wire: bounds array counts. */
function minSize(type: FieldType): number {
  if (typeof type !== 'string') return 1;
  switch (type) {
    case 'int8':
    case 'bool':
    case 'string':
    case 'bytes':
    case 'records':
      return 1;
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
      return 4;
    case 'int64':
      return 8;
    case 'uuid':
      return UUID_SIZE;
  }
}

// --- decoding ----------------------------------------------------------------

export function decodeMessage<Fs extends readonly AnyField[]>(schema: MessageSchema<Fs>, r: KafkaReader, version: number): StructOf<Fs> {
  return decodeStruct(schema.fields, r, version, version >= schema.flexibleSince, schema.name) as StructOf<Fs>;
}

function decodeStruct(fields: readonly AnyField[], r: KafkaReader, version: number, flexible: boolean, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    out[f.name] = present(f, version) ? decodeValue(f, f.type, r, version, flexible, `${path}.${f.name}`) : defaultFor(f, version);
  }
  if (flexible) r.skipTaggedFields(`${path} tagged fields`);
  return out;
}

function decodeValue(f: AnyField, type: FieldType, r: KafkaReader, version: number, flexible: boolean, path: string): unknown {
  const nullable = version >= f.nullableSince;
  if (typeof type !== 'string') {
    const element: FieldType = Array.isArray(type) ? type : (type as ArrayType).array;
    const count = r.arrayCount(flexible, path, minSize(element));
    if (count === -1) {
      if (!nullable) throw new DecodeError(`${path} is null but may not be in v${version}`);
      return null;
    }
    const items: unknown[] = [];
    for (let i = 0; i < count; i++) {
      items.push(
        Array.isArray(element)
          ? decodeStruct(element as readonly AnyField[], r, version, flexible, `${path}[${i}]`)
          : decodeValue(f, element, r, version, flexible, `${path}[${i}]`),
      );
    }
    return items;
  }
  switch (type) {
    case 'int8':
      return r.i8(path);
    case 'int16':
      return r.i16(path);
    case 'uint16':
      return r.u16(path);
    case 'int32':
      return r.i32(path);
    case 'int64':
      return r.i64(path);
    case 'bool':
      return r.u8(path) !== 0;
    case 'uuid':
      return r.uuid(path);
    case 'string': {
      const value = r.kafkaString(flexible, path);
      if (value === null && !nullable) throw new DecodeError(`${path} is null but may not be in v${version}`);
      return value;
    }
    case 'bytes':
    case 'records': {
      const value = r.kafkaBytes(flexible, path);
      if (value === null && !nullable) throw new DecodeError(`${path} is null but may not be in v${version}`);
      return value;
    }
  }
}

// --- encoding ----------------------------------------------------------------

export function encodeMessage<Fs extends readonly AnyField[]>(schema: MessageSchema<Fs>, w: KafkaWriter, version: number, value: EncodableOf<Fs>): void {
  encodeStruct(schema.fields, w, version, version >= schema.flexibleSince, value as Record<string, unknown>, schema.name);
}

function encodeStruct(fields: readonly AnyField[], w: KafkaWriter, version: number, flexible: boolean, value: Record<string, unknown>, path: string): void {
  for (const f of fields) {
    if (!present(f, version)) continue;
    const given = value[f.name];
    encodeValue(f, f.type, w, version, flexible, given === undefined ? defaultFor(f, version) : given, `${path}.${f.name}`);
  }
  if (flexible) w.emptyTaggedFields();
}

function encodeValue(f: AnyField, type: FieldType, w: KafkaWriter, version: number, flexible: boolean, value: unknown, path: string): void {
  const nullable = version >= f.nullableSince;
  if (value === null && !nullable) {
    // A null where this version has no null: send the empty value, as Kafka's generated code would refuse to.
    value = zeroOf(type);
  }
  if (typeof type !== 'string') {
    const element: FieldType = Array.isArray(type) ? type : (type as ArrayType).array;
    if (value === null) {
      w.arrayCount(null, flexible);
      return;
    }
    const items = value as unknown[];
    w.arrayCount(items.length, flexible);
    for (let i = 0; i < items.length; i++) {
      if (Array.isArray(element)) encodeStruct(element as readonly AnyField[], w, version, flexible, items[i] as Record<string, unknown>, `${path}[${i}]`);
      else encodeValue(f, element, w, version, flexible, items[i], `${path}[${i}]`);
    }
    return;
  }
  switch (type) {
    case 'int8':
      w.i8(value as number);
      return;
    case 'int16':
      w.i16(value as number);
      return;
    case 'uint16':
      w.u16(value as number);
      return;
    case 'int32':
      w.i32(value as number);
      return;
    case 'int64':
      w.i64(value as number);
      return;
    case 'bool':
      w.u8(value ? 1 : 0);
      return;
    case 'uuid':
      w.uuid(value as Buffer);
      return;
    case 'string':
      w.kafkaString(value as string | null, flexible);
      return;
    case 'bytes':
    case 'records':
      w.kafkaBytes(value as Buffer | Buffer[] | null, flexible);
      return;
  }
}
