import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('../../fixtures/node/stop-on-signals.ts', import.meta.url));

/** Runs the fixture, sends the signals once it is ready, resolves with its exit code and stderr. */
function run(behaviour: string, signals: NodeJS.Signals[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, behaviour], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const [first, ...later] = signals;
    // A later signal goes once the first was handled (two pending signals of one kind merge into one).
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/received, stopping/.test(stderr)) for (const signal of later.splice(0)) child.kill(signal);
    });
    child.stdout.once('data', () => child.kill(first!));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

test('a clean stop exits 0', async () => {
  const { code, stderr } = await run('stops', ['SIGTERM']);
  assert.equal(code, 0);
  assert.match(stderr, /SIGTERM received, stopping the test part/);
});

test('a stop that never finishes exits 1 after the grace period, saying so', async () => {
  const { code, stderr } = await run('hangs', ['SIGINT']);
  assert.equal(code, 1);
  assert.match(stderr, /did not stop within 0\.3 s; exiting anyway/);
});

test('a second signal exits at once', async () => {
  const { code, stderr } = await run('hangs', ['SIGINT', 'SIGINT']);
  assert.equal(code, 1);
  assert.match(stderr, /SIGINT received again: exiting without waiting/);
});

test('a stop that fails exits 1 with the error', async () => {
  const { code, stderr } = await run('fails', ['SIGTERM']);
  assert.equal(code, 1);
  assert.match(stderr, /error while stopping the test part: disk gone/);
});
