// sql-sink against real databases: PostgreSQL (Debian's, started by the
// test) and SQLite (better-sqlite3). Each sink's write() is driven directly
// with SinkRecords, as the runtime would.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import pino from 'pino';
import pg from 'pg';
import { Freshet } from '../../src/client/index.js';
import Database from 'better-sqlite3';
import type { Sink, SinkRecord } from '../../src/connectors/connector.js';
import { sqlSink, type SqlSinkConfig } from '../../src/connectors/sql-sink/index.js';
import { parseSqliteUrl, SqliteDriver } from '../../src/connectors/sql-sink/sqlite.js';
import { SqlWriter } from '../../src/connectors/sql-sink/writer.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { insert, record, upsert, type Cell } from '../helpers/sql-records.js';
import { readRecords, startConnector, stateDirOf, waitFor } from '../helpers/connectors.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

const log = pino({ level: process.env.FRESHET_TEST_LOG ?? 'silent' });

async function openSink(section: Record<string, unknown>): Promise<Sink> {
  const config = sqlSink.parse(section);
  return sqlSink.createSink!({ config, name: 'sql-test', signal: new AbortController().signal, log });
}

interface Db {
  name: 'postgres' | 'sqlite';
  url: string;
  exec(sql: string): Promise<void>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
}

/** Per-backend DDL for the type-conversion table. */
const TYPES_DDL = {
  postgres:
    'CREATE TABLE types (id int PRIMARY KEY, b boolean, si smallint, i int, bi bigint, f real, d double precision, t text, bin bytea, n numeric, ts timestamp, dt date, tm time, u uuid, j jsonb)',
  sqlite:
    'CREATE TABLE types (id INTEGER PRIMARY KEY, b BOOLEAN, si SMALLINT, i INT, bi BIGINT, f REAL, d DOUBLE, t TEXT, bin BLOB, n NUMERIC, ts TIMESTAMP, dt DATE, tm TIME, u TEXT, j TEXT)',
};

const TYPES_SELECT = {
  postgres: 'SELECT id, b, si, i, bi::text AS bi, f, d, t, bin, n::text AS n, ts::text AS ts, dt::text AS dt, tm::text AS tm, u::text AS u, j::text AS j FROM types ORDER BY id',
  sqlite: 'SELECT id, b, si, i, CAST(bi AS TEXT) AS bi, f, d, t, bin, CAST(n AS TEXT) AS n, ts, dt, tm, u, j FROM types ORDER BY id',
};

