// duckdb-sink against a real DuckDB database file (@duckdb/node-api):
// write() driven directly with SinkRecords.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { SinkRecord } from '../../src/connectors/connector.js';
import { createDuckDbWriter, duckdbSink, type DuckDbDriver } from '../../src/connectors/duckdb-sink/index.js';
import type { SqlWriter } from '../../src/connectors/sql-sink/writer.js';
import { removeDir, tempDir } from '../helpers/test-node.js';
import { insert, record, upsert } from '../helpers/sql-records.js';

describe('duckdb-sink', () => {
  let dir: string;
  let file: string;
  let writer: SqlWriter;
  const sql = async (text: string): Promise<Record<string, unknown>[]> => {
    const connection = await (writer.driver as DuckDbDriver).connect();
    const reader = await connection.runAndReadAll(text);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  };

  before(async () => {
    dir = await tempDir('freshet-duckdb-');
    file = path.join(dir, 'warehouse.duckdb');
    writer = await createDuckDbWriter(duckdbSink.parse({ url: file }));
  });
  after(async () => {
    await writer?.close();
    await removeDir(dir);
  });

  it('appends json-sql model records with types converted (NULL marker, RFC 3339 timestamps)', async () => {
    await sql(
      'CREATE TABLE events (id BIGINT, ok BOOLEAN, small SMALLINT, x DOUBLE, f REAL, name VARCHAR, bin BLOB, amount DECIMAL(12,4), ts TIMESTAMP, day DATE, tm TIME, u UUID, doc JSON)',
    );
    const { rejected } = await writer.write([
      record(
        insert('events', [
          ['id', '9223372036854775807', 'BigInt'],
          ['ok', 'true', 'Bool'],
          ['small', '-5', 'SmallInt'],
          ['x', '2.5', 'DoublePrecision'],
          ['f', '0.5', 'Float'],
          ['name', 'duck', 'Text'],
          ['bin', 'ab', 'Bytes'],
          ['amount', '123.4567', 'Numeric'],
          ['ts', '2023-03-03T18:30:18.679Z', 'Timestamp'],
          ['day', '2023-03-03', 'Date'],
          ['tm', '18:30:18', 'Time'],
          ['u', '550e8400-e29b-41d4-a716-446655440000', 'Uuid'],
          ['doc', '{"k":[1,2]}', 'Json'],
        ]),
      ),
      record(
        insert('events', [
          ['id', '2', 'BigInt'],
          ['name', 'NULL', 'Text'],
          ['ts', '2023-03-03 20:00:00+01:00', 'Timestamp'],
        ]),
      ),
    ]);
    assert.deepEqual(rejected, []);
    const rows = await sql(
      'SELECT CAST(id AS VARCHAR) AS id, ok, small, x, f, name, bin, CAST(amount AS VARCHAR) AS amount, CAST(ts AS VARCHAR) AS ts, CAST(day AS VARCHAR) AS day, CAST(tm AS VARCHAR) AS tm, CAST(u AS VARCHAR) AS u, CAST(doc AS VARCHAR) AS doc FROM events ORDER BY id DESC',
    );
    assert.equal(rows.length, 2);
    const [a, b] = [rows.find((r) => r.id !== '2')!, rows.find((r) => r.id === '2')!];
    assert.equal(a.id, '9223372036854775807');
    assert.equal(a.ok, true);
    assert.equal(a.small, -5);
    assert.equal(a.x, 2.5);
    assert.equal(a.f, 0.5);
    assert.equal(a.name, 'duck');
    assert.deepEqual(Buffer.from(a.bin as Uint8Array), Buffer.from('ab'));
    assert.equal(a.amount, '123.4567');
    assert.equal(a.ts, '2023-03-03 18:30:18.679');
    assert.equal(a.day, '2023-03-03');
    assert.equal(a.tm, '18:30:18');
    assert.equal(a.u, '550e8400-e29b-41d4-a716-446655440000');
    assert.deepEqual(JSON.parse(String(a.doc)), { k: [1, 2] });
    assert.equal(b.name, null);
    assert.equal(b.ts, '2023-03-03 19:00:00');
  });

  it('upserts on a primary key (Fluvio crashes on Upsert): replays leave one row each', async () => {
    await sql('CREATE TABLE latest (device VARCHAR PRIMARY KEY, reading INTEGER)');
    const batch = [
      record(upsert('latest', 'device', [['device', 'a', 'Text'], ['reading', '1', 'Int']])),
      record(upsert('latest', 'device', [['device', 'b', 'Text'], ['reading', '2', 'Int']])),
      record(upsert('latest', 'device', [['device', 'a', 'Text'], ['reading', '3', 'Int']])),
    ];
    assert.deepEqual((await writer.write(batch)).rejected, []);
    assert.deepEqual((await writer.write(batch)).rejected, []);
    const rows = await sql('SELECT device, reading FROM latest ORDER BY device');
    assert.deepEqual(rows, [
      { device: 'a', reading: 3 },
      { device: 'b', reading: 2 },
    ]);
  });

  it('batches inserts and rejects only the rows DuckDB refuses', async () => {
    await sql('CREATE TABLE facts (id INTEGER PRIMARY KEY, v VARCHAR NOT NULL)');
    const records: SinkRecord[] = [];
    for (let i = 0; i < 1500; i++) records.push(record(insert('facts', [['id', String(i), 'Int'], ['v', `v${i}`, 'Text']])));
    records.splice(700, 0, record(insert('facts', [['id', '5', 'Int'], ['v', 'duplicate', 'Text']])));
    records.splice(900, 0, record(insert('facts', [['id', '100000', 'Int'], ['v', 'NULL', 'Text']])));
    records.splice(1000, 0, record(insert('missing_table', [['id', '1', 'Int']])));
    records.splice(1100, 0, record('{"Upsert": {"table": "facts"}}'));
    const { rejected } = await writer.write(records);
    assert.deepEqual(
      rejected.map((r) => records.indexOf(r.record)),
      [700, 900, 1000, 1100],
    );
    assert.match(rejected[0].message, /duplicate key|PRIMARY KEY|Constraint/i);
    assert.match(rejected[1].message, /NOT NULL/i);
    assert.match(rejected[2].message, /missing_table/);
    assert.match(rejected[3].message, /values/);
    assert.deepEqual(await sql('SELECT count(*)::INTEGER AS c, max(id) AS m FROM facts'), [{ c: 1500, m: 1499 }]);
  });

  it('maps plain JSON records with the config mapping', async () => {
    const mapped = await createDuckDbWriter(
      duckdbSink.parse({
        url: path.join(dir, 'mapped.duckdb'),
        table: 'clicks',
        columns: { id: { value: { type: 'bigint', required: true } }, page: { 'json-key': 'meta.page', value: { type: 'text' } }, body: { 'json-key': '$', value: { type: 'json' } } },
      }),
    );
    try {
      const connection = await (mapped.driver as DuckDbDriver).connect();
      await connection.run('CREATE TABLE clicks (id BIGINT, page VARCHAR, body JSON)');
      const { rejected } = await mapped.write([record({ id: 1, meta: { page: '/a' } }), record({ meta: {} }), record({ id: 2 })]);
      assert.deepEqual(
        rejected.map((r) => r.message),
        ['Missing required field: id'],
      );
      const rows = (await connection.runAndReadAll('SELECT id, page, CAST(body AS VARCHAR) AS body FROM clicks ORDER BY id')).getRowObjectsJS();
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.page, JSON.parse(String(r.body))]),
        [
          [1, '/a', { id: 1, meta: { page: '/a' } }],
          [2, null, { id: 2 }],
        ],
      );
    } finally {
      await mapped.close();
    }
  });

  it('the data is in the file after close', async () => {
    await writer.close();
    const instance = await DuckDBInstance.create(file);
    try {
      const connection = await instance.connect();
      const rows = (await connection.runAndReadAll('SELECT count(*)::INTEGER AS c FROM facts')).getRowObjectsJS();
      assert.deepEqual(rows, [{ c: 1500 }]);
      connection.closeSync();
    } finally {
      instance.closeSync();
    }
    writer = await createDuckDbWriter(duckdbSink.parse({ url: file }));
  });

  it('parses its config', () => {
    assert.deepEqual(duckdbSink.parse({ url: 'local.db' }), { url: 'local.db' });
    assert.throws(() => duckdbSink.parse({}), /duckdb\.url/);
    assert.throws(() => duckdbSink.parse({ url: 'x.db', table: 'bad name' }), /duckdb\.table: "bad name" is not a table name/);
  });
});
