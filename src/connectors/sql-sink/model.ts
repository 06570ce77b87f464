// The SQL model: what a record means to the SQL sinks (sql-sink and
// duckdb-sink). Normally a record is the JSON the json-sql SmartModule emits
// (reference: shared/reference/fluvio-hub-smartmodules.md §2):
//
//   {"Insert":{"table":"t","values":[{"column":"c","raw_value":"1","type":"Int"}]}}
//   {"Upsert":{"table":"t","values":[...],"uniq_idx":"c1,c2"}}
//
// Each `raw_value` is text; it is parsed according to its `type` here, before
// anything reaches the database, so a bad value rejects only its record.
// Table and column names are put into SQL unquoted, as Fluvio's sink does
// (so `schema.table` and case folding work the same), but only when they are
// plain identifiers (or "quoted" ones): anything else rejects the record.

export const SQL_TYPES = [
  'Bool',
  'Char',
  'SmallInt',
  'Int',
  'BigInt',
  'Float',
  'DoublePrecision',
  'Text',
  'Bytes',
  'Numeric',
  'Timestamp',
  'Date',
  'Time',
  'Uuid',
  'Json',
] as const;

export type SqlType = (typeof SQL_TYPES)[number];

/** One column of a model record: `raw_value` null means SQL NULL (a Freshet extension; json-sql always sends text). */
export interface SqlValue {
  column: string;
  raw_value: string | null;
  type: SqlType;
}

export interface SqlOperation {
  kind: 'insert' | 'upsert';
  table: string;
  values: SqlValue[];
  /** Conflict target of an upsert (uniq_idx split at commas). */
  uniqueColumns: string[];
}

/** A value parsed from its raw text; what each database binds is decided by its driver. */
export type SqlParam =
  | { type: 'Bool'; value: boolean }
  | { type: 'Char' | 'SmallInt' | 'Int'; value: number }
  | { type: 'BigInt'; value: bigint }
  | { type: 'Float' | 'DoublePrecision'; value: number }
  | { type: 'Bytes'; value: Buffer }
  /** Text as given; Numeric, Json as validated text; Timestamp `YYYY-MM-DD HH:MM:SS[.f]` (UTC when a zone was given), Date, Time, Uuid (lowercase, hyphenated). */
  | { type: 'Text' | 'Numeric' | 'Timestamp' | 'Date' | 'Time' | 'Uuid' | 'Json'; value: string }
  | { type: SqlType; value: null };

/** A record the model cannot take; the sink turns it into a RejectedRecord. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}

const PLAIN_IDENT = '[A-Za-z_][A-Za-z0-9_$]*';
const QUOTED_IDENT = '"(?:[^"\\x00]|"")+"';
const IDENT = `(?:${PLAIN_IDENT}|${QUOTED_IDENT})`;
const COLUMN_RE = new RegExp(`^${IDENT}$`);
const TABLE_RE = new RegExp(`^${IDENT}(?:\\.${IDENT}){0,2}$`);

// Names repeat on every record: remember the valid ones (bounded).
const validColumns = new Set<string>();
const validTables = new Set<string>();

function remember(set: Set<string>, name: string): true {
  if (set.size >= 10_000) set.clear();
  set.add(name);
  return true;
}

export function isColumnName(name: string): boolean {
  return validColumns.has(name) || (COLUMN_RE.test(name) && remember(validColumns, name));
}

export function isTableName(name: string): boolean {
  return validTables.has(name) || (TABLE_RE.test(name) && remember(validTables, name));
}

function checkTable(table: unknown): string {
  if (typeof table !== 'string' || !isTableName(table)) {
    throw new ModelError(`table ${JSON.stringify(table)} is not a table name (letters, digits, _ and $, optionally schema-qualified or "quoted")`);
  }
  return table;
}

function checkColumn(column: unknown): string {
  if (typeof column !== 'string' || !isColumnName(column)) {
    throw new ModelError(`column ${JSON.stringify(column)} is not a column name (letters, digits, _ and $, or "quoted")`);
  }
  return column;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Splits `uniq_idx` (`"c1,c2"`) into column names. */