function suite(db: () => Db) {
  it('inserts json-sql model records with every type converted', async () => {
    const d = db();
    await d.exec(TYPES_DDL[d.name]);
    const sink = await openSink({ url: d.url });
    try {
      const full: Cell[] = [
        ['id', '1', 'Int'],
        ['b', 'true', 'Bool'],
        ['si', '-32768', 'SmallInt'],
        ['i', '2147483647', 'Int'],
        ['bi', '9223372036854775807', 'BigInt'],
        ['f', '1.5', 'Float'],
        ['d', '2.25e3', 'DoublePrecision'],
        ['t', 'héllo "quoted" \'x\'', 'Text'],
        ['bin', 'bytes!', 'Bytes'],
        ['n', '12345.6789', 'Numeric'],
        ['ts', '2024-02-29 12:34:56.789', 'Timestamp'],
        ['dt', '2024-02-29', 'Date'],
        ['tm', '23:59:58.5', 'Time'],
        ['u', '550E8400-E29B-41D4-A716-446655440000', 'Uuid'],
        ['j', '{"a":[1,2]}', 'Json'],
      ];
      // json-sql's "" (missing optional) and "null" (JSON null) are NULL for non-text types; RFC 3339 → UTC.
      const nulls: Cell[] = [
        ['id', '2', 'Int'],
        ['b', 'null', 'Bool'],
        ['i', '', 'Int'],
        ['t', '', 'Text'],
        ['ts', '2024-03-01T10:00:00+02:00', 'Timestamp'],
        ['j', '', 'Json'],
      ];
      const result = await sink.write([record(insert('types', full)), record(insert('types', nulls))]);
      assert.deepEqual(result.rejected, []);
      const rows = await d.rows(TYPES_SELECT[d.name]);
      assert.equal(rows.length, 2);
      const [r1, r2] = rows;
      assert.equal(Boolean(r1.b), true);
      assert.equal(Number(r1.si), -32768);
      assert.equal(Number(r1.i), 2147483647);
      assert.equal(r1.bi, '9223372036854775807');
      assert.equal(Number(r1.f), 1.5);
      assert.equal(Number(r1.d), 2250);
      assert.equal(r1.t, 'héllo "quoted" \'x\'');
      assert.deepEqual(Buffer.from(r1.bin as Uint8Array), Buffer.from('bytes!'));
      assert.equal(r1.n, d.name === 'postgres' ? '12345.6789' : '12345.6789');
      assert.equal(r1.ts, d.name === 'postgres' ? '2024-02-29 12:34:56.789' : '2024-02-29 12:34:56.789');
      assert.equal(r1.dt, '2024-02-29');
      assert.equal(r1.tm, d.name === 'postgres' ? '23:59:58.5' : '23:59:58.5');
      assert.equal(r1.u, '550e8400-e29b-41d4-a716-446655440000');
      assert.deepEqual(JSON.parse(String(r1.j)), { a: [1, 2] });
      assert.equal(r2.b, null);
      assert.equal(r2.i, null);
      assert.equal(r2.t, '');
      assert.equal(r2.ts, '2024-03-01 08:00:00');
      assert.equal(r2.j, null);
    } finally {
      await sink.close();
    }
  });

  it('upserts on a key: writing the same records twice leaves one row each (and later records win)', async () => {
    const d = db();
    await d.exec('CREATE TABLE state (id int PRIMARY KEY, v text, n int)');
    await d.exec('CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b))');
    const sink = await openSink({ url: d.url });
    try {
      const batch = Array.from({ length: 50 }, (_, i) =>
        record(
          upsert('state', 'id', [
            ['id', String(i), 'Int'],
            ['v', 'a', 'Text'],
            ['n', String(i * 10), 'Int'],
          ]),
        ),
      );
      assert.deepEqual((await sink.write(batch)).rejected, []);
      // The runtime replays a batch it could not commit: same state.
      assert.deepEqual((await sink.write(batch)).rejected, []);
      assert.deepEqual(await d.rows('SELECT count(*) AS c FROM state').then((r) => Number(r[0].c)), 50);
      // The same key several times in one batch: the last one wins.
      const again = [
        record(upsert('state', 'id', [['id', '1', 'Int'], ['v', 'c', 'Text'], ['n', '1', 'Int']])),
        record(upsert('state', 'id', [['id', '2', 'Int'], ['v', 'c', 'Text'], ['n', '2', 'Int']])),
        record(upsert('state', 'id', [['id', '1', 'Int'], ['v', 'd', 'Text'], ['n', '3', 'Int']])),
        record(upsert('state', 'id', [['id', '+1', 'Int'], ['v', 'e', 'Text'], ['n', '4', 'Int']])),
        record(upsert('state', 'id', [['id', '999', 'Int'], ['v', 'new', 'Text'], ['n', '5', 'Int']])),
      ];
      assert.deepEqual((await sink.write(again)).rejected, []);
      const rows = await d.rows('SELECT id, v, n FROM state WHERE id IN (1, 2, 3, 999) ORDER BY id');
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.v, Number(r.n)]),
        [
          [1, 'e', 4],
          [2, 'c', 2],
          [3, 'a', 30],
          [999, 'new', 5],
        ],
      );
      assert.equal(await d.rows('SELECT count(*) AS c FROM state').then((r) => Number(r[0].c)), 51);
      // A composite key (uniq_idx "a,b").
      const pairs = [
        record(upsert('pairs', 'a,b', [['a', '1', 'Int'], ['b', 'x', 'Text'], ['v', '1', 'Int']])),
        record(upsert('pairs', 'a, b', [['a', '1', 'Int'], ['b', 'y', 'Text'], ['v', '2', 'Int']])),
        record(upsert('pairs', 'a,b', [['a', '1', 'Int'], ['b', 'x', 'Text'], ['v', '3', 'Int']])),
      ];
      assert.deepEqual((await sink.write(pairs)).rejected, []);
      assert.deepEqual((await sink.write(pairs)).rejected, []);
      const pairRows = await d.rows('SELECT a, b, v FROM pairs ORDER BY a, b');
      assert.deepEqual(
        pairRows.map((r) => [Number(r.a), r.b, Number(r.v)]),
        [
          [1, 'x', 3],
          [1, 'y', 2],
        ],
      );
    } finally {
      await sink.close();
    }
  });

  it('batches inserts: thousands of records in one write, several tables interleaved', async () => {
    const d = db();
    await d.exec('CREATE TABLE bulk (id int PRIMARY KEY, payload text)');
    await d.exec('CREATE TABLE side (id int PRIMARY KEY)');
    const sink = await openSink({ url: d.url });
    try {
      const records: SinkRecord[] = [];
      for (let i = 0; i < 2500; i++) {
        records.push(record(insert('bulk', [['id', String(i), 'Int'], ['payload', `row ${i}`, 'Text']])));
        if (i % 100 === 0) records.push(record(insert('side', [['id', String(i), 'Int']])));
      }
      const started = performance.now();
      assert.deepEqual((await sink.write(records)).rejected, []);
      const ms = performance.now() - started;
      assert.equal(await d.rows('SELECT count(*) AS c FROM bulk').then((r) => Number(r[0].c)), 2500);
      assert.equal(await d.rows('SELECT count(*) AS c FROM side').then((r) => Number(r[0].c)), 25);
      assert.equal(await d.rows("SELECT payload FROM bulk WHERE id = 2499").then((r) => r[0].payload), 'row 2499');
      assert.ok(ms < 10_000, `2525 rows took ${ms} ms`);
    } finally {
      await sink.close();
    }
  });

  it('rejects the records the database refuses and stores the rest', async () => {
    const d = db();
    await d.exec('CREATE TABLE strict_items (id int PRIMARY KEY, name text NOT NULL, qty int CHECK (qty >= 0))');
    await d.exec("INSERT INTO strict_items (id, name, qty) VALUES (1000, 'existing', 1)");
    const sink = await openSink({ url: d.url });
    try {
      const good = (id: number) => record(insert('strict_items', [['id', String(id), 'Int'], ['name', `n${id}`, 'Text'], ['qty', '1', 'Int']]));
      const batch = [
        good(1),
        good(2),
        record(insert('strict_items', [['id', '1000', 'Int'], ['name', 'dup', 'Text'], ['qty', '1', 'Int']])), // duplicate key (already stored)
        good(3),
        record(insert('strict_items', [['id', '4', 'Int'], ['name', 'neg', 'Text'], ['qty', '-1', 'Int']])), // check
        record(insert('strict_items', [['id', '5', 'Int'], ['qty', '1', 'Int']])), // not null
        record(insert('strict_items', [['id', '1', 'Int'], ['name', 'dup in batch', 'Text'], ['qty', '1', 'Int']])), // duplicate of good(1)
        record(insert('no_such_table', [['id', '1', 'Int']])),
        record('not json at all'),
        record({ Insert: { table: 'strict_items', values: [{ column: 'id', raw_value: '7', type: 'Weird' }] } }),
        record(insert('strict_items', [['id', '12x', 'Int'], ['name', 'bad int', 'Text']])),
        record(insert('strict_items; DROP TABLE strict_items', [['id', '8', 'Int']])),
        good(6),
      ];
      const { rejected } = await sink.write(batch);
      const rejectedOffsets = rejected.map((r) => r.record.offset - batch[0].offset);
      assert.deepEqual(rejectedOffsets, [2, 4, 5, 6, 7, 8, 9, 10, 11]);
      for (const r of rejected) assert.ok(r.message.length > 0);
      assert.match(rejected[0].message, /strict_items.*(duplicate|UNIQUE)/i);
      assert.match(rejected[4].message, /no_such_table/);
      assert.match(rejected[5].message, /not JSON/);
      assert.match(rejected[6].message, /Weird/);
      assert.match(rejected[7].message, /column id.*"12x".*integer/);
      assert.match(rejected[8].message, /not a table name/);
      const rows = await d.rows('SELECT id, name FROM strict_items ORDER BY id');
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.name]),
        [
          [1, 'n1'],
          [2, 'n2'],
          [3, 'n3'],
          [6, 'n6'],
          [1000, 'existing'],
        ],
      );
    } finally {
      await sink.close();
    }
  });

  it('maps plain JSON records with the config mapping (table, map-columns, upsert-key)', async () => {
    const d = db();
    await d.exec('CREATE TABLE readings (sensor_id int PRIMARY KEY, temp double precision, note text, site text, raw text)');
    const sink = await openSink({
      url: d.url,
      table: 'readings',
      'upsert-key': 'sensor_id',
      'map-columns': {
        sensor_id: { 'json-key': 'payload.sensor.id', value: { type: 'int', required: true } },
        temp: { 'json-key': '$.payload.temp', value: { type: 'float8', default: 0 } },
        note: { 'json-key': 'payload.note', value: { type: 'text' } },
        site: { 'json-key': 'payload.sites.1', value: { type: 'text' } },
        raw: { 'json-key': '$', value: { type: 'text' } },
      },
    });
    try {
      const a = { payload: { sensor: { id: 7 }, temp: 21.5, sites: ['x', 'y'] } };
      const b = { payload: { sensor: { id: 8 }, note: null } };
      const c = { payload: { sensor: { id: 7 }, temp: 22, note: 'later' } };
      const missing = { payload: {} };
      const { rejected } = await sink.write([record(a), record(b), record('[1,'), record(missing), record(c)]);
      assert.deepEqual(
        rejected.map((r) => r.message),
        ['the record value is not JSON', 'Missing required field: payload.sensor.id'],
      );
      const rows = await d.rows('SELECT sensor_id, temp, note, site, raw FROM readings ORDER BY sensor_id');
      assert.deepEqual(
        rows.map((r) => [Number(r.sensor_id), Number(r.temp), r.note, r.site]),
        [
          [7, 22, 'later', null],
          [8, 0, null, null],
        ],
      );
      assert.deepEqual(JSON.parse(String(rows[0].raw)), c);
      // A json-sql model record still works next to the mapping.
      assert.deepEqual((await sink.write([record(upsert('readings', 'sensor_id', [['sensor_id', '9', 'Int']]))])).rejected, []);
      assert.equal(await d.rows('SELECT count(*) AS c FROM readings').then((r) => Number(r[0].c)), 3);
    } finally {
      await sink.close();
    }
  });
}

