// Postgres for the SQL sink, through `pg`: one connection, opened on the
// first write and again after a failure. Values are sent as text (bytea as
// binary) with no declared type, so the server converts them to the column
// types of the INSERT.

import type { Logger } from 'pino';
import type pg from 'pg';
import type { SqlParam } from './model.js';
import type { Dialect, SqlDriver } from './writer.js';

export const postgresDialect: Dialect = {
  name: 'postgres',
  placeholder: (n) => `$${n}`,
  maxParams: 65_535,
  bind(param: SqlParam): unknown {
    const { value } = param;
    if (value === null) return null;
    if (typeof value === 'bigint' || typeof value === 'number') return String(value);
    return value;
  },
};

/**
 * SQLSTATE classes that mean the statement's data was refused: 21
 * cardinality, 22 data exception, 23 integrity constraint, 42 syntax or
 * access rule (unknown table or column, privilege), 44 check option.
 * Everything else (08 connection, 40 rollback, 53 resources, 57 operator
 * intervention, 58 system, XX internal, no code: socket errors) is transient.
 */
const RECORD_ERROR_CLASSES = new Set(['21', '22', '23', '42', '44']);

export function isPostgresRecordError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && RECORD_ERROR_CLASSES.has(code.slice(0, 2));
}

/** Most named statements per sink, and most statement texts remembered as seen once. */
const MAX_PREPARED = 200;
const MAX_TRACKED = 2000;

export interface PostgresOptions {
  connectTimeoutMs?: number;
  /** Client-side limit for one statement; the connection is dropped when it passes. */
  queryTimeoutMs?: number;
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly savepoints = true;
  private client: pg.Client | undefined;
  /** Statement text → its prepared statement name (pg prepares it again on a new connection), or 1: seen once. */
  private readonly statements = new Map<string, string | 1>();
  private prepared = 0;

  constructor(
    private readonly pgModule: typeof pg,
    private readonly url: string,
    private readonly log: Logger,
    private readonly options: PostgresOptions = {},
  ) {}

  /** Connects now (so a bad URL or an unreachable server shows when the connector starts). */
  async connect(): Promise<void> {
    if (this.client) return;
    const client = new this.pgModule.Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      query_timeout: this.options.queryTimeoutMs ?? 120_000,
      keepAlive: true,
      application_name: 'freshet-sql-sink',
    });
    // A connection that dies between writes reports here; the next write reconnects.
    client.on('error', (err) => {
      this.log.warn({ err: err.message }, 'postgres connection lost');
      if (this.client === client) this.client = undefined;
      client.end().catch(() => {});
    });
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
  }

  async begin(): Promise<void> {
    await this.connect();
    await this.execute('BEGIN', []);
  }

  async execute(sql: string, params: readonly unknown[]): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('the postgres connection was lost');
    if (params.length === 0) {
      await client.query(sql);
      return;
    }
    // A statement seen before is named: parsed and planned once per connection, then only bound
    // and run (planning a 500-row INSERT costs Postgres about as much as running it). One-off
    // shapes (odd batch sizes under light load) stay unnamed, so the prepared set stays small.
    const seen = this.statements.get(sql);
    let name: string | undefined;
    if (typeof seen === 'string') name = seen;
    else if (seen !== undefined && this.prepared < MAX_PREPARED) {
      name = `freshet_sql_sink_${this.prepared++}`;
      this.statements.set(sql, name);
    } else if (seen === undefined) {
      if (this.statements.size >= MAX_TRACKED) for (const [text, v] of this.statements) if (v === 1) this.statements.delete(text);
      this.statements.set(sql, 1);
    }
    await client.query(name === undefined ? { text: sql, values: params as unknown[] } : { name, text: sql, values: params as unknown[] });
  }

  commit(): Promise<void> {
    return this.execute('COMMIT', []);
  }

  async rollback(): Promise<void> {
    if (this.client) await this.execute('ROLLBACK', []);
  }

  isRecordError(err: unknown): boolean {
    return isPostgresRecordError(err);
  }

  async reset(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  close(): Promise<void> {
    return this.reset();
  }
}
