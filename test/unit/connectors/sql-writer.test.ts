// The SQL sinks' model, value conversion, config mapping and write path,
// without a database: a fake driver records the statements and refuses what
// a test tells it to.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMapping, mappingFromSection, parseJsonKey, type RecordMapping } from '../../../src/connectors/sql-sink/mapping.js';
import { convertValue, ModelError, operationFromModel, parseTimestamp, type SqlType } from '../../../src/connectors/sql-sink/model.js';
import { isPostgresRecordError, postgresDialect } from '../../../src/connectors/sql-sink/postgres.js';
import { isSqliteRecordError } from '../../../src/connectors/sql-sink/sqlite.js';
import { SqlWriter, type SqlDriver } from '../../../src/connectors/sql-sink/writer.js';
import { sqlSink } from '../../../src/connectors/sql-sink/index.js';
import { configWarnings } from '../../../src/connectors/schema.js';
import { insert, record, upsert } from '../../helpers/sql-records.js';

const v = (type: SqlType, raw: string | null) => convertValue({ column: 'c', raw_value: raw, type });

describe('SQL model values', () => {
  it('parses each type as Fluvio sql-sink does', () => {
    assert.deepEqual(v('Bool', 'true'), { type: 'Bool', value: true });
    assert.throws(() => v('Bool', 'True'), ModelError);
    assert.deepEqual(v('Char', '-128'), { type: 'Char', value: -128 });
    assert.throws(() => v('Char', '128'), /not an integer in -128\.\.127/);
    assert.deepEqual(v('SmallInt', '+12'), { type: 'SmallInt', value: 12 });
    assert.throws(() => v('Int', '2147483648'), ModelError);
    assert.throws(() => v('Int', '1.0'), ModelError);
    assert.throws(() => v('Int', ' 1'), ModelError);
    assert.deepEqual(v('BigInt', '-9223372036854775808'), { type: 'BigInt', value: -9223372036854775808n });
    assert.throws(() => v('BigInt', '9223372036854775808'), ModelError);
    assert.deepEqual(v('DoublePrecision', '1e3'), { type: 'DoublePrecision', value: 1000 });
    assert.deepEqual(v('Float', '-inf'), { type: 'Float', value: -Infinity });
    assert.ok(Number.isNaN(v('Float', 'NaN').value));
    assert.throws(() => v('Float', '1,5'), ModelError);
    assert.deepEqual(v('Numeric', '+12.50'), { type: 'Numeric', value: '12.50' });
    assert.throws(() => v('Numeric', 'abc'), ModelError);
    assert.deepEqual(v('Text', ''), { type: 'Text', value: '' });
    assert.deepEqual(v('Text', 'null'), { type: 'Text', value: 'null' });
    assert.deepEqual(v('Bytes', 'hé'), { type: 'Bytes', value: Buffer.from('hé') });
    assert.deepEqual(v('Date', '2024-02-29'), { type: 'Date', value: '2024-02-29' });
    assert.throws(() => v('Date', '2023-02-29'), ModelError);
    assert.deepEqual(v('Time', '23:59:59.123456'), { type: 'Time', value: '23:59:59.123456' });
    assert.throws(() => v('Time', '24:00:00'), ModelError);
    assert.deepEqual(v('Uuid', '{550E8400E29B41D4A716446655440000}'), { type: 'Uuid', value: '550e8400-e29b-41d4-a716-446655440000' });
    assert.throws(() => v('Uuid', '550e8400'), ModelError);
    assert.deepEqual(v('Json', '[1, {"a": null}]'), { type: 'Json', value: '[1, {"a": null}]' });
    assert.throws(() => v('Json', '{a:1}'), ModelError);
  });

  it('NULL: a null raw value; "" for non-text types; "null" for non-text, non-JSON types; NULL markers', () => {
    assert.equal(v('Text', null).value, null);
    assert.equal(v('Int', '').value, null);
    assert.equal(v('Json', '').value, null);
    assert.equal(v('Timestamp', 'null').value, null);
    assert.equal(v('Json', 'null').value, 'null');
    assert.deepEqual(v('Bytes', '').value, Buffer.alloc(0));
    assert.equal(convertValue({ column: 'c', raw_value: 'NULL', type: 'Text' }, { nullMarkers: ['NULL'] }).value, null);
    assert.equal(v('Text', 'NULL').value, 'NULL');
  });

  it('timestamps: chrono\'s %Y-%m-%d %H:%M:%S%.f, or RFC 3339 converted to UTC', () => {
    assert.equal(parseTimestamp('2023-03-03 18:30:18'), '2023-03-03 18:30:18');
    assert.equal(parseTimestamp('2023-03-03 18:30:18.123456789'), '2023-03-03 18:30:18.123456789');
    assert.equal(parseTimestamp('2023-03-03T18:30:18.679Z'), '2023-03-03 18:30:18.679');
    assert.equal(parseTimestamp('2023-03-01T01:30:00+02:00'), '2023-02-28 23:30:00');
    assert.equal(parseTimestamp('2023-12-31T23:30:00-0100'), '2024-01-01 00:30:00');
    assert.equal(parseTimestamp('2023-03-03'), undefined);
    assert.equal(parseTimestamp('2023-13-03 00:00:00'), undefined);
    assert.equal(parseTimestamp('2023-03-03 25:00:00'), undefined);
  });

  it('reads json-sql model records and refuses anything else', () => {
    assert.deepEqual(operationFromModel(upsert('public.t', 'a, b', [['a', '1', 'Int'], ['b', 'x', 'Text']])), {
      kind: 'upsert',
      table: 'public.t',
      values: [
        { column: 'a', raw_value: '1', type: 'Int' },
        { column: 'b', raw_value: 'x', type: 'Text' },
      ],
      uniqueColumns: ['a', 'b'],
    });
    assert.equal(operationFromModel(insert('"Mixed Case"', [['"Col"', '1', 'Int']])).table, '"Mixed Case"');
    const bad: [unknown, RegExp][] = [
      [[1], /not a SQL model record/],
      [{ Delete: {} }, /got keys "Delete"/],
      [{ Insert: { table: 't', values: [] } }, /non-empty list/],
      [{ Insert: { table: 't; drop table x', values: [{ column: 'a', raw_value: '1', type: 'Int' }] } }, /not a table name/],
      [{ Insert: { table: 't', values: [{ column: 'a b', raw_value: '1', type: 'Int' }] } }, /not a column name/],
      [{ Insert: { table: 't', values: [{ column: 'a', raw_value: '1', type: 'int' }] } }, /type "int" is not one of/],
      [{ Insert: { table: 't', values: [{ column: 'a', raw_value: {}, type: 'Int' }] } }, /raw_value must be a string/],
      [{ Insert: { table: 't', values: [{ column: 'a', raw_value: '1', type: 'Int' }, { column: 'a', raw_value: '2', type: 'Int' }] } }, /appears twice/],
      [{ Upsert: { table: 't', values: [{ column: 'a', raw_value: '1', type: 'Int' }] } }, /uniq_idx/],
      [{ Upsert: { table: 't', values: [{ column: 'a', raw_value: '1', type: 'Int' }], uniq_idx: ' , ' } }, /names no column/],
    ];
    for (const [input, message] of bad) assert.throws(() => operationFromModel(input), message);
  });
});

