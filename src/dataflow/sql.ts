// SQL over a dataflow service's state (`freshet dataflow sql`, the console's
// SQL box): the live state is copied into a fresh in-memory DuckDB database
// as three tables, the query runs there read-only, and the database is
// dropped. DuckDB is loaded on the first query only (never at node start).
//
//   windows        the closed steps kept per key (history): key, group,
//                  window_start, window_end (epoch ms), filled, one column per
//                  aggregate, and <fact>_delta / _pct_change / _rolling_mean
//                  per series
//   open_windows   the open windows so far: key, group, window_start,
//                  window_end, one column per aggregate
//   correlations   the latest result per pair: name, group, a, b, x, y, lag,
//                  window_start, window_end, windows, n, r, p
//
// Read-only: one SELECT statement (WITH … SELECT included), external access
// (files, extensions, ATTACH) switched off and the configuration locked
// before it runs. At most `maxRows` rows come back (`truncated` says so).

import type { CorrelationResult, ServiceEngine, WindowResult } from './engine.js';

type DuckDbApi = typeof import('@duckdb/node-api');
type Connection = import('@duckdb/node-api').DuckDBConnection;

export class SqlQueryError extends Error {
  constructor(
    message: string,
    /** The tables and their columns, to help write the query. */
    readonly tables: Record<string, string[]>,
  ) {
    super(message);
  }
}

/** The tables and their columns, as one line (shown with a failed query). */
export function tablesHint(tables: Record<string, string[]>): string {
  return `tables: ${Object.entries(tables)
    .map(([name, columns]) => `${name}(${columns.join(', ')})`)
    .join('; ')}`;
}

export interface SqlResult {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
  tables: Record<string, string[]>;
}

export const DEFAULT_MAX_ROWS = 10_000;

let api: Promise<DuckDbApi> | undefined;
function duckdb(): Promise<DuckDbApi> {
  api ??= import('@duckdb/node-api');
  return api;
}

type ColumnType = 'VARCHAR' | 'DOUBLE' | 'BIGINT' | 'BOOLEAN' | 'INTEGER';

interface Column<R> {
  name: string;
  type: ColumnType;
  get: (row: R) => unknown;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A column for values that are numbers where present, else text (JSON for non-strings). */
function valueColumn<R>(name: string, rows: readonly R[], get: (row: R) => unknown): Column<R> {
  const numeric = rows.every((r) => {
    const v = get(r);
    return v === null || v === undefined || typeof v === 'number';
  });
  if (numeric) return { name, type: 'DOUBLE', get };
  return { name, type: 'VARCHAR', get: (r) => { const v = get(r); return v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v); } };
}

const SERIES_FIELDS: [field: 'delta' | 'pctChange' | 'rollingMean', suffix: string][] = [
  ['delta', 'delta'],
  ['pctChange', 'pct_change'],
  ['rollingMean', 'rolling_mean'],
];

function windowColumns(engine: ServiceEngine, rows: readonly WindowResult[]): Column<WindowResult>[] {
  const columns: Column<WindowResult>[] = [
    { name: 'key', type: 'VARCHAR', get: (w) => w.key },
    { name: 'group', type: 'VARCHAR', get: (w) => w.group },
    { name: 'window_start', type: 'BIGINT', get: (w) => w.windowStart },
    { name: 'window_end', type: 'BIGINT', get: (w) => w.windowEnd },
    { name: 'filled', type: 'BOOLEAN', get: (w) => w.filled },
  ];
  for (const a of engine.spec.aggregates) columns.push(valueColumn(a.name, rows, (w) => w.values[a.name]));
  for (const s of engine.spec.series) {
    for (const [field, suffix] of SERIES_FIELDS) {
      if ((field === 'delta' && s.delta) || (field === 'pctChange' && s.pctChange) || (field === 'rollingMean' && s.rollingMean !== undefined)) {
        columns.push({ name: `${s.of}_${suffix}`, type: 'DOUBLE', get: (w) => w.series?.[s.of]?.[field] ?? null });
      }
    }
  }
  return columns;
}

type Open = { key: string; group: string | null; windowStart: number; windowEnd: number; values: Record<string, unknown> };

