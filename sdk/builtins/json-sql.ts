// infinyon/json-sql: maps JSON records to the SQL model the SQL sink
// connector executes (map).
//
//   transforms:
//     - uses: infinyon/json-sql@0.2.1
//       with:
//         mapping:
//           table: readings
//           operation: upsert            # or insert (default)
//           unique-columns: [sensor_id]  # required for upsert
//           map-columns:                 # or columns
//             sensor_id:
//               json-key: payload.sensor.id
//               value: {type: int4, required: true}
//             temp:
//               json-key: payload.temp
//               value: {type: float8, default: 0}
//
// Output value: {"Insert":{"table":…,"values":[{"column":…,"raw_value":…,"type":…}]}}
// or {"Upsert":{…,"uniq_idx":"a,b"}}; the key is kept. `raw_value` is the
// string at json-key (unquoted), other JSON as compact text (object keys
// sorted, as serde_json without preserve_order writes them), the default
// when missing, "" when missing and not required. Columns come out in the
// order the mapping declares them. Written with the @freshet/smartmodule
// SDK from the behaviour documented in fluvio-hub-smartmodules.md.

import { Params, Record, fail, JsonValue, parseJson, parseJsonBytes, quoteJson, formatF64 } from "@freshet/smartmodule";

class Column {
  constructor(
    public name: string,
    public jsonKey: string,
    public type: string,
    public defaultValue: string | null,
    public required: bool,
  ) {}
}

class Mapping {
  table: string = "";
  upsert: bool = false;
  uniqueColumns: string[] = [];
  columns: Column[] = [];
}

let mapping: Mapping | null = null;

/** Mapping type names → the SQL model's type. */
function modelType(name: string): string | null {
  if (name == "bigint" || name == "int8") return "BigInt";
  if (name == "integer" || name == "int" || name == "int4") return "Int";
  if (name == "smallint" || name == "int2") return "SmallInt";
  if (name == "boolean" || name == "bool") return "Bool";
  if (name == "bytea" || name == "bytes") return "Bytes";
  if (name == "text") return "Text";
  if (name == "float" || name == "float4" || name == "real") return "Float";
  if (name == "doubleprecision" || name == "double precision" || name == "float8") return "DoublePrecision";
  if (name == "numeric" || name == "decimal") return "Numeric";
  if (name == "date") return "Date";
  if (name == "time") return "Time";
  if (name == "timestamp") return "Timestamp";
  if (name == "json" || name == "jsonb") return "Json";
  if (name == "uuid") return "Uuid";
  return null;
}

/** Rust's f64 Display: shortest digits, never an exponent, no ".0" on integers. */
function rustF64(x: f64): string {
  const text = formatF64(x);
  const neg = text.startsWith("-");
  let body = neg ? text.substring(1) : text;
  const e = body.indexOf("e");
  if (e >= 0) {
    const exp = I32.parseInt(body.substring(e + 1));
    let mantissa = body.substring(0, e);
    const dot = mantissa.indexOf(".");
    let digits = dot >= 0 ? mantissa.substring(0, dot) + mantissa.substring(dot + 1) : mantissa;
    let point = (dot >= 0 ? dot : mantissa.length) + exp;
    if (point <= 0) {
      body = "0." + "0".repeat(-point) + digits;
    } else if (point >= digits.length) {
      body = digits + "0".repeat(point - digits.length);
    } else {
      body = digits.substring(0, point) + "." + digits.substring(point);
    }
  } else if (body.endsWith(".0")) {
    body = body.substring(0, body.length - 2);
  }
  return neg ? "-" + body : body;
}

