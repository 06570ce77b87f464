// Mapping plain JSON records to SQL rows from the connector's own config,
// without a json-sql transform. The keys are json-sql's `mapping` keys, put
// directly in the sink's section (so a mapping moves between the two by
// cut and paste):
//
//   sql:
//     url: postgres://...
//     table: readings
//     operation: upsert            # insert (default) | upsert
//     unique-columns: [sensor_id]  # alias upsert-key; a string "a,b" works too; implies upsert
//     map-columns:                 # alias columns
//       sensor_id:
//         json-key: payload.sensor.id     # default: the column name
//         value: {type: int, required: true}
//       temp:
//         json-key: payload.temp
//         value: {type: float8, default: 0}
//
// Differences from json-sql's output, because here the sink sees the JSON
// values themselves: a missing field (no default) and JSON null are SQL
// NULL (json-sql sends "" and "null"), and a `json`/`jsonb` column gets the
// JSON text of the value (a string value becomes a JSON string).

import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { isColumnName, isTableName, ModelError, type SqlOperation, type SqlType, type SqlValue } from './model.js';

/** json-sql's type names → model types. */
export const TYPE_NAMES: Record<string, SqlType> = {
  bigint: 'BigInt',
  int8: 'BigInt',
  integer: 'Int',
  int: 'Int',
  int4: 'Int',
  smallint: 'SmallInt',
  int2: 'SmallInt',
  boolean: 'Bool',
  bool: 'Bool',
  bytea: 'Bytes',
  bytes: 'Bytes',
  text: 'Text',
  float: 'Float',
  float4: 'Float',
  real: 'Float',
  doubleprecision: 'DoublePrecision',
  'double precision': 'DoublePrecision',
  float8: 'DoublePrecision',
  numeric: 'Numeric',
  decimal: 'Numeric',
  date: 'Date',
  time: 'Time',
  timestamp: 'Timestamp',
  json: 'Json',
  jsonb: 'Json',
  uuid: 'Uuid',
};

const columnSpec = z
  .object({
    'json-key': z.string().optional(),
    json_key: z.string().optional(),
    value: z
      .object({
        type: z.enum(Object.keys(TYPE_NAMES) as [string, ...string[]], { error: `expected one of ${Object.keys(TYPE_NAMES).join(', ')}` }),
        default: z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string or a number' }).optional(),
        required: z.boolean().default(false),
      })
      .strict(),
  })
  .strict();

const uniqueColumns = z.union([z.string(), z.array(z.string())], { error: 'expected a list of column names (or "a,b")' });

/** The mapping keys, to spread into a sink section's schema. */
export const mappingKeys = {
  table: z.string().optional(),
  operation: z.enum(['insert', 'upsert']).optional(),
  'unique-columns': uniqueColumns.optional(),
  'upsert-key': uniqueColumns.optional(),
  'map-columns': z.record(z.string(), columnSpec).optional(),
  columns: z.record(z.string(), columnSpec).optional(),
};

type MappingSection = { [K in keyof typeof mappingKeys]?: z.output<(typeof mappingKeys)[K]> };

export interface ColumnMapping {
  column: string;
  jsonKey: string;
  /** Path into the record; empty = the whole record. */
  path: string[];
  type: SqlType;
  default?: string;
  required: boolean;
}

export interface RecordMapping {
  table: string;
  kind: 'insert' | 'upsert';
  uniqueColumns: string[];
  columns: ColumnMapping[];
}

/** json-sql's json-key: `$` or empty = the whole record; else a dot path, optional leading `$.` or `.`, array elements by number. */
export function parseJsonKey(key: string): string[] {
  let path = key.trim();
  if (path === '$' || path === '') return [];
  if (path.startsWith('$.')) path = path.slice(2);
  else if (path.startsWith('.')) path = path.slice(1);
  return path.split('.');
}