export function splitUniqueColumns(text: string): string[] {
  const columns = text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (columns.length === 0) throw new ModelError('uniq_idx names no column (an upsert needs the columns of a unique index)');
  return columns.map(checkColumn);
}

/** Reads one SQL model record (already JSON-parsed); throws ModelError when it is not one. */
export function operationFromModel(json: unknown): SqlOperation {
  if (!isObject(json)) throw new ModelError('not a SQL model record: expected {"Insert": {...}} or {"Upsert": {...}}');
  const keys = Object.keys(json);
  if (keys.length !== 1 || (keys[0] !== 'Insert' && keys[0] !== 'Upsert')) {
    throw new ModelError(`not a SQL model record: expected {"Insert": {...}} or {"Upsert": {...}}, got keys ${keys.map((k) => JSON.stringify(k)).join(', ') || '(none)'}`);
  }
  const kind = keys[0] === 'Insert' ? 'insert' : 'upsert';
  const body = json[keys[0]];
  if (!isObject(body)) throw new ModelError(`${keys[0]}: expected an object with table and values`);
  const table = checkTable(body.table);
  if (!Array.isArray(body.values) || body.values.length === 0) throw new ModelError(`${keys[0]}.values: expected a non-empty list of {column, raw_value, type}`);
  const values = body.values.map((item: unknown, index: number): SqlValue => {
    if (!isObject(item)) throw new ModelError(`${keys[0]}.values[${index}]: expected {column, raw_value, type}`);
    const column = checkColumn(item.column);
    const type = item.type;
    if (typeof type !== 'string' || !(SQL_TYPES as readonly string[]).includes(type)) {
      throw new ModelError(`${keys[0]}.values[${index}] (${column}): type ${JSON.stringify(type)} is not one of ${SQL_TYPES.join(', ')}`);
    }
    const raw = item.raw_value;
    let rawValue: string | null;
    if (typeof raw === 'string' || raw === null) rawValue = raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean') rawValue = String(raw);
    else throw new ModelError(`${keys[0]}.values[${index}] (${column}): raw_value must be a string`);
    return { column, raw_value: rawValue, type: type as SqlType };
  });
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v.column)) throw new ModelError(`${keys[0]}.values: column ${v.column} appears twice`);
    seen.add(v.column);
  }
  let uniqueColumns: string[] = [];
  if (kind === 'upsert') {
    if (typeof body.uniq_idx !== 'string') throw new ModelError('Upsert.uniq_idx: expected the unique columns, e.g. "id" or "a,b"');
    uniqueColumns = splitUniqueColumns(body.uniq_idx);
  }
  return { kind, table, values, uniqueColumns };
}

// ---- value conversion -------------------------------------------------------

const INT_RANGES = {
  Char: [-128n, 127n],
  SmallInt: [-32768n, 32767n],
  Int: [-2147483648n, 2147483647n],
  BigInt: [-9223372036854775808n, 9223372036854775807n],
} as const;

const FLOAT_RE = /^[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/i;
const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const UUID_RE = /^(?:urn:uuid:)?\{?([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})\}?$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(2000, m, 0)).getUTCDate(); // month length in a leap year
  if (d > days) return false;
  if (m === 2 && d === 29) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return true;
}

function validTime(h: number, mi: number, s: number): boolean {
  return h < 24 && mi < 60 && s < 60;
}