function parseMapping(text: string): Mapping | null {
  const parsed = parseJson(text);
  if (!parsed.ok) return null;
  const root = parsed.value!;
  if (!root.isObject()) return null;
  const m = new Mapping();
  const table = root.get("table");
  if (table == null || !table.isString()) return null;
  m.table = table.stringValue;
  const op = root.get("operation");
  if (op != null) {
    if (!op.isString()) return null;
    if (op.stringValue == "upsert") m.upsert = true;
    else if (op.stringValue != "insert") return null;
  }
  const unique = root.get("unique-columns");
  if (unique != null) {
    if (!unique.isArray()) return null;
    for (let i = 0; i < unique.items.length; i++) {
      if (!unique.items[i].isString()) return null;
      m.uniqueColumns.push(unique.items[i].stringValue);
    }
  }
  const a = root.get("columns");
  const b = root.get("map-columns");
  if (a != null && b != null) return null; // duplicate field `columns`
  const cols = a != null ? a : b;
  if (cols == null || !cols.isObject()) return null;
  for (let i = 0; i < cols.keys.length; i++) {
    const spec = cols.values[i];
    if (!spec.isObject()) return null;
    const k1 = spec.get("json_key");
    const k2 = spec.get("json-key");
    if (k1 != null && k2 != null) return null;
    const key = k1 != null ? k1 : k2;
    if (key == null || !key.isString()) return null;
    const value = spec.get("value");
    if (value == null || !value.isObject()) return null;
    const type = value.get("type");
    if (type == null || !type.isString()) return null;
    const model = modelType(type.stringValue);
    if (model == null) return null;
    let dflt: string | null = null;
    const d = value.get("default");
    if (d != null) {
      if (d.isString()) dflt = d.stringValue;
      else if (d.isInteger()) dflt = d.scalarText();
      else if (d.isNumber()) dflt = rustF64(d.floatValue);
      else return null;
    }
    let required = false;
    const r = value.get("required");
    if (r != null) {
      if (!r.isBool()) return null;
      required = r.boolValue;
    }
    m.columns.push(new Column(cols.keys[i], key.stringValue, model, dflt, required));
  }
  return m;
}

/** json-key → the value: "$" or "" is the record; else a dot path (optional "$." or "."), array items by number. */
function lookup(record: JsonValue, jsonKey: string): JsonValue | null {
  if (jsonKey == "$" || jsonKey.length == 0) return record;
  let path = jsonKey.startsWith("$.") ? jsonKey.substring(2) : jsonKey;
  path = path.replaceAll(".", "/");
  if (!path.startsWith("/")) path = "/" + path;
  return record.pointer(path);
}

export function init(params: Params): void {
  const text = params.get("mapping");
  if (text == null) {
    fail("no json-sql mapping supplied");
    return;
  }
  const m = parseMapping(text);
  if (m == null) {
    fail("could not parse json-sql mapping");
    return;
  }
  mapping = m;
}

export function map(record: Record): Record {
  const m = mapping;
  if (m == null) {
    fail("json-sql mapping is not initialized");
    return record;
  }
  const parsed = parseJsonBytes(record.value);
  if (!parsed.ok) {
    fail(parsed.error);
    return record;
  }
  const doc = parsed.value!;
  const values = new Array<string>();
  for (let i = 0; i < m.columns.length; i++) {
    const col = m.columns[i];
    const found = lookup(doc, col.jsonKey);
    let raw: string;
    if (found == null) {
      const d = col.defaultValue;
      if (d != null) raw = d;
      else if (col.required) {
        fail("Missing required field: " + col.jsonKey);
        return record;
      } else raw = "";
    } else if (found.isString()) {
      raw = found.stringValue;
    } else {
      raw = found.stringify(true);
    }
    values.push('{"column":' + quoteJson(col.name) + ',"raw_value":' + quoteJson(raw) + ',"type":"' + col.type + '"}');
  }
  const body = '{"table":' + quoteJson(m.table) + ',"values":[' + values.join(",") + "]";
  if (!m.upsert) return record.withValue('{"Insert":' + body + "}}");
  if (m.uniqueColumns.length == 0) {
    fail("unique-columns can't be empty when doing upsert");
    return record;
  }
  return record.withValue('{"Upsert":' + body + ',"uniq_idx":' + quoteJson(m.uniqueColumns.join(",")) + "}}");
}
