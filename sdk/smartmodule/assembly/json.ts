// A small JSON library for SmartModules, bounded and byte-compatible with
// what Fluvio's Rust modules produce with serde_json:
//
// - parse: serde_json's grammar and error messages with their positions
//   ("expected value at line 1 column 1"), nesting limited to 128 levels,
//   integers kept exact (u64 / i64), other numbers as f64; duplicate keys
//   keep the first position and the last value (serde_json's preserve_order).
// - stringify: compact, object keys in insertion order (or sorted, as
//   serde_json without preserve_order), strings escaped as serde_json does,
//   floats formatted as ryu does (1.0, 1e21, 1.5e-7).

import { utf8 } from "./bytes";

export const enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

const NUM_POS_INT: u8 = 0;
const NUM_NEG_INT: u8 = 1;
const NUM_FLOAT: u8 = 2;

/** The nesting depth serde_json accepts. */
export const JSON_MAX_DEPTH: i32 = 128;

// Scalars carry no containers of their own (a parse allocates one array per container, not three per value).
const NO_ITEMS: JsonValue[] = [];
const NO_KEYS: string[] = [];

/** A JSON value. Objects keep their keys in insertion order. */
export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  boolValue: bool = false;
  numKind: u8 = NUM_POS_INT;
  uintValue: u64 = 0;
  intValue: i64 = 0;
  floatValue: f64 = 0;
  stringValue: string = "";
  /** Array items (scalars share one empty array: do not push to a non-array's items; use push()). */
  items: JsonValue[] = NO_ITEMS;
  /** Object keys and values, in order (shared empty arrays for non-objects; use set()). */
  keys: string[] = NO_KEYS;
  values: JsonValue[] = NO_ITEMS;
  private index: Map<string, i32> | null = null;

  static null(): JsonValue {
    return new JsonValue();
  }

  static bool(b: bool): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Bool;
    v.boolValue = b;
    return v;
  }

  static string(s: string): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.String;
    v.stringValue = s;
    return v;
  }

  static integer(n: i64): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    if (n >= 0) {
      v.numKind = NUM_POS_INT;
      v.uintValue = <u64>n;
    } else {
      v.numKind = NUM_NEG_INT;
      v.intValue = n;
    }
    return v;
  }

  static unsigned(n: u64): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    v.numKind = NUM_POS_INT;
    v.uintValue = n;
    return v;
  }

  static float(f: f64): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    v.numKind = NUM_FLOAT;
    v.floatValue = f;
    return v;
  }

  static array(): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Array;
    v.items = [];
    return v;
  }

  static object(): JsonValue {
    const v = new JsonValue();
    v.kind = JsonKind.Object;
    v.keys = [];
    v.values = [];
    return v;
  }

  isNull(): bool {
    return this.kind == JsonKind.Null;
  }
  isBool(): bool {
    return this.kind == JsonKind.Bool;
  }
  isNumber(): bool {
    return this.kind == JsonKind.Number;
  }
  isString(): bool {
    return this.kind == JsonKind.String;
  }
  isArray(): bool {
    return this.kind == JsonKind.Array;
  }
  isObject(): bool {
    return this.kind == JsonKind.Object;
  }
  /** A number without fraction or exponent that fits u64 / i64. */
  isInteger(): bool {
    return this.kind == JsonKind.Number && this.numKind != NUM_FLOAT;
  }

  /** The number as f64 (0 for other kinds). */
  toF64(): f64 {
    if (this.kind != JsonKind.Number) return 0;
    if (this.numKind == NUM_POS_INT) return <f64>this.uintValue;
    if (this.numKind == NUM_NEG_INT) return <f64>this.intValue;
    return this.floatValue;
  }

  /** For an integer that fits u64: the value; else -1. */
  toIndex(): i64 {
    if (this.kind == JsonKind.Number && this.numKind == NUM_POS_INT && this.uintValue <= <u64>i32.MAX_VALUE) return <i64>this.uintValue;
    return -1;
  }

  /** Array length or object size (0 for scalars). */
  get length(): i32 {
    if (this.kind == JsonKind.Array) return this.items.length;
    if (this.kind == JsonKind.Object) return this.keys.length;
    return 0;
  }

  // ---- objects ----

  private lookup(key: string): i32 {
    const n = this.keys.length;
    if (n <= 8) {
      for (let i = 0; i < n; i++) if (this.keys[i] == key) return i;
      return -1;
    }
    let index = this.index;
    if (index == null) {
      index = new Map<string, i32>();
      for (let i = 0; i < n; i++) if (!index.has(this.keys[i])) index.set(this.keys[i], i);
      this.index = index;
    }
    return index.has(key) ? index.get(key) : -1;
  }

  has(key: string): bool {
    return this.kind == JsonKind.Object && this.lookup(key) >= 0;
  }

  /** The member `key` of an object, or null. */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const i = this.lookup(key);
    return i < 0 ? null : this.values[i];
  }

  /** Sets a member: an existing key keeps its position. Turns a non-object into an empty object first. */
  set(key: string, value: JsonValue): JsonValue {
    if (this.kind != JsonKind.Object || this.keys === NO_KEYS) this.becomeObject();
    const i = this.lookup(key);
    if (i >= 0) {
      this.values[i] = value;
    } else {
      this.keys.push(key);
      this.values.push(value);
      const index = this.index;
      if (index != null) index.set(key, this.keys.length - 1);
    }
    return this;
  }

  /** Removes a member, moving the last member into its place (serde_json's Map::remove with preserve_order). */
  swapRemove(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const i = this.lookup(key);
    if (i < 0) return null;
    const removed = this.values[i];
    const last = this.keys.length - 1;
    if (i != last) {
      this.keys[i] = this.keys[last];
      this.values[i] = this.values[last];
    }
    this.keys.pop();
    this.values.pop();
    this.index = null;
    return removed;
  }

  /** Removes a member, keeping the order of the others. */
  remove(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const i = this.lookup(key);
    if (i < 0) return null;
    const removed = this.values[i];
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
    this.index = null;
    return removed;
  }

  // ---- arrays ----

  /** Item `i` of an array, or null. */
  at(i: i32): JsonValue | null {
    if (this.kind != JsonKind.Array || i < 0 || i >= this.items.length) return null;
    return this.items[i];
  }

  push(value: JsonValue): JsonValue {
    if (this.kind != JsonKind.Array || this.items === NO_ITEMS) this.becomeArray();
    this.items.push(value);
    return this;
  }

  /** Makes this value a copy of `other` (in place; children shared). */
  assign(other: JsonValue): void {
    this.kind = other.kind;
    this.boolValue = other.boolValue;
    this.numKind = other.numKind;
    this.uintValue = other.uintValue;
    this.intValue = other.intValue;
    this.floatValue = other.floatValue;
    this.stringValue = other.stringValue;
    this.items = other.items;
    this.keys = other.keys;
    this.values = other.values;
    this.index = null;
  }

  /** A deep copy. */
  clone(): JsonValue {
    const v = new JsonValue();
    v.kind = this.kind;
    v.boolValue = this.boolValue;
    v.numKind = this.numKind;
    v.uintValue = this.uintValue;
    v.intValue = this.intValue;
    v.floatValue = this.floatValue;
    v.stringValue = this.stringValue;
    if (this.kind == JsonKind.Array) {
      const items = new Array<JsonValue>(this.items.length);
      for (let i = 0; i < this.items.length; i++) items[i] = this.items[i].clone();
      v.items = items;
    } else if (this.kind == JsonKind.Object) {
      v.keys = this.keys.slice(0);
      const values = new Array<JsonValue>(this.values.length);
      for (let i = 0; i < this.values.length; i++) values[i] = this.values[i].clone();
      v.values = values;
    }
    return v;
  }

  /** Turns this value into an empty value of `kind` (in place). */
  reset(kind: JsonKind): void {
    this.kind = kind;
    this.boolValue = false;
    this.numKind = NUM_POS_INT;
    this.uintValue = 0;
    this.intValue = 0;
    this.floatValue = 0;
    this.stringValue = "";
    this.items = kind == JsonKind.Array ? [] : NO_ITEMS;
    this.keys = kind == JsonKind.Object ? [] : NO_KEYS;
    this.values = kind == JsonKind.Object ? [] : NO_ITEMS;
    this.index = null;
  }

  /** The member `key`, inserted as null at the end when absent (turns a non-object into an empty object first). */
  entry(key: string): JsonValue {
    if (this.kind != JsonKind.Object || this.keys === NO_KEYS) this.becomeObject();
    const i = this.lookup(key);
    if (i >= 0) return this.values[i];
    const v = new JsonValue();
    this.set(key, v);
    return v;
  }

  private becomeObject(): void {
    this.kind = JsonKind.Object;
    this.keys = [];
    this.values = [];
    this.items = NO_ITEMS;
    this.index = null;
  }

  private becomeArray(): void {
    this.kind = JsonKind.Array;
    this.items = [];
    this.keys = NO_KEYS;
    this.values = NO_ITEMS;
    this.index = null;
  }

  /**
   * RFC 6901 pointer as serde_json's Value::pointer reads it: "" is the
   * value itself, otherwise "/a/0/b" (~1 is "/", ~0 is "~").
   */
  pointer(path: string): JsonValue | null {
    if (path.length == 0) return this;
    if (path.charCodeAt(0) != 0x2f) return null;
    const parts = path.substring(1).split("/");
    let cur: JsonValue = this;
    for (let i = 0; i < parts.length; i++) {
      const token = parts[i].replaceAll("~1", "/").replaceAll("~0", "~");
      if (cur.kind == JsonKind.Object) {
        const next = cur.get(token);
        if (next == null) return null;
        cur = next;
      } else if (cur.kind == JsonKind.Array) {
        const idx = parseArrayIndex(token);
        if (idx < 0 || idx >= cur.items.length) return null;
        cur = cur.items[idx];
      } else {
        return null;
      }
    }
    return cur;
  }

  /** Text of a scalar as serde_json's Display writes it (strings unquoted): "true", "12", "2.5", "null". */
  scalarText(): string {
    switch (this.kind) {
      case JsonKind.String:
        return this.stringValue;
      case JsonKind.Bool:
        return this.boolValue ? "true" : "false";
      case JsonKind.Number:
        return numberText(this);
      case JsonKind.Null:
        return "null";
      default:
        return this.stringify();
    }
  }

  /** Compact JSON; `sortKeys` writes object keys in byte order (serde_json without preserve_order). */
  stringify(sortKeys: bool = false): string {
    const parts = new Array<string>();
    writeJson(this, parts, sortKeys);
    return parts.join("");
  }

  /** Compact JSON as UTF-8 bytes. */
  toBytes(sortKeys: bool = false): Uint8Array {
    return utf8(this.stringify(sortKeys));
  }
}

