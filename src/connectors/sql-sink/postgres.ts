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

export interface PostgresOptions {
  connectTimeoutMs?: number;
  /** Client-side limit for one statement; the connection is dropped when it passes. */
  queryTimeoutMs?: number;
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  readonly savepoints = true;
  private client: pg.Client | undefined;

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
    await client.query(sql, params as unknown[]);
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
