// The write path shared by the SQL sinks (Postgres, SQLite, DuckDB): one
// `write()` = one transaction.
//
// 1. Each record becomes an operation: a SQL model record (json-sql's
//    output), or a plain JSON record mapped by the config's mapping. Values
//    are parsed by type. A record that fails here is rejected (dead letter)
//    before the database sees anything.
// 2. Consecutive operations on the same table with the same columns become
//    one multi-row INSERT (… ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c
//    for upserts), split so a statement stays under the database's parameter
//    limit and an upsert statement never holds the same key twice (Postgres
//    refuses to update one row twice in a statement; later records win, as
//    they would one statement at a time). Drivers prepare statements whose
//    text repeats (under load every batch has the runtime's full size).
// 3. Fast path: BEGIN, every statement, COMMIT. If the database refused a
//    statement for a reason tied to the data (constraint, bad value, unknown
//    table or column), the transaction is rolled back and the slow path finds
//    the records responsible: each statement in a savepoint, and a refused
//    statement's rows halved and retried until the refused ones are single
//    rows; those are returned as rejected, everything else is committed in
//    one transaction. (DuckDB has no savepoints: there each statement, and
//    each half of a refused one, is its own transaction.)
// 4. Any other error (connection lost, server shutting down, disk full,
//    lock timeout) rolls back, drops the connection and throws: the runtime
//    retries the same records, and nothing of them was committed.
//
// So once write() resolves every record is either committed or rejected, and
// a crash before the runtime commits the offsets replays at most this batch:
// inserts may repeat it once; upserts make the replay a no-op.

import { RejectedRecord, type SinkRecord, type SinkWriteResult } from '../connector.js';
import { applyMapping, type RecordMapping } from './mapping.js';
import { convertValue, ModelError, operationFromModel, type ConvertOptions, type SqlOperation, type SqlParam } from './model.js';

export interface Dialect {
  readonly name: string;
  /** The n-th (1-based) bind parameter: `$n` or `?`. */
  placeholder(n: number): string;
  /** Most bind parameters in one statement. */
  readonly maxParams: number;
  /** A parsed value as the driver binds it. */
  bind(param: SqlParam): unknown;
  readonly convert?: ConvertOptions;
}

/** One connection to one database; transactions are controlled by the writer. */
export interface SqlDriver {
  readonly dialect: Dialect;
  /** Savepoints let one refused row be undone inside a transaction. */
  readonly savepoints: boolean;
  /** Opens the connection when there is none, then starts a transaction. */
  begin(): Promise<void>;
  execute(sql: string, params: readonly unknown[]): Promise<void>;
  commit(): Promise<void>;
  /** Best effort (the connection may be gone). */
  rollback(): Promise<void>;
  /** True when the database refused the statement because of the data in it (the record is at fault, not the connection). */
  isRecordError(err: unknown): boolean;
  /** Drops the connection after a failure that was not the record's fault; the next begin() reconnects. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

interface Row {
  index: number;
  record: SinkRecord;
  op: SqlOperation;
  converted: SqlParam[];
  params: unknown[];
}

interface Chunk {
  kind: 'insert' | 'upsert';
  table: string;
  columns: string[];
  unique: string[];
  rows: Row[];
}

/** Most rows in one statement (besides the parameter limit). */
const MAX_ROWS_PER_STATEMENT = 1000;

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

function paramKey(param: SqlParam): string {
  if (param.value === null) return 'null';
  if (Buffer.isBuffer(param.value)) return `x${param.value.toString('hex')}`;
  return `${typeof param.value}:${String(param.value)}`;
}

export class SqlWriter {
  private readonly sqlCache = new Map<string, string>();

  constructor(
    readonly driver: SqlDriver,
    private readonly mapping: RecordMapping | undefined,
  ) {}

