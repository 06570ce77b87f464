// sql-sink (and duckdb-sink) rows/s.
//
// 1. write() alone, as the runtime calls it: json-sql model records (5
//    columns: bigint, text, double, bool, timestamp) in batches of 500 (the
//    runtime's batch size), one after the other; each batch is one
//    transaction. Inserts of fresh keys, and upserts over 5,000 keys.
//    Postgres is Debian's, started with its durable defaults (fsync,
//    synchronous commit); SQLite and DuckDB are files with their defaults.
// 2. End to end through the connector runtime into Postgres: JSON records
//    already in a topic, read by the sink connector from the beginning and
//    written with the config mapping (no SmartModule), or mapped by the
//    json-sql transform on the SPU; timed from the connector's start to
//    the last row.
//
// Run alone: npx tsx bench/sql-sink.ts (starts its own node process).

import path from 'node:path';
import pino from 'pino';
import { Freshet } from '../src/client/index.js';
import type { SinkRecord } from '../src/connectors/connector.js';
import '../src/connectors/builtins.js';
import { parseConnectorConfig } from '../src/connectors/config.js';
import { createDuckDbWriter, duckdbSink, type DuckDbDriver } from '../src/connectors/duckdb-sink/index.js';
import { newStats, runConnector } from '../src/connectors/runtime.js';
import { createSqlWriter, sqlSink } from '../src/connectors/sql-sink/index.js';
import type { SqlWriter } from '../src/connectors/sql-sink/writer.js';
import { postgresUnavailable, startPostgres } from '../test/helpers/postgres.js';
import { removeDir, tempDir } from '../test/helpers/test-node.js';

const BATCH = 500;
const KEYS = 5000;

interface Row {
  name: string;
  rows: number;
  rowsPerSecond: number;
}

function model(kind: 'Insert' | 'Upsert', id: number, i: number): Buffer {
  const values = [
    { column: 'id', raw_value: String(id), type: 'BigInt' },
    { column: 'device', raw_value: `device-${id % 100}`, type: 'Text' },
    { column: 'temp', raw_value: String(20 + (i % 100) / 10), type: 'DoublePrecision' },
    { column: 'ok', raw_value: i % 7 === 0 ? 'false' : 'true', type: 'Bool' },
    { column: 'ts', raw_value: new Date(1_700_000_000_000 + i * 1000).toISOString().replace('T', ' ').replace('Z', ''), type: 'Timestamp' },
  ];
  const body = kind === 'Insert' ? { Insert: { table: 'readings', values } } : { Upsert: { table: 'readings', values, uniq_idx: 'id' } };
  return Buffer.from(JSON.stringify(body));
}

async function timeWrites(name: string, writer: SqlWriter, count: number, kind: 'Insert' | 'Upsert'): Promise<Row> {
  // Records are built up front: the figure is the sink's, not JSON.stringify's.
  const batches: SinkRecord[][] = [];
  for (let start = 0; start < count; start += BATCH) {
    const batch: SinkRecord[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      batch.push({ topic: 'bench', partition: 0, offset: i, timestamp: 0, key: null, value: model(kind, kind === 'Insert' ? i : i % KEYS, i) });
    }
    batches.push(batch);
  }
  const started = performance.now();
  for (const batch of batches) {
    const { rejected } = await writer.write(batch);
    if (rejected.length > 0) throw new Error(`${name}: ${rejected.length} rejected, first: ${rejected[0].message}`);
  }
  const seconds = (performance.now() - started) / 1000;
  return { name, rows: count, rowsPerSecond: count / seconds };
}

const DDL = 'CREATE TABLE readings (id BIGINT PRIMARY KEY, device TEXT, temp DOUBLE PRECISION, ok BOOLEAN, ts TIMESTAMP)';

async function pipeline(endpoint: string, pgUrl: string, execute: (sql: string) => Promise<void>, count: number, transform: boolean): Promise<Row> {
  const topic = transform ? 'bench-sql-jsonsql' : 'bench-sql-mapping';
  const client = await Freshet.connect({ endpoint });
  try {
    await client.admin.createTopic(topic).catch(() => {});
    const producer = await client.producer(topic, { lingerMs: 5 });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) sends.push(producer.send(null, JSON.stringify({ id: i, device: `device-${i % 100}`, temp: 20 + (i % 100) / 10, ok: i % 7 !== 0 })));
    await Promise.all(sends);
    await producer.flush();
  } finally {
    await client.close();
  }
  await execute('DROP TABLE IF EXISTS readings');
  await execute(DDL);
  const columns = `
        id: {json-key: id, value: {type: bigint, required: true}}
        device: {json-key: device, value: {type: text}}
        temp: {json-key: temp, value: {type: float8}}
        ok: {json-key: ok, value: {type: bool}}`;
  const yaml = `apiVersion: 0.1.0
meta:
  name: ${topic}
  type: sql-sink
  version: 0.5.0
  topic: ${topic}
  consumer:
    offset:
      strategy: manual
      start: beginning
sql:
  url: ${pgUrl}
${
  transform
    ? `transforms:
  - uses: infinyon/json-sql@0.2.1
    with:
      mapping:
        table: readings
        map-columns:${columns.replace(/\n {8}/g, '\n          ')}