/** `YYYY-MM-DD HH:MM:SS[.f]` (as Fluvio's sql-sink reads it) or RFC 3339 (`T`, `Z`/offset: converted to UTC). */
export function parseTimestamp(text: string): string | undefined {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return undefined;
  let [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const fraction = m[7] ?? '';
  if (!validDate(y, mo, d) || !validTime(h, mi, s)) return undefined;
  if (m[9]) {
    const offsetMinutes = (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
    if (Number(m[10]) > 23 || Number(m[11]) > 59) return undefined;
    const utc = new Date(Date.UTC(y, mo - 1, d, h, mi, s) - offsetMinutes * 60_000);
    [y, mo, d, h, mi, s] = [utc.getUTCFullYear(), utc.getUTCMonth() + 1, utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds()];
    if (y < 0 || y > 9999) return undefined;
  }
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${fraction}`;
}

export interface ConvertOptions {
  /** Raw values meaning SQL NULL for every type (duckdb-sink: `NULL`, as Fluvio's). */
  nullMarkers?: readonly string[];
}

function failValue(v: SqlValue, raw: string, expected: string): never {
  throw new ModelError(`column ${v.column}: ${JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw)} is not ${expected} (type ${v.type})`);
}

/**
 * Parses a raw value by its type (the rules of Fluvio's sql-sink: Rust's
 * `str::parse` for numbers and bool, chrono formats for dates and times).
 * SQL NULL: a null raw_value; `""` for types other than Text and Bytes (what
 * json-sql sends for a missing optional field); `null` for types other than
 * Text, Bytes and Json (what it sends for JSON null). Fluvio's sink fails
 * such records instead.
 */
export function convertValue(v: SqlValue, options: ConvertOptions = {}): SqlParam {
  const raw = v.raw_value;
  const { type } = v;
  if (raw === null || options.nullMarkers?.includes(raw)) return { type, value: null };
  const fail = (expected: string): never => failValue(v, raw, expected);
  if (raw === '' && type !== 'Text' && type !== 'Bytes') return { type, value: null };
  if (raw === 'null' && type !== 'Text' && type !== 'Bytes' && type !== 'Json') return { type, value: null };
  switch (type) {
    case 'Bool':
      if (raw === 'true') return { type, value: true };
      if (raw === 'false') return { type, value: false };
      return fail('true or false');
    case 'Char':
    case 'SmallInt':
    case 'Int':
    case 'BigInt': {
      if (!/^[+-]?\d+$/.test(raw)) return fail('an integer');
      const n = BigInt(raw);
      const [min, max] = INT_RANGES[type];
      if (n < min || n > max) return fail(`an integer in ${min}..${max}`);
      return type === 'BigInt' ? { type, value: n } : { type, value: Number(n) };
    }
    case 'Float':
    case 'DoublePrecision': {
      if (!FLOAT_RE.test(raw)) return fail('a number');
      const lower = raw.toLowerCase().replace(/^\+/, '');
      const value = /inf/.test(lower) ? (lower.startsWith('-') ? -Infinity : Infinity) : /nan/.test(lower) ? NaN : Number(raw);
      return { type, value };
    }
    case 'Numeric':
      if (!DECIMAL_RE.test(raw)) return fail('a decimal number');
      return { type, value: raw.replace(/^\+/, '') };
    case 'Text':
      return { type, value: raw };
    case 'Bytes':
      return { type, value: Buffer.from(raw, 'utf8') };
    case 'Timestamp': {
      const value = parseTimestamp(raw);
      return value === undefined ? fail('a timestamp YYYY-MM-DD HH:MM:SS[.f] (or RFC 3339)') : { type, value };
    }
    case 'Date': {
      const m = DATE_RE.exec(raw);
      if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return fail('a date YYYY-MM-DD');
      return { type, value: raw };
    }
    case 'Time': {
      const m = TIME_RE.exec(raw);
      if (!m || !validTime(Number(m[1]), Number(m[2]), Number(m[3]))) return fail('a time HH:MM:SS[.f]');
      return { type, value: raw };
    }
    case 'Uuid': {
      const m = UUID_RE.exec(raw);
      if (!m) return fail('a UUID');
      return { type, value: m.slice(1, 6).join('-').toLowerCase() };
    }
    case 'Json':
      try {
        JSON.parse(raw);
      } catch {
        return fail('JSON');
      }
      return { type, value: raw };
  }
}
