// Where dataflows run from the command line keep their state:
// `<root>/<name>/` with root = FRESHET_DATAFLOW_DIR or ~/.freshet/dataflows.
//
//   dataflow.yaml              the definition it was last run with
//   run.json                   pid, HTTP address, endpoint, state (running, stopped, failed)
//   run.lock                   held by the running process (one writer per state)
//   <service>/checkpoints/     see checkpoint.ts
//
// `freshet dataflow list|describe|stop|delete|query` read this.

import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acquirePidLock, processAlive, writeJsonAtomic } from '../common/index.js';

export function dataflowsRoot(): string {
  return process.env.FRESHET_DATAFLOW_DIR ?? path.join(os.homedir(), '.freshet', 'dataflows');
}

export interface RunInfo {
  name: string;
  pid: number;
  /** host:port of the HTTP endpoint. */
  http: string | null;
  endpoint: string;
  config: string;
  services: string[];
  state: 'running' | 'stopped' | 'failed';
  startedAt: string;
  stoppedAt?: string;
  lastError?: string;
}

export function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  return writeJsonAtomic(path.join(dir, 'run.json'), info);
}

export async function readRunInfo(dir: string): Promise<RunInfo | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as RunInfo;
  } catch {
    return undefined;
  }
}

export interface LocalDataflow {
  name: string;
  dir: string;
  run: RunInfo | undefined;
  /** The recorded process is alive (and so holds the state). */
  running: boolean;
}

export async function localDataflow(root: string, name: string): Promise<LocalDataflow | undefined> {
  const dir = path.join(root, name);
  const run = await readRunInfo(dir);
  const hasYaml = await readFile(path.join(dir, 'dataflow.yaml')).then(
    () => true,
    () => false,
  );
  if (!run && !hasYaml) return undefined;
  return { name, dir, run, running: run !== undefined && run.state === 'running' && processAlive(run.pid) };
}

export async function listLocalDataflows(root: string): Promise<LocalDataflow[]> {
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: LocalDataflow[] = [];
  for (const name of entries.sort()) {
    const found = await localDataflow(root, name);
    if (found) out.push(found);
  }
  return out;
}

/** One process per state dir: two writers would each checkpoint their own view. A lock of a dead process is taken over. */
export function lockStateDir(dir: string): Promise<() => Promise<void>> {
  return acquirePidLock(
    path.join(dir, 'run.lock'),
    (owner) => `the dataflow state in ${dir} is in use by another process (pid ${owner}); stop it first (freshet dataflow stop)`,
  );
}