/** The mapping in a validated section, or undefined when it has none. Throws ConfigError naming the key. */
export function mappingFromSection(section: MappingSection, prefix: string): RecordMapping | undefined {
  const columnsRaw = section['map-columns'] ?? section.columns;
  const uniqueRaw = section['unique-columns'] ?? section['upsert-key'];
  const any = section.table !== undefined || columnsRaw !== undefined || uniqueRaw !== undefined || section.operation !== undefined;
  if (!any) return undefined;
  if (section['map-columns'] !== undefined && section.columns !== undefined) throw new ConfigError(`${prefix}: give map-columns or columns, not both`);
  if (section['unique-columns'] !== undefined && section['upsert-key'] !== undefined) throw new ConfigError(`${prefix}: give unique-columns or upsert-key, not both`);
  if (section.table === undefined) throw new ConfigError(`${prefix}.table: required with a mapping (the table the records go to)`);
  if (!isTableName(section.table)) throw new ConfigError(`${prefix}.table: "${section.table}" is not a table name (letters, digits, _ and $, optionally schema-qualified or "quoted")`);
  if (columnsRaw === undefined || Object.keys(columnsRaw).length === 0) {
    throw new ConfigError(`${prefix}.map-columns: required with ${prefix}.table (one entry per column: {json-key, value: {type}})`);
  }
  const columnsKey = section['map-columns'] !== undefined ? 'map-columns' : 'columns';
  const columns = Object.entries(columnsRaw).map(([column, spec]): ColumnMapping => {
    if (!isColumnName(column)) throw new ConfigError(`${prefix}.${columnsKey}.${column}: not a column name (letters, digits, _ and $, or "quoted")`);
    const jsonKey = spec['json-key'] ?? spec.json_key ?? column;
    return {
      column,
      jsonKey,
      path: parseJsonKey(jsonKey),
      type: TYPE_NAMES[spec.value.type],
      ...(spec.value.default !== undefined ? { default: String(spec.value.default) } : {}),
      required: spec.value.required,
    };
  });
  let unique: string[] = [];
  if (uniqueRaw !== undefined) {
    const uniqueKey = section['unique-columns'] !== undefined ? 'unique-columns' : 'upsert-key';
    unique = (typeof uniqueRaw === 'string' ? uniqueRaw.split(',') : uniqueRaw).map((c) => c.trim()).filter((c) => c !== '');
    for (const c of unique) if (!isColumnName(c)) throw new ConfigError(`${prefix}.${uniqueKey}: "${c}" is not a column name`);
  }
  const kind = section.operation ?? (unique.length > 0 ? 'upsert' : 'insert');
  if (kind === 'upsert' && unique.length === 0) {
    throw new ConfigError(`${prefix}.unique-columns: required for operation upsert (the columns of a unique index or primary key)`);
  }
  return { table: section.table, kind, uniqueColumns: kind === 'upsert' ? unique : [], columns };
}

const MISSING = Symbol('missing');

function lookup(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const part of path) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(part)) return MISSING;
      const index = Number(part);
      if (index >= node.length) return MISSING;
      node = node[index];
    } else if (typeof node === 'object' && node !== null) {
      if (!Object.prototype.hasOwnProperty.call(node, part)) return MISSING;
      node = (node as Record<string, unknown>)[part];
    } else {
      return MISSING;
    }
  }
  return node;
}

/** Maps one record value (JSON) to an operation; throws ModelError for a record it cannot map. */
export function applyMapping(mapping: RecordMapping, json: unknown): SqlOperation {
  const values = mapping.columns.map((c): SqlValue => {
    const found = lookup(json, c.path);
    let raw: string | null;
    if (found === MISSING) {
      if (c.default !== undefined) raw = c.default;
      else if (c.required) throw new ModelError(`Missing required field: ${c.jsonKey}`);
      else raw = null;
    } else if (found === null) {
      raw = null;
    } else if (c.type === 'Json') {
      raw = JSON.stringify(found);
    } else {
      raw = typeof found === 'string' ? found : JSON.stringify(found);
    }
    return { column: c.column, raw_value: raw, type: c.type };
  });
  return { kind: mapping.kind, table: mapping.table, values, uniqueColumns: mapping.uniqueColumns };
}
