import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('../../fixtures/node/loaded-at-start.ts', import.meta.url));

test('a started node has loaded none of the packages only some users need (codecs, SQL and MQTT clients, DuckDB, the AssemblyScript compiler, NATS)', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE], { timeout: 60_000 });
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), []);
});
