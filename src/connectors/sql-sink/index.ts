// sql-sink: records into Postgres or SQLite, with Fluvio's sql-sink config
// (section `sql`; reference: shared/reference/fluvio-connectors.md §4.4).
//
//   sql:
//     url: postgres://user:pass@host:5432/db   # or postgresql://…, sqlite://path, sqlite:path, sqlite::memory:
//                                              # (a typed secret ref {secret: {name}} works: the runtime resolves it)
//     backoff-min: 1s                          # accepted (Fluvio's keys); retries are the runtime's, see below
//     backoff-max: 60s
//     # Freshet: map plain JSON records without a json-sql transform (mapping.ts):
//     table: readings
//     operation: upsert                        # insert (default) | upsert
//     unique-columns: [sensor_id]              # alias upsert-key
//     map-columns: {sensor_id: {json-key: id, value: {type: int, required: true}}}   # alias columns
//
// Records: json-sql's SQL model ({"Insert": …} / {"Upsert": …}), or plain
// JSON mapped by the config's mapping. Each write() is one transaction of
// multi-row INSERTs (ON CONFLICT … DO UPDATE for upserts); see writer.ts.
//
// Differences from Fluvio's sql-sink, all in the direction of losing less:
// - a record the database refuses (constraint, bad value, unknown table) or
//   that is not a model record goes to the dead-letter topic and the sink
//   goes on (Fluvio retries it for minutes, then drops it, or drops it at
//   once when it is not model JSON);
// - a lost connection makes write() throw: the runtime retries the same
//   batch with backoff and restarts the connector after repeated failures,
//   resuming from the last committed offset (Fluvio skips the record after
//   its backoff-max);
// - batching and transactions (Fluvio: one statement per record);
// - `""` and `null` raw values of non-text types are SQL NULL (model.ts);
//   timestamps may also be RFC 3339.

import { z } from 'zod';
import type { Logger } from 'pino';
import type { ConnectorType, Sink } from '../connector.js';
import { ConfigError } from '../errors.js';
import { attachWarnings, configWarnings, duration, parseSection } from '../schema.js';
import { mappingFromSection, mappingKeys, type RecordMapping } from './mapping.js';
import { PostgresDriver } from './postgres.js';
import { parseSqliteUrl, SqliteDriver, type SqliteTarget } from './sqlite.js';
import { SqlWriter } from './writer.js';

export interface SqlSinkConfig {
  backend: 'postgres' | 'sqlite';
  /** As given (it may hold a password: never log it). */
  url: string;
  sqlite?: SqliteTarget;
  backoffMinMs: number;
  backoffMaxMs: number;
  mapping?: RecordMapping;
}

const SUPPORTED = 'expected a postgres://, postgresql:// or sqlite: URL';

const schema = z
  .object({
    url: z.string({ error: `required: ${SUPPORTED}` }),
    'backoff-min': duration().optional(),
    'backoff-max': duration().optional(),
    ...mappingKeys,
  })
  .strict();

export function parseSqlSinkConfig(section: unknown, prefix = 'sql'): SqlSinkConfig {
  const parsed = parseSection(schema, section, prefix);
  const url = parsed.url.trim();
  let backend: SqlSinkConfig['backend'];
  let sqlite: SqliteTarget | undefined;
  if (/^postgres(ql)?:\/\//i.test(url)) {
    backend = 'postgres';
  } else if (/^sqlite:/i.test(url)) {
    backend = 'sqlite';
    try {
      sqlite = parseSqliteUrl(url);
    } catch (err) {
      throw new ConfigError(`${prefix}.url: ${(err as Error).message}`);
    }
  } else {
    throw new ConfigError(`${prefix}.url: unsupported database backend: ${SUPPORTED}`);
  }
  const mapping = mappingFromSection(parsed, prefix);
  const config: SqlSinkConfig = {
    backend,
    url,
    ...(sqlite ? { sqlite } : {}),
    backoffMinMs: parsed['backoff-min'] ?? 1000,
    backoffMaxMs: parsed['backoff-max'] ?? 60_000,
    ...(mapping ? { mapping } : {}),
  };
  // Unknown keys are warnings carried by the parsed object: keep them on ours.
  return attachWarnings(config, configWarnings(parsed));
}

/** Opens the database named by the config (connecting now, so a bad URL fails the start). */
export async function createSqlWriter(config: SqlSinkConfig, log: Logger): Promise<SqlWriter> {
  if (config.backend === 'postgres') {
    const { default: pg } = await import('pg');
    const driver = new PostgresDriver(pg, config.url, log);
    await driver.connect();
    return new SqlWriter(driver, config.mapping);
  }
  const { default: Database } = await import('better-sqlite3');
  const driver = new SqliteDriver(Database, config.sqlite!);
  driver.connect();
  return new SqlWriter(driver, config.mapping);
}

export const sqlSink: ConnectorType<SqlSinkConfig> = {
  type: 'sql-sink',
  kind: 'sink',
  section: 'sql',
  parse: (section) => parseSqlSinkConfig(section),
  async createSink(ctx): Promise<Sink> {
    const writer = await createSqlWriter(ctx.config, ctx.log);
    ctx.log.info({ backend: ctx.config.backend, mapping: ctx.config.mapping?.table }, 'sql sink connected');
    return {
      write: (records) => writer.write(records),
      close: () => writer.close(),
    };
  },
};