describe('sql-sink: PostgreSQL', () => {
  let server: TestPostgres;
  let admin: pg.Client;
  let dbIndex = 0;
  let current: Db;

  before(async () => {
    server = await startPostgres();
    admin = new pg.Client({ connectionString: server.url });
    admin.on('error', () => {});
    await admin.connect();
  });
  after(async () => {
    await admin?.end().catch(() => {});
    await server?.destroy();
  });

  // A fresh database (per describe).
  const fresh = async (): Promise<Db> => {
    const name = `t${++dbIndex}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = server.url.replace(/\/postgres$/, `/${name}`);
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    cleanups.push(() => client.end());
    return {
      name: 'postgres',
      url,
      exec: async (sql) => void (await client.query(sql)),
      rows: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
    };
  };
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c().catch(() => {});
  });

  describe('write()', () => {
    before(async () => {
      current = await fresh();
    });
    suite(() => current);
  });

  it('end to end through the runtime: JSON records → json-sql (upsert) on the SPU → sql-sink → rows; a refused record → dead-letter topic', async () => {
    const d = await fresh();
    await d.exec('CREATE TABLE device_state (device_id int PRIMARY KEY CHECK (device_id > 0), status text, doc jsonb)');
    const node = await startTestNode();
    const client = await Freshet.connect({ endpoint: node.endpoint });
    try {
      await client.admin.createTopic('device-events');
      const producer = await client.producer('device-events');
      const events = [
        { device: { id: 1, status: 'on' } },
        { device: { id: 2, status: 'off' } },
        { device: { id: 1, status: 'idle' } },
        { device: { id: -1, status: 'bogus' } },
        { device: { id: 3 } },
        { device: { id: 2, status: 'on' } },
      ];
      for (const e of events) await producer.send(null, JSON.stringify(e));
      await producer.flush();
      const sink = startConnector(
        `apiVersion: 0.1.0
meta:
  name: pg-state
  type: sql-sink
  version: 0.5.0
  topic: device-events
  consumer:
    offset:
      strategy: manual
      start: beginning
sql:
  url:
    secret:
      name: PG_URL
transforms:
  - uses: infinyon/json-sql@0.2.1
    with:
      mapping:
        table: device_state
        operation: upsert
        unique-columns: [device_id]
        map-columns:
          device_id:
            json-key: device.id
            value: {type: int, required: true}
          status:
            json-key: device.status
            value: {type: text, default: unknown}
          doc:
            json-key: "$"
            value: {type: jsonb}
`,
        { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir), secrets: { PG_URL: d.url } },
      );
      try {
        const dead = (await readRecords(node.endpoint, 'pg-state-dlq', 1, 30_000))[0].json<{ error: string; value: string; source: { offset: number } }>();
        assert.match(dead.error, /device_state.*check constraint/);
        assert.equal(dead.source.offset, 3);
        await waitFor('every record written', () => (sink.stats.records + sink.stats.deadLetters >= events.length ? true : undefined), 30_000);
        const rows = await d.rows('SELECT device_id, status, doc FROM device_state ORDER BY device_id');
        assert.deepEqual(
          rows.map((r) => [r.device_id, r.status]),
          [
            [1, 'idle'],
            [2, 'on'],
            [3, 'unknown'],
          ],
        );
        assert.deepEqual(rows[2].doc, { device: { id: 3 } });
      } finally {
        await sink.stop();
      }
    } finally {
      await client.close();
      await node.stop();
      await removeDir(node.dataDir);
    }
  });

  it('a server that goes away makes write() throw; once it is back the same write succeeds', async () => {
    const d = await fresh();
    await d.exec('CREATE TABLE events (id int PRIMARY KEY, v text)');
    await admin.end();
    for (const c of cleanups.splice(0)) await c().catch(() => {});
    const sink = await openSink({ url: d.url });
    try {
      const batch = (from: number) => Array.from({ length: 10 }, (_, i) => record(upsert('events', 'id', [['id', String(from + i), 'Int'], ['v', 'x', 'Text']])));
      assert.deepEqual((await sink.write(batch(0))).rejected, []);
      await server.stop();
      await assert.rejects(sink.write(batch(10)));
      await assert.rejects(sink.write(batch(10)));
      await server.start();
      assert.deepEqual((await sink.write(batch(10))).rejected, []);
      const client = new pg.Client({ connectionString: d.url });
      await client.connect();
      const { rows } = await client.query('SELECT count(*)::int AS c FROM events');
      await client.end();
      assert.equal(rows[0].c, 20);
    } finally {
      await sink.close();
    }
  });
});

describe('sql-sink: SQLite', () => {
  let dir: string;
  let current: Db;
  const opened: Database.Database[] = [];
  before(async () => {
    dir = await tempDir('freshet-sqlite-');
    const file = path.join(dir, 'suite.db');
    const conn = new Database(file);
    opened.push(conn);
    current = {
      name: 'sqlite',
      url: `sqlite://${file}`,
      exec: async (sql) => void conn.exec(sql),
      rows: async (sql) => conn.prepare(sql).all() as Record<string, unknown>[],
    };
  });
  after(async () => {
    for (const c of opened) c.close();
    await removeDir(dir);
  });

  describe('write()', () => suite(() => current));

  it('parses sqlx-style URLs', () => {
    assert.deepEqual(parseSqliteUrl('sqlite://data/x.db'), { file: 'data/x.db', readonly: false, mustExist: false });
    assert.deepEqual(parseSqliteUrl('sqlite:///tmp/x.db?mode=rw'), { file: '/tmp/x.db', readonly: false, mustExist: true });
    assert.deepEqual(parseSqliteUrl('sqlite:x.db?mode=ro'), { file: 'x.db', readonly: true, mustExist: true });
    assert.deepEqual(parseSqliteUrl('sqlite::memory:'), { file: ':memory:', readonly: false, mustExist: false });
    const config: SqlSinkConfig = sqlSink.parse({ url: 'sqlite://a.db', 'backoff-max': '30s' });
    assert.equal(config.backend, 'sqlite');
    assert.equal(config.backoffMaxMs, 30_000);
    assert.throws(() => sqlSink.parse({ url: 'mysql://x/y' }), /sql\.url: unsupported database backend/);
    assert.throws(() => sqlSink.parse({}), /sql\.url/);
    assert.throws(() => sqlSink.parse({ url: 'sqlite::memory:', table: 'x' }), /sql\.map-columns: required/);
    assert.throws(() => sqlSink.parse({ url: 'sqlite::memory:', table: 'x', operation: 'upsert', columns: { a: { value: { type: 'int' } } } }), /unique-columns/);
    assert.throws(() => sqlSink.parse({ url: 'sqlite::memory:', table: 'x', columns: { a: { value: { type: 'varchar' } } } }), /sql\.columns\.a\.value\.type/);
  });

  it('a locked database makes write() throw; once released the same write succeeds', async () => {
    const file = path.join(dir, 'locked.db');
    const other = new Database(file);
    opened.push(other);
    other.exec('CREATE TABLE events (id int PRIMARY KEY)');
    const writer = new SqlWriter(new SqliteDriver(Database, parseSqliteUrl(`sqlite://${file}`), 50), undefined);
    try {
      const batch = [record(insert('events', [['id', '1', 'Int']])), record(insert('events', [['id', '2', 'Int']]))];
      other.exec('BEGIN EXCLUSIVE');
      await assert.rejects(writer.write(batch), /locked|busy/i);
      other.exec('ROLLBACK');
      assert.deepEqual((await writer.write(batch)).rejected, []);
      assert.equal((other.prepare('SELECT count(*) AS c FROM events').get() as { c: number }).c, 2);
    } finally {
      await writer.close();
    }
  });
});
