// A node on this machine, found through its data dir: `cluster start` writes
// its pid in <dataDir>/freshet.lock (src/server/data-dir-lock.ts) and removes
// it when it stops. Used by `cluster status|shutdown|delete` and by
// `cluster start --daemon`.

import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataDirLockOwner, LOCK_FILE } from '../server/data-dir-lock.js';
import { CliError } from './output/errors.js';
import { PACKAGE_ROOT } from './package-root.js';

export const LOG_FILE = 'freshet.log';
/** What a data dir holds; `cluster delete` refuses a directory with anything else in it. */
const DATA_DIR_ENTRIES = new Set([LOCK_FILE, LOG_FILE, 'metadata', 'partitions', 'connectors', 'dataflows', 'console.json']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid of the node holding the data dir, if one runs. */
export const runningNodePid = dataDirLockOwner;

/** On Linux: is `pid` a freshet process (and not an unrelated one that reused the pid of a killed node)? Elsewhere: assumed. */
async function looksLikeFreshet(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return cmdline === undefined || /freshet|cluster\0start/.test(cmdline);
}

/** SIGTERM to the node of `dataDir`, then waits until it released the data dir. Returns its pid, or undefined if none ran. */
export async function stopLocalNode(dataDir: string, timeoutMs: number): Promise<number | undefined> {
  const pid = await runningNodePid(dataDir);
  if (pid === undefined) return undefined;
  if (!(await looksLikeFreshet(pid))) {
    throw new CliError(
      `pid ${pid} holds ${path.join(dataDir, LOCK_FILE)} but is not a freshet process`,
      undefined,
      'the lock is stale: a node was killed and its pid reused; remove the lock file if no node uses this data dir',
    );
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await runningNodePid(dataDir)) === undefined) return pid;
    await sleep(100);
  }
  throw new CliError(`the node (pid ${pid}) did not stop within ${timeoutMs / 1000} s`, undefined, `see ${path.join(dataDir, LOG_FILE)}; \`kill -9 ${pid}\` stops it without flushing`);
}

/** Checks that `dataDir` holds only what a node writes there (so deleting it deletes nothing else). */
export async function checkDataDir(dataDir: string): Promise<'missing' | 'ok'> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  const foreign = entries.filter((entry) => !DATA_DIR_ENTRIES.has(entry));
  if (foreign.length > 0) {
    throw new CliError(
      `${dataDir} does not look like a Freshet data dir (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''})`,
      undefined,
      'nothing was deleted; check the path, or remove the directory yourself',
    );
  }
  return 'ok';
}

const BIN = path.join(PACKAGE_ROOT, 'bin', 'freshet.js');

export interface DaemonStarted {
  pid: number;
  endpoint: string;
  spu: string;
  /** The console's URL, when the node runs one. */
  console?: string;
  log: string;
}

/**
 * Runs `freshet cluster start ARGS` detached, logging to <dataDir>/freshet.log,
 * and waits until it says it is running (or fails, with the log's tail).
 */
export async function startDaemon(dataDir: string, args: string[], timeoutMs = 30_000): Promise<DaemonStarted> {
  await mkdir(dataDir, { recursive: true });
  const log = path.join(dataDir, LOG_FILE);
  const handle = await open(log, 'a');
  const { size: from } = await handle.stat();
  const child = spawn(process.execPath, [BIN, 'cluster', 'start', ...args], { detached: true, stdio: ['ignore', handle.fd, handle.fd] });
  await handle.close();
  let exited: number | string | undefined;
  child.once('exit', (code, signal) => (exited = code ?? signal ?? 'unknown'));
  child.unref();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await readFile(log)).subarray(from).toString('utf8');
    const sc = /SC {2}\(connect here\): (\S+)/.exec(text);
    const spu = /SPU: (\S+)/.exec(text);
    const consoleUrl = /console: (\S+)/.exec(text);
    if (sc && spu && child.pid !== undefined) return { pid: child.pid, endpoint: sc[1], spu: spu[1], ...(consoleUrl ? { console: consoleUrl[1] } : {}), log };
    if (exited !== undefined || Date.now() > deadline) {
      const tail = text.trim().split('\n').slice(-5).join('\n');
      throw new CliError(
        exited !== undefined ? `the node exited (${exited}) before it started:\n${tail}` : `the node did not start within ${timeoutMs / 1000} s`,
        undefined,
        `see ${log}`,
      );
    }
    await sleep(100);
  }
}
