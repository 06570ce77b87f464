// infinyon-labs/array-map-json: one record per element of a JSON array
// (array-map).
//
//   transforms:
//     - uses: infinyon-labs/array-map-json@0.1.1
//
// No params. The value must be a JSON array: each element becomes its own
// record, as compact JSON, with no key; `[]` gives no records; anything else
// fails the record with serde_json's message. As in the Hub module (built
// with serde_json without preserve_order), object keys come out sorted.
// Written with the @freshet/smartmodule SDK from the behaviour documented in
// fluvio-hub-smartmodules.md.

import { Record, fail, parseJsonBytes, JsonValue, quoteJson, formatF64 } from "@freshet/smartmodule";

/** serde's description of an unexpected value ("map", `string "x"`, "integer `5`"). */
function unexpected(v: JsonValue): string {
  if (v.isObject()) return "map";
  if (v.isNull()) return "null";
  if (v.isBool()) return "boolean `" + (v.boolValue ? "true" : "false") + "`";
  if (v.isString()) return "string " + quoteJson(v.stringValue);
  if (v.isInteger()) return "integer `" + v.scalarText() + "`";
  const text = formatF64(v.floatValue);
  return "floating point `" + text + "`";
}

/** Position after the first value (serde_json reports an invalid type there; before it for [ and {). */
function typeErrorPosition(bytes: Uint8Array, v: JsonValue): string {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  while (i < bytes.length && (bytes[i] == 0x20 || bytes[i] == 0x0a || bytes[i] == 0x09 || bytes[i] == 0x0d)) {
    if (bytes[i] == 0x0a) {
      line++;
      lineStart = i + 1;
    }
    i++;
  }
  let end = i;
  if (!v.isObject()) {
    // a scalar: the position after it, that is before trailing whitespace
    end = bytes.length;
    while (end > i && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0a || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0d)) end--;
  }
  return " at line " + line.toString() + " column " + (end - lineStart).toString();
}

export function arrayMap(record: Record): Record[] {
  const out = new Array<Record>();
  const parsed = parseJsonBytes(record.value);
  if (!parsed.ok) {
    fail(parsed.error);
    return out;
  }
  const v = parsed.value!;
  if (!v.isArray()) {
    fail("invalid type: " + unexpected(v) + ", expected a sequence" + typeErrorPosition(record.value, v));
    return out;
  }
  for (let i = 0; i < v.items.length; i++) out.push(Record.create(v.items[i].stringify(true)));
  return out;
}
