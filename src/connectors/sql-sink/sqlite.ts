// SQLite for the SQL sink, through better-sqlite3 (synchronous: each write
// holds the event loop for the duration of its transaction, which for one
// batch is short). URLs as sqlx reads them: `sqlite://path` and
// `sqlite:path` are relative paths, `sqlite:///abs/path` absolute,
// `sqlite::memory:` in memory; `?mode=ro|rw|rwc|memory`. Freshet creates a
// missing file unless the mode says otherwise (sqlx needs `mode=rwc` for
// that).

import type BetterSqlite3 from 'better-sqlite3';
import type { SqlParam } from './model.js';
import type { Dialect, SqlDriver } from './writer.js';

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  placeholder: () => '?',
  maxParams: 32_766,
  bind(param: SqlParam): unknown {
    const { value } = param;
    if (value === null) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    // As Fluvio's sink: Numeric is bound as a 64-bit float in SQLite.
    if (param.type === 'Numeric') return Number(value);
    return value;
  },
};

export interface SqliteTarget {
  /** A file path, or `:memory:`. */
  file: string;
  readonly: boolean;
  /** Fail when the file does not exist. */
  mustExist: boolean;
}

/** Parses `sqlite:` URLs; throws with what was expected. */
export function parseSqliteUrl(url: string): SqliteTarget {
  const match = /^sqlite:(.*)$/i.exec(url);
  if (!match) throw new Error(`expected a sqlite: URL, got "${url}"`);
  let rest = match[1];
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (rest.startsWith('//')) rest = rest.slice(2);
  const params = new URLSearchParams(query);
  const mode = params.get('mode') ?? 'rwc';
  if (!['ro', 'rw', 'rwc', 'memory'].includes(mode)) throw new Error(`sqlite URL mode must be ro, rw, rwc or memory, got "${mode}"`);
  const file = rest === ':memory:' || rest === '' || mode === 'memory' ? ':memory:' : decodeURIComponent(rest);
  return { file, readonly: mode === 'ro', mustExist: mode === 'ro' || mode === 'rw' };
}

/** Codes of errors about the statement's data (constraint, type, unknown table or column, syntax); anything else (busy, locked, I/O, full, read-only) is transient. */
export function isSqliteRecordError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code === 'SQLITE_ERROR' || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE' || code.startsWith('SQLITE_CONSTRAINT');
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = sqliteDialect;
  readonly savepoints = true;
  private db: BetterSqlite3.Database | undefined;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly Database: typeof BetterSqlite3,
    private readonly target: SqliteTarget,
    private readonly busyTimeoutMs = 5000,
  ) {}

  connect(): BetterSqlite3.Database {
    if (!this.db) {
      this.db = new this.Database(this.target.file, { readonly: this.target.readonly, fileMustExist: this.target.mustExist, timeout: this.busyTimeoutMs });
      this.statements.clear();
    }
    return this.db;
  }

  /** The open database (tests and tools). */
  get database(): BetterSqlite3.Database {
    return this.connect();
  }

  async begin(): Promise<void> {
    // IMMEDIATE takes the write lock now, so a busy database shows as SQLITE_BUSY here, not half-way.
    this.connect().exec('BEGIN IMMEDIATE');
  }

  async execute(sql: string, params: readonly unknown[]): Promise<void> {
    const db = this.db;
    if (!db) throw new Error('the sqlite database is closed');
    if (params.length === 0) {
      db.exec(sql);
      return;
    }
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (this.statements.size >= 128) this.statements.clear();
      this.statements.set(sql, statement);
    }
    statement.run(...params);
  }

  async commit(): Promise<void> {
    this.db?.exec('COMMIT');
  }

  async rollback(): Promise<void> {
    if (this.db?.inTransaction) this.db.exec('ROLLBACK');
  }

  isRecordError(err: unknown): boolean {
    return isSqliteRecordError(err);
  }

  async reset(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.statements.clear();
    try {
      db?.close();
    } catch {
      // already closed
    }
  }

  close(): Promise<void> {
    return this.reset();
  }
}
