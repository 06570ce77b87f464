// duckdb-sink: appends records to a DuckDB table (the warehouse side), with
// Fluvio's duckdb-sink config (section `duckdb`; reference:
// shared/reference/fluvio-connectors.md §4.5).
//
//   duckdb:
//     url: ./events.duckdb       # a database file (created when missing), :memory:, or md:… (MotherDuck)
//     # Freshet: the same direct mapping keys as sql-sink (table, operation,
//     # unique-columns/upsert-key, map-columns/columns), for plain JSON records.
//
// Records: json-sql's SQL model, or plain JSON mapped by the config. Each
// write() is one transaction of multi-row INSERTs (see ../sql-sink/writer.ts).
// DuckDB has no savepoints: when it refuses a statement, the batch is rolled
// back and written again one row per transaction, so the refused rows can be
// rejected (dead letters) and the rest kept.
//
// Differences from Fluvio's duckdb-sink (which crashes on Upsert and on a
// record that is not model JSON, skips refused rows, and panics on Numeric):
// Upsert works (INSERT … ON CONFLICT (key) DO UPDATE, which needs a primary
// key or unique index on the key), Numeric and Date/Time work, bad records
// go to the dead-letter topic. As in Fluvio, a raw value of exactly `NULL`
// is SQL NULL, and timestamps are RFC 3339 (`2023-03-03T18:30:18.679Z`;
// `2023-03-03 18:30:18` works too; zones are converted to UTC).

import { z } from 'zod';
import type { ConnectorType, Sink } from '../connector.js';
import { attachWarnings, configWarnings, parseSection } from '../schema.js';
import { mappingFromSection, mappingKeys, type RecordMapping } from '../sql-sink/mapping.js';
import type { SqlParam } from '../sql-sink/model.js';
import { SqlWriter, type Dialect, type SqlDriver } from '../sql-sink/writer.js';

type DuckDbApi = typeof import('@duckdb/node-api');
type DuckDBInstance = import('@duckdb/node-api').DuckDBInstance;
type DuckDBConnection = import('@duckdb/node-api').DuckDBConnection;
type DuckDBPreparedStatement = import('@duckdb/node-api').DuckDBPreparedStatement;
type DuckDBValue = import('@duckdb/node-api').DuckDBValue;

export interface DuckDbSinkConfig {
  /** Database path, `:memory:` or `md:…` (may hold a token: never log it). */
  url: string;
  mapping?: RecordMapping;
}

const schema = z
  .object({
    url: z.string({ error: 'required: the DuckDB database path (e.g. ./events.duckdb) or md:… URL' }).min(1, 'expected a database path'),
    ...mappingKeys,
  })
  .strict();

export function parseDuckDbSinkConfig(section: unknown, prefix = 'duckdb'): DuckDbSinkConfig {
  const parsed = parseSection(schema, section, prefix);
  const mapping = mappingFromSection(parsed, prefix);
  return attachWarnings<DuckDbSinkConfig>({ url: parsed.url, ...(mapping ? { mapping } : {}) }, configWarnings(parsed));
}

function duckDbDialect(api: DuckDbApi): Dialect {
  return {
    name: 'duckdb',
    placeholder: (n) => `$${n}`,
    maxParams: 30_000,
    convert: { nullMarkers: ['NULL'] },
    bind(param: SqlParam): DuckDBValue {
      const { value } = param;
      if (value === null) return null;
      if (Buffer.isBuffer(value)) return api.blobValue(value);
      // Text forms of Numeric, Timestamp, Date, Time, Uuid, Json are cast by DuckDB to the column's type.
      return value;
    },
  };
}

/** DuckDB error classes that mean the statement's data was refused; others (IO, connection, out of memory, transaction conflicts) are transient. */
const RECORD_ERRORS = /^(Constraint|Conversion|Catalog|Binder|Parser|Invalid Input|Mismatch Type|Out of Range|Not implemented|Invalid Type|Invalid) Error/;

export function isDuckDbRecordError(err: unknown): boolean {
  return err instanceof Error && RECORD_ERRORS.test(err.message);
}

export class DuckDbDriver implements SqlDriver {
  readonly dialect: Dialect;
  readonly savepoints = false;
  private instance: DuckDBInstance | undefined;
  private connection: DuckDBConnection | undefined;
  private readonly statements = new Map<string, DuckDBPreparedStatement>();

  constructor(
    private readonly api: DuckDbApi,
    private readonly url: string,
  ) {
    this.dialect = duckDbDialect(api);
  }

  async connect(): Promise<DuckDBConnection> {
    if (!this.connection) {
      this.instance ??= await this.api.DuckDBInstance.create(this.url);
      this.connection = await this.instance.connect();
      this.statements.clear();
    }
    return this.connection;
  }

  async begin(): Promise<void> {
    await (await this.connect()).run('BEGIN TRANSACTION');
  }

  async execute(sql: string, params: readonly unknown[]): Promise<void> {
    const connection = this.connection;
    if (!connection) throw new Error('the duckdb connection is closed');
    if (params.length === 0) {
      await connection.run(sql);
      return;
    }
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = await connection.prepare(sql);
      if (this.statements.size >= 64) {
        for (const s of this.statements.values()) s.destroySync();
        this.statements.clear();
      }
      this.statements.set(sql, statement);
    }
    statement.bind(params as DuckDBValue[]);
    await statement.run();
  }

  async commit(): Promise<void> {
    await this.connection?.run('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.connection?.run('ROLLBACK').catch(() => {});
  }

  isRecordError(err: unknown): boolean {
    return isDuckDbRecordError(err);
  }

  async reset(): Promise<void> {
    for (const s of this.statements.values()) s.destroySync();
    this.statements.clear();
    this.connection?.closeSync();
    this.connection = undefined;
  }

  async close(): Promise<void> {
    await this.reset();
    this.instance?.closeSync();
    this.instance = undefined;
  }
}

export async function createDuckDbWriter(config: DuckDbSinkConfig): Promise<SqlWriter> {
  const api = await import('@duckdb/node-api');
  const driver = new DuckDbDriver(api, config.url);
  await driver.connect();
  return new SqlWriter(driver, config.mapping);
}

export const duckdbSink: ConnectorType<DuckDbSinkConfig> = {
  type: 'duckdb-sink',
  kind: 'sink',
  section: 'duckdb',
  parse: (section) => parseDuckDbSinkConfig(section),
  async createSink(ctx): Promise<Sink> {
    const writer = await createDuckDbWriter(ctx.config);
    ctx.log.info({ mapping: ctx.config.mapping?.table }, 'duckdb sink opened');
    return {
      write: (records) => writer.write(records),
      close: () => writer.close(),
    };
  },
};