  /** The operation a record stands for; throws ModelError when it cannot be written. */
  operation(record: SinkRecord): SqlOperation {
    let json: unknown;
    try {
      json = JSON.parse(record.value.toString('utf8'));
    } catch {
      throw new ModelError(this.mapping ? 'the record value is not JSON' : 'the record value is not JSON (expected a SQL model record, as the json-sql transform writes)');
    }
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) {
      const keys = Object.keys(json);
      if (keys.length === 1 && (keys[0] === 'Insert' || keys[0] === 'Upsert')) return operationFromModel(json);
    }
    if (this.mapping) return applyMapping(this.mapping, json);
    return operationFromModel(json);
  }

  async write(records: readonly SinkRecord[]): Promise<SinkWriteResult> {
    const rejected: { index: number; reject: RejectedRecord }[] = [];
    const rows: Row[] = [];
    const { dialect } = this.driver;
    records.forEach((record, index) => {
      try {
        const op = this.operation(record);
        const converted = op.values.map((v) => convertValue(v, dialect.convert));
        rows.push({ index, record, op, converted, params: converted.map((p) => dialect.bind(p)) });
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        rejected.push({ index, reject: new RejectedRecord(record, err.message) });
      }
    });
    if (rows.length > 0) {
      for (const r of await this.execute(this.chunks(rows))) rejected.push(r);
    }
    rejected.sort((a, b) => a.index - b.index);
    return { rejected: rejected.map((r) => r.reject) };
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  private chunks(rows: readonly Row[]): Chunk[] {
    const chunks: Chunk[] = [];
    let current: Chunk | undefined;
    let currentKey = '';
    let keysInChunk = new Set<string>();
    for (const row of rows) {
      const { op } = row;
      const columns = op.values.map((v) => v.column);
      const key = `${op.kind}\0${op.table}\0${columns.join('\0')}\0${op.uniqueColumns.join('\0')}`;
      const maxRows = Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(this.driver.dialect.maxParams / columns.length)));
      let rowKey: string | undefined;
      if (op.kind === 'upsert') {
        const positions = op.uniqueColumns.map((c) => columns.indexOf(c));
        if (positions.every((p) => p >= 0)) {
          rowKey = positions.map((p) => paramKey(row.converted[p])).join('\0');
        }
      }
      if (!current || key !== currentKey || current.rows.length >= maxRows || (rowKey !== undefined && keysInChunk.has(rowKey))) {
        current = { kind: op.kind, table: op.table, columns, unique: op.uniqueColumns, rows: [] };
        currentKey = key;
        keysInChunk = new Set();
        chunks.push(current);
      }
      current.rows.push(row);
      if (rowKey !== undefined) keysInChunk.add(rowKey);
    }
    return chunks;
  }

  private sql(chunk: Chunk, rowCount: number): string {
    const cacheKey = `${chunk.kind}\0${chunk.table}\0${chunk.columns.join('\0')}\0${chunk.unique.join('\0')}\0${rowCount}`;
    let sql = this.sqlCache.get(cacheKey);
    if (sql !== undefined) return sql;
    const { dialect } = this.driver;
    let n = 0;
    const tuples: string[] = [];
    for (let r = 0; r < rowCount; r++) tuples.push(`(${chunk.columns.map(() => dialect.placeholder(++n)).join(', ')})`);
    sql = `INSERT INTO ${chunk.table} (${chunk.columns.join(', ')}) VALUES ${tuples.join(', ')}`;
    if (chunk.kind === 'upsert') {
      sql += ` ON CONFLICT (${chunk.unique.join(', ')}) DO UPDATE SET ${chunk.columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
    }
    if (this.sqlCache.size >= 512) this.sqlCache.clear();
    this.sqlCache.set(cacheKey, sql);
    return sql;
  }

  private async fail(err: unknown): Promise<never> {
    await this.driver.rollback().catch(() => {});
    await this.driver.reset().catch(() => {});
    throw err;
  }

  private async execute(chunks: readonly Chunk[]): Promise<{ index: number; reject: RejectedRecord }[]> {
    const d = this.driver;
    try {
      await d.begin();
    } catch (err) {
      return this.fail(err);
    }
    try {
      for (const chunk of chunks) await d.execute(this.sql(chunk, chunk.rows.length), chunk.rows.flatMap((r) => r.params));
      await d.commit();
      return [];
    } catch (err) {
      if (!d.isRecordError(err)) return this.fail(err);
      await d.rollback();
    }
    return d.savepoints ? this.slowPathWithSavepoints(chunks) : this.slowPathTransactions(chunks);
  }

  private reject(row: Row, err: unknown): { index: number; reject: RejectedRecord } {
    return { index: row.index, reject: new RejectedRecord(row.record, `${row.op.kind} into ${row.op.table} refused by ${this.driver.dialect.name}: ${describe(err)}`) };
  }

  /** Runs one statement in a savepoint; returns the record error it failed with, undefined when it succeeded. */
  private async inSavepoint(sql: string, params: readonly unknown[]): Promise<unknown> {
    const d = this.driver;
    await d.execute('SAVEPOINT freshet_sql_sink', []);
    try {
      await d.execute(sql, params);
    } catch (err) {
      if (!d.isRecordError(err)) throw err;
      await d.execute('ROLLBACK TO SAVEPOINT freshet_sql_sink', []);
      await d.execute('RELEASE SAVEPOINT freshet_sql_sink', []);
      return err ?? new Error('refused');
    }
    await d.execute('RELEASE SAVEPOINT freshet_sql_sink', []);
    return undefined;
  }

  /**
   * Writes `rows` of `chunk` with `attempt`; when the database refuses them,
   * halves the rows and tries each half, down to single rows, which are
   * rejected. k refused rows among n cost about 2·k·log2(n) attempts.
   */
  private async bisect(chunk: Chunk, rows: readonly Row[], attempt: (sql: string, params: readonly unknown[]) => Promise<unknown>, rejected: { index: number; reject: RejectedRecord }[]): Promise<void> {
    const failed = await attempt(this.sql(chunk, rows.length), rows.flatMap((r) => r.params));
    if (failed === undefined) return;
    if (rows.length === 1) {
      rejected.push(this.reject(rows[0], failed));
      return;
    }
    const mid = rows.length >> 1;
    await this.bisect(chunk, rows.slice(0, mid), attempt, rejected);
    await this.bisect(chunk, rows.slice(mid), attempt, rejected);
  }

  /** One transaction; each statement (and then each half of a refused one) in a savepoint. */
  private async slowPathWithSavepoints(chunks: readonly Chunk[]): Promise<{ index: number; reject: RejectedRecord }[]> {
    const d = this.driver;
    const rejected: { index: number; reject: RejectedRecord }[] = [];
    try {
      await d.begin();
      for (const chunk of chunks) await this.bisect(chunk, chunk.rows, (sql, params) => this.inSavepoint(sql, params), rejected);
      await d.commit();
    } catch (err) {
      return this.fail(err);
    }
    return rejected;
  }

  /** No savepoints (DuckDB): each statement, and then each half of a refused one, in its own transaction. */
  private async slowPathTransactions(chunks: readonly Chunk[]): Promise<{ index: number; reject: RejectedRecord }[]> {
    const d = this.driver;
    const rejected: { index: number; reject: RejectedRecord }[] = [];
    const attempt = async (sql: string, params: readonly unknown[]): Promise<unknown> => {
      await d.begin();
      try {
        await d.execute(sql, params);
        await d.commit();
        return undefined;
      } catch (err) {
        if (!d.isRecordError(err)) throw err;
        await d.rollback();
        return err ?? new Error('refused');
      }
    };
    try {
      for (const chunk of chunks) await this.bisect(chunk, chunk.rows, attempt, rejected);
    } catch (err) {
      return this.fail(err);
    }
    return rejected;
  }
}