/** serde_json's array index rule: digits only, no leading zero (except "0"), no sign. */
export function parseArrayIndex(token: string): i32 {
  const n = token.length;
  if (n == 0 || n > 9) return -1;
  if (token.charCodeAt(0) == 0x30 && n != 1) return -1;
  let v: i32 = 0;
  for (let i = 0; i < n; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

// ---- serialization ----------------------------------------------------------------

function numberText(v: JsonValue): string {
  if (v.numKind == NUM_POS_INT) return v.uintValue.toString();
  if (v.numKind == NUM_NEG_INT) return v.intValue.toString();
  return formatF64(v.floatValue);
}

const HEX = "0123456789abcdef";

/** A JSON string literal, escaped as serde_json escapes it. */
export function quoteJson(s: string): string {
  let out = new Array<string>();
  out.push('"');
  let start = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = '\\"';
    else if (c == 0x5c) esc = "\\\\";
    else if (c < 0x20) {
      if (c == 0x08) esc = "\\b";
      else if (c == 0x09) esc = "\\t";
      else if (c == 0x0a) esc = "\\n";
      else if (c == 0x0c) esc = "\\f";
      else if (c == 0x0d) esc = "\\r";
      else esc = "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 0xf);
    }
    if (esc != null) {
      if (i > start) out.push(s.substring(start, i));
      out.push(esc);
      start = i + 1;
    }
  }
  if (start < n) out.push(s.substring(start, n));
  out.push('"');
  return out.join("");
}

function compareCodePoints(a: string, b: string): i32 {
  // byte order of UTF-8 = code point order (not UTF-16 unit order)
  const n = min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = <i32>a.charCodeAt(i);
    let y = <i32>b.charCodeAt(i);
    if (x == y) continue;
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

function writeJson(v: JsonValue, out: string[], sortKeys: bool): void {
  switch (v.kind) {
    case JsonKind.Null:
      out.push("null");
      break;
    case JsonKind.Bool:
      out.push(v.boolValue ? "true" : "false");
      break;
    case JsonKind.Number:
      if (v.numKind == NUM_FLOAT && !isFinite(v.floatValue)) out.push("null");
      else out.push(numberText(v));
      break;
    case JsonKind.String:
      out.push(quoteJson(v.stringValue));
      break;
    case JsonKind.Array: {
      out.push("[");
      for (let i = 0; i < v.items.length; i++) {
        if (i > 0) out.push(",");
        writeJson(v.items[i], out, sortKeys);
      }
      out.push("]");
      break;
    }
    case JsonKind.Object: {
      out.push("{");
      const n = v.keys.length;
      const order = new Array<i32>(n);
      for (let i = 0; i < n; i++) order[i] = i;
      if (sortKeys && n > 1) {
        sortIndexes(order, v.keys);
      }
      for (let j = 0; j < n; j++) {
        const i = order[j];
        if (j > 0) out.push(",");
        out.push(quoteJson(v.keys[i]));
        out.push(":");
        writeJson(v.values[i], out, sortKeys);
      }
      out.push("}");
      break;
    }
  }
}

/** Insertion sort of indexes by key (objects are small; stable). */
function sortIndexes(order: i32[], keys: string[]): void {
  for (let i = 1; i < order.length; i++) {
    const cur = order[i];
    let j = i - 1;
    while (j >= 0 && compareCodePoints(keys[order[j]], keys[cur]) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = cur;
  }
}

/**
 * An f64 as ryu (and so serde_json) writes it: the shortest digits that
 * round-trip, "1.0" for integral values below 1e16, exponents as "1e21" or
 * "1.5e-7".
 */
export function formatF64(x: f64): string {
  if (isNaN(x)) return "NaN";
  if (!isFinite(x)) return x > 0 ? "inf" : "-inf";
  const neg = x < 0 || (x == 0 && 1 / x < 0);
  if (x == 0) return neg ? "-0.0" : "0.0";
  // shortest digits and exponent from AssemblyScript's dtoa ("1.5e-7", "123.45", "1e+21")
  let text = (neg ? -x : x).toString();
  let exp: i32 = 0;
  const e = text.indexOf("e");
  if (e >= 0) {
    exp = I32.parseInt(text.substring(e + 1).replace("+", ""));
    text = text.substring(0, e);
  }
  const dot = text.indexOf(".");
  let digits: string;
  if (dot >= 0) {
    digits = text.substring(0, dot) + text.substring(dot + 1);
    exp -= text.length - dot - 1;
  } else {
    digits = text;
  }
  // strip leading zeros and trailing zeros
  let s = 0;
  while (s < digits.length - 1 && digits.charCodeAt(s) == 0x30) s++;
  digits = digits.substring(s);
  let t = digits.length;
  while (t > 1 && digits.charCodeAt(t - 1) == 0x30) {
    t--;
    exp++;
  }
  digits = digits.substring(0, t);
  const n = digits.length;
  const kk = n + exp;
  let body: string;
  if (exp >= 0 && kk <= 16) {
    body = digits + "0".repeat(exp) + ".0";
  } else if (kk > 0 && kk <= 16) {
    body = digits.substring(0, kk) + "." + digits.substring(kk);
  } else if (kk > -5 && kk <= 0) {
    body = "0." + "0".repeat(-kk) + digits;
  } else if (n == 1) {
    body = digits + "e" + (kk - 1).toString();
  } else {
    body = digits.substring(0, 1) + "." + digits.substring(1) + "e" + (kk - 1).toString();
  }
  return neg ? "-" + body : body;
}

// ---- parsing ------------------------------------------------------------------------

/** The outcome of a parse: `value`, or null and `error` (serde_json's message with line and column). */
export class JsonParseResult {
  constructor(
    public value: JsonValue | null,
    public error: string,
  ) {}

  get ok(): bool {
    return this.value != null;
  }
}

/** Parses JSON text (serde_json::from_str). */
export function parseJson(text: string): JsonParseResult {
  return parseJsonBytes(utf8(text));
}

/** Parses UTF-8 JSON (serde_json::from_slice). */
export function parseJsonBytes(bytes: Uint8Array): JsonParseResult {
  const p = new Parser(bytes);
  const v = p.parseValue();
  if (v != null && p.error == null) {
    p.skipWs();
    if (p.i < p.n) p.peekError("trailing characters");
  }
  const err = p.error;
  if (err != null) return new JsonParseResult(null, err);
  return new JsonParseResult(v, "");
}

class Parser {
  i: i32 = 0;
  n: i32;
  depth: i32 = JSON_MAX_DEPTH;
  error: string | null = null;

  constructor(public b: Uint8Array) {
    this.n = b.length;
  }

  private position(at: i32): string {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at; k++) {
      if (this.b[k] == 0x0a) {
        line++;
        lineStart = k + 1;
      }
    }
    return " at line " + line.toString() + " column " + (at - lineStart).toString();
  }

  /** Error at the current position (serde_json's `error`). */
  fail(msg: string): JsonValue | null {
    if (this.error == null) this.error = msg + this.position(this.i);
    return null;
  }

  failStr(msg: string): string | null {
    this.fail(msg);
    return null;
  }

  /** Error at the next byte (serde_json's `peek_error`). */
  peekError(msg: string): JsonValue | null {
    if (this.error == null) this.error = msg + this.position(min(this.n, this.i + 1));
    return null;
  }

  skipWs(): void {
    while (this.i < this.n) {
      const c = this.b[this.i];
      if (c == 0x20 || c == 0x0a || c == 0x09 || c == 0x0d) this.i++;
      else break;
    }
  }

  peek(): i32 {
    return this.i < this.n ? <i32>this.b[this.i] : -1;
  }

  parseValue(): JsonValue | null {
    this.skipWs();
    if (this.i >= this.n) return this.peekError("EOF while parsing a value");
    const c = this.b[this.i];
    switch (c) {
      case 0x6e: // n
        this.i++;
        if (!this.ident("ull")) return null;
        return JsonValue.null();
      case 0x74: // t
        this.i++;
        if (!this.ident("rue")) return null;
        return JsonValue.bool(true);
      case 0x66: // f
        this.i++;
        if (!this.ident("alse")) return null;
        return JsonValue.bool(false);
      case 0x2d: // -
        this.i++;
        return this.parseNumber(false);
      case 0x22: {
        this.i++;
        const s = this.parseString();
        if (s == null) return null;
        return JsonValue.string(s);
      }
      case 0x5b:
        return this.parseArray();
      case 0x7b:
        return this.parseObject();
      default:
        if (c >= 0x30 && c <= 0x39) return this.parseNumber(true);
        return this.peekError("expected value");
    }
  }

  private ident(rest: string): bool {
    for (let k = 0; k < rest.length; k++) {
      if (this.i >= this.n) {
        this.fail("EOF while parsing a value");
        return false;
      }
      const c = this.b[this.i++];
      if (<i32>c != rest.charCodeAt(k)) {
        this.fail("expected ident");
        return false;
      }
    }
    return true;
  }

  private parseNumber(positive: bool): JsonValue | null {
    const start = positive ? this.i : this.i - 1;
    if (this.i >= this.n) return this.fail("EOF while parsing a value");
    const first = this.b[this.i++];
    let significand: u64 = 0;
    let overflow = false;
    if (first == 0x30) {
      const p = this.peek();
      if (p >= 0x30 && p <= 0x39) return this.peekError("invalid number");
    } else if (first >= 0x31 && first <= 0x39) {
      significand = <u64>(first - 0x30);
      while (true) {
        const p = this.peek();
        if (p < 0x30 || p > 0x39) break;
        const digit = <u64>(p - 0x30);
        if (!overflow && (significand > 1844674407370955161 || (significand == 1844674407370955161 && digit > 5))) overflow = true;
        if (!overflow) significand = significand * 10 + digit;
        this.i++;
      }
    } else {
      return this.fail("invalid number");
    }
    let isFloat = overflow;
    let p = this.peek();
    if (p == 0x2e) {
      this.i++;
      let any = false;
      while (true) {
        p = this.peek();
        if (p < 0x30 || p > 0x39) break;
        any = true;
        this.i++;
      }
      if (!any) {
        if (this.i < this.n) return this.peekError("invalid number");
        return this.peekError("EOF while parsing a value");
      }
      isFloat = true;
      p = this.peek();
    }
    if (p == 0x65 || p == 0x45) {
      this.i++;
      p = this.peek();
      if (p == 0x2b || p == 0x2d) this.i++;
      if (this.i >= this.n) return this.fail("EOF while parsing a value");
      const d = this.b[this.i++];
      if (d < 0x30 || d > 0x39) return this.fail("invalid number");
      while (true) {
        p = this.peek();
        if (p < 0x30 || p > 0x39) break;
        this.i++;
      }
      isFloat = true;
    }
    if (!isFloat) {
      if (positive) return JsonValue.unsigned(significand);
      if (significand <= <u64>9223372036854775807) return JsonValue.integer(-(<i64>significand));
      if (significand == <u64>9223372036854775808) return JsonValue.integer(i64.MIN_VALUE);
      return JsonValue.float(-(<f64>significand));
    }
    const text = String.UTF8.decodeUnsafe(this.b.dataStart + <usize>start, <usize>(this.i - start), false);
    const f = parseFloat(text);
    if (!isFinite(f)) return this.fail("number out of range");
    return JsonValue.float(f);
  }

  private hex4(): i32 {
    if (this.i + 4 > this.n) {
      this.i = this.n;
      this.fail("EOF while parsing a string");
      return -1;
    }
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = <i32>this.b[this.i++];
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) {
        this.fail("invalid escape");
        return -1;
      }
      v = (v << 4) | d;
    }
    return v;
  }

  /** After the opening quote. */
  parseString(): string | null {
    // fast path: no escape before the closing quote
    let k = this.i;
    const b = this.b;
    while (k < this.n) {
      const c = b[k];
      if (c == 0x22) {
        const start = this.i;
        const parts = new Array<string>();
        if (!this.flushRun(parts, start, k)) return null;
        this.i = k + 1;
        return parts.length == 0 ? "" : parts[0];
      }
      if (c == 0x5c || c < 0x20) break;
      k++;
    }
    const parts = new Array<string>();
    let runStart = this.i;
    while (true) {
      if (this.i >= this.n) return this.failStr("EOF while parsing a string");
      const c = this.b[this.i];
      if (c == 0x22) {
        if (!this.flushRun(parts, runStart, this.i)) return null;
        this.i++;
        return parts.length == 1 ? parts[0] : parts.join("");
      }
      if (c == 0x5c) {
        if (!this.flushRun(parts, runStart, this.i)) return null;
        this.i++;
        if (this.i >= this.n) return this.failStr("EOF while parsing a string");
        const e = this.b[this.i++];
        switch (e) {
          case 0x22:
            parts.push('"');
            break;
          case 0x5c:
            parts.push("\\");
            break;
          case 0x2f:
            parts.push("/");
            break;
          case 0x62:
            parts.push("\b");
            break;
          case 0x66:
            parts.push("\f");
            break;
          case 0x6e:
            parts.push("\n");
            break;
          case 0x72:
            parts.push("\r");
            break;
          case 0x74:
            parts.push("\t");
            break;
          case 0x75: {
            const n1 = this.hex4();
            if (n1 < 0) return null;
            if (n1 >= 0xdc00 && n1 <= 0xdfff) return this.failStr("lone leading surrogate in hex escape");
            if (n1 >= 0xd800 && n1 <= 0xdbff) {
              if (this.i >= this.n) return this.failStr("EOF while parsing a string");
              if (this.b[this.i] != 0x5c) return this.failStr("unexpected end of hex escape");
              this.i++;
              if (this.i >= this.n) return this.failStr("EOF while parsing a string");
              if (this.b[this.i] != 0x75) return this.failStr("unexpected end of hex escape");
              this.i++;
              const n2 = this.hex4();
              if (n2 < 0) return null;
              if (n2 < 0xdc00 || n2 > 0xdfff) return this.failStr("lone leading surrogate in hex escape");
              parts.push(String.fromCharCode(n1) + String.fromCharCode(n2));
            } else {
              parts.push(String.fromCharCode(n1));
            }
            break;
          }
          default:
            return this.failStr("invalid escape");
        }
        runStart = this.i;
        continue;
      }
      if (c < 0x20) {
        this.i++;
        return this.failStr("control character (\\u0000-\\u001F) found while parsing a string");
      }
      this.i++;
    }
  }

  private flushRun(parts: string[], from: i32, to: i32): bool {
    if (to <= from) return true;
    const ptr = this.b.dataStart + <usize>from;
    const len = <usize>(to - from);
    // ASCII fast path; otherwise the run must be valid UTF-8
    let ascii = true;
    for (let k: usize = 0; k < len; k++) {
      if (load<u8>(ptr + k) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii && !validUtf8Run(ptr, len)) {
      this.fail("invalid unicode code point");
      return false;
    }
    parts.push(String.UTF8.decodeUnsafe(ptr, len, false));
    return true;
  }

  private enter(): bool {
    this.depth--;
    if (this.depth == 0) {
      this.peekError("recursion limit exceeded");
      return false;
    }
    return true;
  }

  private parseArray(): JsonValue | null {
    if (!this.enter()) return null;
    this.i++;
    const arr = JsonValue.array();
    let first = true;
    while (true) {
      this.skipWs();
      if (this.i >= this.n) return this.peekError("EOF while parsing a list");
      const c = this.b[this.i];
      if (c == 0x5d) {
        this.i++;
        break;
      }
      if (!first) {
        if (c != 0x2c) return this.peekError("expected `,` or `]`");
        this.i++;
        this.skipWs();
        if (this.i >= this.n) return this.peekError("EOF while parsing a value");
        if (this.b[this.i] == 0x5d) return this.peekError("trailing comma");
      }
      first = false;
      const v = this.parseValue();
      if (v == null) return null;
      arr.items.push(v);
    }
    this.depth++;
    return arr;
  }

  private parseObject(): JsonValue | null {
    if (!this.enter()) return null;
    this.i++;
    const obj = JsonValue.object();
    let first = true;
    while (true) {
      this.skipWs();
      if (this.i >= this.n) return this.peekError("EOF while parsing an object");
      let c = this.b[this.i];
      if (c == 0x7d) {
        this.i++;
        break;
      }
      if (first) {
        if (c != 0x22) return this.peekError("key must be a string");
      } else {
        if (c != 0x2c) return this.peekError("expected `,` or `}`");
        this.i++;
        this.skipWs();
        if (this.i >= this.n) return this.peekError("EOF while parsing a value");
        c = this.b[this.i];
        if (c == 0x7d) return this.peekError("trailing comma");
        if (c != 0x22) return this.peekError("key must be a string");
      }
      first = false;
      this.i++;
      const key = this.parseString();
      if (key == null) return null;
      this.skipWs();
      if (this.i >= this.n) return this.peekError("EOF while parsing an object");
      if (this.b[this.i] != 0x3a) return this.peekError("expected `:`");
      this.i++;
      const v = this.parseValue();
      if (v == null) return null;
      obj.set(key, v);
    }
    this.depth++;
    return obj;
  }
}

function validUtf8Run(ptr: usize, n: usize): bool {
  let i: usize = 0;
  while (i < n) {
    const b0 = <u32>load<u8>(ptr + i);
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let w: usize;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) w = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      w = 3;
      if (b0 == 0xe0) lo = 0xa0;
      if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      w = 4;
      if (b0 == 0xf0) lo = 0x90;
      if (b0 == 0xf4) hi = 0x8f;
    } else return false;
    if (i + w > n) return false;
    const b1 = <u32>load<u8>(ptr + i + 1);
    if (b1 < lo || b1 > hi) return false;
    for (let k: usize = 2; k < w; k++) if ((<u32>load<u8>(ptr + i + k) & 0xc0) != 0x80) return false;
    i += w;
  }
  return true;
}
