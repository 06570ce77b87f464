// SQL over a service's state in DuckDB: the tables hold what the engine
// holds (window results with series, open windows, latest correlations);
// only one SELECT runs, without file access; errors carry DuckDB's message
// and the table names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count, dataflow, last, tumbling } from '../../../src/dataflow/builder.js';
import { ServiceEngine } from '../../../src/dataflow/engine.js';
import { queryState, SqlQueryError } from '../../../src/dataflow/sql.js';

function engine(): ServiceEngine {
  const spec = dataflow('q')
    .source('in')
    .assignTimestamp('$.ts')
    .assignKey('$.k')
    .group('$.g')
    .window(tumbling(10))
    .aggregate({ n: count(), 'last-price': last('$.p') })
    .series({ of: 'n', delta: true })
    .correlate({ x: 'n', windows: 3, withinGroups: true })
    .build();
  const e = new ServiceEngine('q', spec.services[0], { now: () => 0 });
  e.registerInput('in', 0);
  let offset = 0;
  // a: 1, 2, 3 events; b: 2, 0 (filled), 1; c (other group): 1 in step 0 only; then one open event of a at 31.
  const events = [
    ['a', 'G', 1], ['b', 'G', 2], ['b', 'G', 3], ['c', 'H', 4],
    ['a', 'G', 11], ['a', 'G', 12],
    ['a', 'G', 21], ['a', 'G', 22], ['a', 'G', 23], ['b', 'G', 24],
    ['a', 'G', 31],
  ] as const;
  for (const [k, g, ts] of events) e.process({ topic: 'in', partition: 0, offset: offset++, timestamp: 0, key: null, value: JSON.stringify({ k, g, ts, p: ts * 2 }) });
  e.takeOutputs();
  return e;
}

describe('dataflow SQL (DuckDB)', () => {
  it('windows, open_windows and correlations as tables with every value as a column', async () => {
    const e = engine();
    const w = await queryState(e, 'SELECT key, "group", window_start, filled, n, "last-price", n_delta FROM windows ORDER BY key, window_start');
    assert.deepEqual(w.columns, ['key', 'group', 'window_start', 'filled', 'n', 'last-price', 'n_delta']);
    assert.deepEqual(w.rows, [
      ['a', 'G', 0, false, 1, 2, null],
      ['a', 'G', 10, false, 2, 24, 1],
      ['a', 'G', 20, false, 3, 46, 1],
      ['b', 'G', 0, false, 2, 6, null],
      ['b', 'G', 10, true, 0, 6, -2],
      ['b', 'G', 20, false, 1, 48, 1],
      ['c', 'H', 0, false, 1, 8, null],
      ['c', 'H', 10, true, 0, 8, -1],
      ['c', 'H', 20, true, 0, 8, 0],
    ]);
    const sums = await queryState(e, 'SELECT "group", sum(n) AS total FROM windows GROUP BY 1 ORDER BY 1');
    assert.deepEqual(sums.rows, [['G', 9], ['H', 1]]);
    const open = await queryState(e, 'SELECT key, window_start, n FROM open_windows');
    assert.deepEqual(open.rows, [['a', 30, 1]]);
    // a: 1, 2, 3; b: 2, 0, 1 over steps 0–20 → r = −0.5 (a rises by 1; b's deviations 1, −1, 0)
    const corr = await queryState(e, 'SELECT name, "group", a, b, n, round(r, 12), round(p, 12) FROM correlations');
    assert.deepEqual(corr.rows, [['n', 'G', 'a', 'b', 3, -0.5, 0.666666666667]]);
    assert.deepEqual(Object.keys(corr.tables), ['windows', 'open_windows', 'correlations']);
  });

  it('read-only: one SELECT only, no file access; errors carry DuckDB\'s message and the tables', async () => {
    const e = engine();
    const refused = async (sql: string, pattern: RegExp) => {
      await assert.rejects(queryState(e, sql), (err: unknown) => {
        assert.ok(err instanceof SqlQueryError);
        assert.match(err.message, pattern);
        assert.deepEqual(err.tables.windows.slice(0, 5), ['key', 'group', 'window_start', 'window_end', 'filled']);
        return true;
      });
    };
    await refused('SELECT nope FROM windows', /Referenced column "nope" not found/);
    await refused('SELECT * FROM missing_table', /Table with name missing_table does not exist/);
    await refused('DELETE FROM windows', /only SELECT statements are allowed/);
    await refused('SELECT 1; SELECT 2', /expected one SELECT statement, got 2/);
    await refused("SELECT * FROM read_csv('/etc/passwd')", /disabled|external access/i);
    await refused("SET enable_external_access = true", /only SELECT statements are allowed/);
  });

  it('at most maxRows rows come back, marked truncated', async () => {
    const result = await queryState(engine(), 'SELECT * FROM range(100)', 10);
    assert.equal(result.rows.length, 10);
    assert.equal(result.truncated, true);
  });
});