function openColumns(engine: ServiceEngine, rows: readonly Open[]): Column<Open>[] {
  return [
    { name: 'key', type: 'VARCHAR', get: (w) => w.key },
    { name: 'group', type: 'VARCHAR', get: (w) => w.group },
    { name: 'window_start', type: 'BIGINT', get: (w) => w.windowStart },
    { name: 'window_end', type: 'BIGINT', get: (w) => w.windowEnd },
    ...engine.spec.aggregates.map((a) => valueColumn<Open>(a.name, rows, (w) => w.values[a.name])),
  ];
}

const CORRELATION_COLUMNS: Column<CorrelationResult>[] = [
  { name: 'name', type: 'VARCHAR', get: (c) => c.name },
  { name: 'group', type: 'VARCHAR', get: (c) => c.group },
  { name: 'a', type: 'VARCHAR', get: (c) => c.a },
  { name: 'b', type: 'VARCHAR', get: (c) => c.b },
  { name: 'x', type: 'VARCHAR', get: (c) => c.x },
  { name: 'y', type: 'VARCHAR', get: (c) => c.y },
  { name: 'lag', type: 'INTEGER', get: (c) => c.lag },
  { name: 'window_start', type: 'BIGINT', get: (c) => c.windowStart },
  { name: 'window_end', type: 'BIGINT', get: (c) => c.windowEnd },
  { name: 'windows', type: 'INTEGER', get: (c) => c.windows },
  { name: 'n', type: 'INTEGER', get: (c) => c.n },
  { name: 'r', type: 'DOUBLE', get: (c) => c.r },
  { name: 'p', type: 'DOUBLE', get: (c) => c.p },
];

async function load<R>(connection: Connection, table: string, columns: Column<R>[], rows: Iterable<R>): Promise<void> {
  await connection.run(`CREATE TABLE ${quote(table)} (${columns.map((c) => `${quote(c.name)} ${c.type}`).join(', ')})`);
  const appender = await connection.createAppender(table);
  for (const row of rows) {
    for (const c of columns) {
      const v = c.get(row);
      if (v === null || v === undefined) appender.appendNull();
      else if (c.type === 'VARCHAR') appender.appendVarchar(String(v));
      else if (c.type === 'BIGINT') appender.appendBigInt(BigInt(Math.trunc(v as number)));
      else if (c.type === 'INTEGER') appender.appendInteger(v as number);
      else if (c.type === 'BOOLEAN') appender.appendBoolean(v as boolean);
      else appender.appendDouble(v as number);
    }
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
}

/** JSON-safe cell: BIGINT comes back as bigint. */
function cell(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  return v;
}

/** Runs one read-only SELECT over the service's state. */
export async function queryState(engine: ServiceEngine, sql: string, maxRows = DEFAULT_MAX_ROWS): Promise<SqlResult> {
  const windows: WindowResult[] = [];
  const correlations: CorrelationResult[] = [];
  for (const r of engine.allResults()) (r.type === 'window' ? windows : correlations).push(r as never);
  const open = [...engine.openResults()];
  const tableColumns = { windows: windowColumns(engine, windows), open_windows: openColumns(engine, open), correlations: CORRELATION_COLUMNS };
  const tables = Object.fromEntries(Object.entries(tableColumns).map(([name, columns]) => [name, columns.map((c) => c.name)]));
  const { DuckDBInstance } = await duckdb();
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await load(connection, 'windows', tableColumns.windows, windows);
    await load(connection, 'open_windows', tableColumns.open_windows, open);
    await load(connection, 'correlations', tableColumns.correlations, correlations);
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    let result;
    try {
      const statements = await connection.extractStatements(sql);
      if (statements.count !== 1) throw new SqlQueryError(`expected one SELECT statement, got ${statements.count}`, tables);
      const prepared = await statements.prepare(0);
      if (prepared.statementType !== 1) throw new SqlQueryError('only SELECT statements are allowed (the state is read-only)', tables);
      result = await prepared.runAndReadAll();
    } catch (err) {
      if (err instanceof SqlQueryError) throw err;
      throw new SqlQueryError((err as Error).message, tables);
    }
    const rows = result.getRowsJS();
    return { columns: result.columnNames(), rows: rows.slice(0, maxRows).map((row) => row.map(cell)), truncated: rows.length > maxRows, tables };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