describe('config mapping', () => {
  const section = {
    table: 'readings',
    'unique-columns': ['sensor_id'],
    'map-columns': {
      sensor_id: { 'json-key': 'payload.sensor.id', value: { type: 'int4', required: true } },
      temp: { 'json-key': '.payload.temp', value: { type: 'float8', default: 0 } },
      first: { 'json-key': 'items.0', value: { type: 'text' } },
      raw: { 'json-key': '$', value: { type: 'jsonb' } },
      name: { value: { type: 'text' } },
    },
  };

  it('parses json-sql keys; unique columns imply upsert', () => {
    const mapping = sqlSink.parse({ url: 'sqlite::memory:', ...section }).mapping as RecordMapping;
    assert.equal(mapping.kind, 'upsert');
    assert.deepEqual(mapping.uniqueColumns, ['sensor_id']);
    assert.deepEqual(
      mapping.columns.map((c) => [c.column, c.type, c.path.join('.'), c.default ?? null, c.required]),
      [
        ['sensor_id', 'Int', 'payload.sensor.id', null, true],
        ['temp', 'DoublePrecision', 'payload.temp', '0', false],
        ['first', 'Text', 'items.0', null, false],
        ['raw', 'Json', '', null, false],
        ['name', 'Text', 'name', null, false],
      ],
    );
    assert.deepEqual(parseJsonKey('$.a.b'), ['a', 'b']);
    assert.deepEqual(parseJsonKey(''), []);
    assert.equal(sqlSink.parse({ url: 'sqlite::memory:', ...section, operation: 'insert' }).mapping?.kind, 'insert');
    assert.deepEqual(sqlSink.parse({ url: 'sqlite::memory:', ...section, 'unique-columns': undefined, 'upsert-key': 'a,b' }).mapping?.uniqueColumns, ['a', 'b']);
  });

  it('refuses incomplete or ambiguous mappings with the key path', () => {
    const parse = (extra: Record<string, unknown>) => () => sqlSink.parse({ url: 'sqlite::memory:', ...extra });
    assert.throws(parse({ 'map-columns': section['map-columns'] }), /sql\.table: required/);
    assert.throws(parse({ ...section, columns: section['map-columns'] }), /map-columns or columns, not both/);
    assert.throws(parse({ ...section, 'upsert-key': ['x'] }), /unique-columns or upsert-key, not both/);
    assert.throws(parse({ table: 't', operation: 'upsert', columns: { a: { value: { type: 'int' } } } }), /sql\.unique-columns: required for operation upsert/);
    assert.throws(parse({ table: 't', columns: { 'a-b': { value: { type: 'int' } } } }), /sql\.columns\.a-b: not a column name/);
    assert.throws(() => mappingFromSection({ table: 't' }, 'duckdb'), /duckdb\.map-columns: required/);
    // Unknown keys warn (Fluvio ignores them), as everywhere in connector configs.
    assert.match(configWarnings(parse({ table: 't', columns: { a: { value: { type: 'int', extra: 1 } } } })()).join(), /sql\.columns\.a\.value\.extra is not a known key/);
    assert.match(configWarnings(sqlSink.parse({ url: 'sqlite::memory:', 'backof-max': '1s' })).join(), /sql\.backof-max is not a known key and is ignored; did you mean backoff-max\?/);
  });

  it('maps values: missing and null are NULL, defaults apply, JSON columns get JSON text', () => {
    const mapping = sqlSink.parse({ url: 'sqlite::memory:', ...section }).mapping as RecordMapping;
    const op = applyMapping(mapping, { payload: { sensor: { id: 7 } }, items: ['a', 'b'], name: null });
    assert.deepEqual(
      op.values.map((x) => [x.column, x.raw_value]),
      [
        ['sensor_id', '7'],
        ['temp', '0'],
        ['first', 'a'],
        ['raw', '{"payload":{"sensor":{"id":7}},"items":["a","b"],"name":null}'],
        ['name', null],
      ],
    );
    assert.throws(() => applyMapping(mapping, { payload: {} }), /Missing required field: payload\.sensor\.id/);
  });
});

