// Runs the `freshet` CLI (bin/freshet.js) as a subprocess, as users do, and
// collects its exit status, stdout and stderr.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freshetBin, repoRoot } from './child-node.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed (default: stdin closed at once). */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Make process.stdout / process.stderr claim to be terminals (test/helpers/fake-tty.mjs). */
  fakeTty?: ('stdout' | 'stderr')[];
  timeoutMs?: number;
}

const FAKE_TTY = path.join(repoRoot, 'test', 'helpers', 'fake-tty.mjs');

/** The environment the CLI sees: no endpoint, profile file or colour settings from the caller's. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['FRESHET_ENDPOINT', 'FRESHET_PROFILE', 'FRESHET_PROFILE_PATH', 'FRESHET_DATA_DIR', 'NO_COLOR', 'FORCE_COLOR', 'NODE_TEST_CONTEXT']) {
    delete env[name];
  }
  return { ...env, ...extra };
}

/** Starts the CLI; the caller talks to the child and awaits `result`. */
export function spawnCli(args: string[], options: CliOptions = {}): { child: ChildProcess; result: Promise<CliResult> } {
  const nodeArgs = options.fakeTty ? ['--import', FAKE_TTY] : [];
  const env = cliEnv({ ...options.env, ...(options.fakeTty ? { FRESHET_FAKE_TTY: options.fakeTty.join(',') } : {}) });
  const child = spawn(process.execPath, [...nodeArgs, freshetBin, ...args], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (data: string) => (stdout += data));
  child.stderr!.setEncoding('utf8').on('data', (data: string) => (stderr += data));
  child.stdin!.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, result };
}

/** Runs `freshet ARGS` to its end. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const { child, result } = spawnCli(args, options);
  child.stdin!.end(options.input ?? '');
  return result;
}

/** True if the text has an ANSI escape sequence (colour). */
export const hasAnsi = (text: string) => text.includes('\x1b[');

/** The lines of a text, without the empty one after a final newline. */
export function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}