`
    : `  table: readings
  map-columns:${columns.replace(/\n {8}/g, '\n    ')}
`
}`;
  const stateDir = await tempDir('freshet-bench-sql-');
  const controller = new AbortController();
  const stats = newStats();
  const started = performance.now();
  const run = runConnector(parseConnectorConfig(yaml), { endpoint, stateDir, log: pino({ level: 'silent' }), signal: controller.signal, stats });
  run.catch(() => {});
  try {
    while (stats.records + stats.deadLetters < count) {
      if (performance.now() - started > 300_000) throw new Error(`sql-sink pipeline: ${stats.records} of ${count} after 300 s`);
      const failed = await Promise.race([run.then(() => true, () => true), new Promise<false>((r) => setTimeout(() => r(false), 20))]);
      if (failed) throw new Error(`the sql-sink connector stopped: ${await run.catch((e: Error) => e.message)}`);
    }
    const seconds = (performance.now() - started) / 1000;
    if (stats.deadLetters > 0) throw new Error(`sql-sink pipeline: ${stats.deadLetters} dead letters`);
    return { name: `topic → sql-sink (${transform ? 'json-sql transform on the SPU' : 'config mapping'}) → Postgres`, rows: count, rowsPerSecond: count / seconds };
  } finally {
    controller.abort();
    await run.catch(() => {});
    await removeDir(stateDir);
  }
}

/** The benchmark section (markdown); `endpoint` is a running node for the end-to-end figures. */
export async function benchSqlSink(endpoint: string, scale = 1): Promise<string> {
  const count = 50_000 * scale;
  const results: Row[] = [];
  const notes: string[] = [];
  const dir = await tempDir('freshet-bench-sqlite-');
  try {
    // SQLite
    const sqlite = await createSqlWriter(sqlSink.parse({ url: `sqlite://${path.join(dir, 'bench.db')}` }), pino({ level: 'silent' }));
    try {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(path.join(dir, 'bench.db'));
      db.exec(DDL);
      db.close();
      results.push(await timeWrites('write() → SQLite, insert', sqlite, count, 'Insert'));
      results.push(await timeWrites('write() → SQLite, upsert (5,000 keys)', sqlite, count, 'Upsert'));
    } finally {
      await sqlite.close();
    }

    // DuckDB
    const duck = await createDuckDbWriter(duckdbSink.parse({ url: path.join(dir, 'bench.duckdb') }));
    try {
      await (await (duck.driver as DuckDbDriver).connect()).run(DDL);
      results.push(await timeWrites('write() → DuckDB, insert', duck, count, 'Insert'));
      results.push(await timeWrites('write() → DuckDB, upsert (5,000 keys)', duck, Math.min(count, 10_000 * scale), 'Upsert'));
    } finally {
      await duck.close();
    }

    // Postgres
    const unavailable = postgresUnavailable();
    if (unavailable) {
      notes.push(`Postgres skipped: ${unavailable}.`);
    } else {
      const server = await startPostgres({ durable: true });
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: server.url });
      admin.on('error', () => {});
      await admin.connect();
      const execute = async (sql: string) => void (await admin.query(sql));
      try {
        await execute(DDL);
        const writer = await createSqlWriter(sqlSink.parse({ url: server.url }), pino({ level: 'silent' }));
        try {
          results.push(await timeWrites('write() → Postgres, insert', writer, count, 'Insert'));
          results.push(await timeWrites('write() → Postgres, upsert (5,000 keys)', writer, count, 'Upsert'));
        } finally {
          await writer.close();
        }
        results.push(await pipeline(endpoint, server.url, execute, count, false));
        results.push(await pipeline(endpoint, server.url, execute, count, true));
      } finally {
        await admin.end().catch(() => {});
        await server.destroy();
      }
    }
  } finally {
    await removeDir(dir);
  }
  const rows = results.map((r) => `| ${r.name} | ${r.rows.toLocaleString('en-US')} | ${Math.round(r.rowsPerSecond).toLocaleString('en-US')} |`);
  return [
    '## SQL sinks (bench/sql-sink.ts)',
    '',
    `write(): batches of ${BATCH} json-sql model records (5 columns), one transaction each. Postgres with fsync and synchronous commit on.`,
    '',
    '| benchmark | rows | rows/s |',
    '|---|---:|---:|',
    ...rows,
    ...(notes.length > 0 ? ['', ...notes] : []),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const os = await import('node:os');
  const { startChildNode } = await import('../test/helpers/child-node.js');
  const dataDir = await tempDir('freshet-bench-');
  const node = await startChildNode(dataDir);
  try {
    const section = await benchSqlSink(node.endpoint, Number(process.env.BENCH_SCALE ?? 1));
    process.stdout.write(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n\n${section}`);
  } finally {
    node.process.kill('SIGTERM');
    await node.exited;
    await removeDir(dataDir);
  }
}