/** Records statements; refuses those whose params contain a value in `refuse` (as a constraint would). */
class FakeDriver implements SqlDriver {
  readonly dialect = postgresDialect;
  log: string[] = [];
  refuse = new Set<string>();
  down = false;
  inTransaction = false;
  constructor(readonly savepoints: boolean) {}
  async begin() {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    this.inTransaction = true;
    this.log.push('BEGIN');
  }
  async execute(sql: string, params: readonly unknown[]) {
    if (this.down) throw Object.assign(new Error('terminating connection'), { code: '57P01' });
    const bad = params.find((p) => this.refuse.has(String(p)));
    this.log.push(params.length > 0 ? `INSERT ${params.length / 2} rows${bad !== undefined ? ' (refused)' : ''}` : sql);
    if (bad !== undefined) throw Object.assign(new Error(`duplicate key ${String(bad)}`), { code: '23505' });
  }
  async commit() {
    this.inTransaction = false;
    this.log.push('COMMIT');
  }
  async rollback() {
    this.inTransaction = false;
    this.log.push('ROLLBACK');
  }
  isRecordError(err: unknown) {
    return isPostgresRecordError(err);
  }
  async reset() {
    this.log.push('RESET');
  }
  async close() {}
}

describe('SQL writer', () => {
  const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => record(insert('t', [['id', String(from + i), 'Int'], ['v', 'x', 'Text']])));

  it('one transaction of multi-row statements, at most 1000 rows each', async () => {
    const driver = new FakeDriver(true);
    const writer = new SqlWriter(driver, undefined);
    assert.deepEqual((await writer.write(rows(2500))).rejected, []);
    assert.deepEqual(driver.log, ['BEGIN', 'INSERT 1000 rows', 'INSERT 1000 rows', 'INSERT 500 rows', 'COMMIT']);
  });

  it('an upsert statement never holds one key twice', async () => {
    const driver = new FakeDriver(true);
    const writer = new SqlWriter(driver, undefined);
    const u = (id: string) => record(upsert('t', 'id', [['id', id, 'Int'], ['v', 'x', 'Text']]));
    await writer.write([u('1'), u('2'), u('+1'), u('3'), u('2'), u('3')]);
    assert.deepEqual(driver.log, ['BEGIN', 'INSERT 2 rows', 'INSERT 3 rows', 'INSERT 1 rows', 'COMMIT']);
  });

  it('refused rows are found by halving in savepoints; the rest commit in one transaction', async () => {
    const driver = new FakeDriver(true);
    const writer = new SqlWriter(driver, undefined);
    driver.refuse = new Set(['5', '6']);
    const batch = rows(8);
    const { rejected } = await writer.write(batch);
    assert.deepEqual(
      rejected.map((r) => batch.indexOf(r.record)),
      [5, 6],
    );
    assert.match(rejected[0].message, /^insert into t refused by postgres: duplicate key 5 \(23505\)$/);
    const slow = driver.log.slice(driver.log.indexOf('ROLLBACK') + 1);
    assert.equal(slow[0], 'BEGIN');
    assert.equal(slow.at(-1), 'COMMIT');
    assert.equal(slow.filter((l) => l === 'BEGIN').length, 1);
    const inserted = slow.filter((l) => l.startsWith('INSERT') && !l.includes('refused'));
    assert.equal(
      inserted.reduce((n, l) => n + Number(/INSERT (\d+)/.exec(l)![1]), 0),
      6,
    );
  });

  it('without savepoints each half is its own transaction', async () => {
    const driver = new FakeDriver(false);
    const writer = new SqlWriter(driver, undefined);
    driver.refuse = new Set(['3']);
    const batch = rows(4);
    const { rejected } = await writer.write(batch);
    assert.deepEqual(
      rejected.map((r) => batch.indexOf(r.record)),
      [3],
    );
    assert.deepEqual(driver.log, [
      'BEGIN',
      'INSERT 4 rows (refused)',
      'ROLLBACK',
      'BEGIN',
      'INSERT 4 rows (refused)',
      'ROLLBACK',
      'BEGIN',
      'INSERT 2 rows',
      'COMMIT',
      'BEGIN',
      'INSERT 2 rows (refused)',
      'ROLLBACK',
      'BEGIN',
      'INSERT 1 rows',
      'COMMIT',
      'BEGIN',
      'INSERT 1 rows (refused)',
      'ROLLBACK',
    ]);
  });

  it('a connection failure throws (after rollback and reset), with nothing rejected', async () => {
    const driver = new FakeDriver(true);
    const writer = new SqlWriter(driver, undefined);
    driver.down = true;
    await assert.rejects(writer.write(rows(3)), /ECONNREFUSED/);
    assert.deepEqual(driver.log, ['ROLLBACK', 'RESET']);
    driver.down = false;
    assert.deepEqual((await writer.write(rows(3))).rejected, []);
  });

  it('records that are not model JSON are rejected before the database sees them', async () => {
    const driver = new FakeDriver(true);
    const writer = new SqlWriter(driver, undefined);
    const { rejected } = await writer.write([record('nope'), record({ some: 'json' })]);
    assert.deepEqual(
      rejected.map((r) => r.message),
      ['the record value is not JSON (expected a SQL model record, as the json-sql transform writes)', 'not a SQL model record: expected {"Insert": {...}} or {"Upsert": {...}}, got keys "some"'],
    );
    assert.deepEqual(driver.log, []);
  });

  it('classifies database errors', () => {
    assert.equal(isPostgresRecordError({ code: '23505' }), true);
    assert.equal(isPostgresRecordError({ code: '22P02' }), true);
    assert.equal(isPostgresRecordError({ code: '42P01' }), true);
    assert.equal(isPostgresRecordError({ code: '57P01' }), false);
    assert.equal(isPostgresRecordError({ code: '08006' }), false);
    assert.equal(isPostgresRecordError(new Error('socket hang up')), false);
    assert.equal(isSqliteRecordError({ code: 'SQLITE_CONSTRAINT_UNIQUE' }), true);
    assert.equal(isSqliteRecordError({ code: 'SQLITE_BUSY' }), false);
    assert.equal(isSqliteRecordError({ code: 'SQLITE_IOERR_WRITE' }), false);
  });
});
