// The typed record a SmartModule function sees, and the params init gets.

import { fromUtf8, utf8 } from "./bytes";
import { JsonValue } from "./json";

/** Converts a value given to the record builders to bytes: a string (UTF-8), a Uint8Array, an ArrayBuffer or a JsonValue (compact JSON). */
export function toBytes<T>(value: T): Uint8Array {
  if (isString<T>()) {
    if (isNullable<T>() && changetype<usize>(value) == 0) return new Uint8Array(0);
    return utf8(changetype<string>(value));
  } else if (isReference<T>()) {
    if (changetype<usize>(value) == 0) return new Uint8Array(0);
    if (value instanceof Uint8Array) return changetype<Uint8Array>(value);
    if (value instanceof ArrayBuffer) return Uint8Array.wrap(changetype<ArrayBuffer>(value));
    if (value instanceof JsonValue) return utf8(changetype<JsonValue>(value).stringify());
  }
  ERROR("a record key or value must be a string, Uint8Array, ArrayBuffer or JsonValue");
  return new Uint8Array(0);
}

/**
 * One record: key (optional) and value as bytes, with string views; its
 * absolute offset and timestamp (ms). Records are immutable: the `with*`
 * methods return a new record that keeps this one's position in the batch.
 */
export class Record {
  /** The key, or null when the record has none. */
  readonly key: Uint8Array | null;
  readonly value: Uint8Array;
  /** Absolute offset: the batch's base offset + this record's offset delta (0 for records a module creates). */
  readonly offset: i64;
  /** Timestamp in ms: the batch's base timestamp + this record's timestamp delta (ABI version >= 22; else the delta). */
  readonly timestamp: i64;
  readonly offsetDelta: i64;
  readonly timestampDelta: i64;
  readonly attributes: i8;
  /** Header count as stored (always 0 in practice). */
  readonly headers: i64;

  constructor(
    key: Uint8Array | null,
    value: Uint8Array,
    offset: i64 = 0,
    timestamp: i64 = 0,
    offsetDelta: i64 = 0,
    timestampDelta: i64 = 0,
    attributes: i8 = 0,
    headers: i64 = 0,
  ) {
    this.key = key;
    this.value = value;
    this.offset = offset;
    this.timestamp = timestamp;
    this.offsetDelta = offsetDelta;
    this.timestampDelta = timestampDelta;
    this.attributes = attributes;
    this.headers = headers;
  }

  /** A new record with this value and no key (array-map outputs, for example). */
  static create<V>(value: V): Record {
    return new Record(null, toBytes<V>(value));
  }

  /** A new record with this key and value. */
  static keyed<K, V>(key: K, value: V): Record {
    return new Record(toBytes<K>(key), toBytes<V>(value));
  }

  hasKey(): bool {
    return this.key != null;
  }

  /** The key as UTF-8 text ("" when there is no key). */
  keyString(): string {
    const key = this.key;
    return key == null ? "" : fromUtf8(key);
  }

  /** The value as UTF-8 text (invalid sequences become U+FFFD; see utf8Error to check). */
  valueString(): string {
    return fromUtf8(this.value);
  }

  /** The same record with another value (string, bytes or JsonValue); key and position kept. */
  withValue<V>(value: V): Record {
    return new Record(this.key, toBytes<V>(value), this.offset, this.timestamp, this.offsetDelta, this.timestampDelta, this.attributes, this.headers);
  }

  /** The same record with another key. */
  withKey<K>(key: K): Record {
    return new Record(toBytes<K>(key), this.value, this.offset, this.timestamp, this.offsetDelta, this.timestampDelta, this.attributes, this.headers);
  }

  /** The same record without a key. */
  withoutKey(): Record {
    return new Record(null, this.value, this.offset, this.timestamp, this.offsetDelta, this.timestampDelta, this.attributes, this.headers);
  }
}

/** Look-back the consumer or transform asked for (init params, ABI version >= 20). */
export class Lookback {
  constructor(
    /** Last N records. */
    public last: u64,
    /** Max age in ms, or -1 when not set. */
    public ageMs: i64,
  ) {}
}

/** The params init receives: `with:` values / `-e key=value` (every value is a string). */
export class Params {
  private readonly map: Map<string, string> = new Map<string, string>();
  private readonly order: string[] = [];
  lookback: Lookback | null = null;

  set(name: string, value: string): void {
    if (!this.map.has(name)) this.order.push(name);
    this.map.set(name, value);
  }

  has(name: string): bool {
    return this.map.has(name);
  }

  /** The value, or null. */
  get(name: string): string | null {
    return this.map.has(name) ? this.map.get(name) : null;
  }

  /** The value, or `fallback`. */
  getOr(name: string, fallback: string): string {
    return this.map.has(name) ? this.map.get(name) : fallback;
  }

  /** Names in the order received (sorted, as Fluvio sends them). */
  names(): string[] {
    return this.order.slice(0);
  }

  get size(): i32 {
    return this.order.length;
  }
}
