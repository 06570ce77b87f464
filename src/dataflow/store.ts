// Where dataflows run from the command line keep their state:
// `<root>/<name>/` with root = FRESHET_DATAFLOW_DIR or ~/.freshet/dataflows.
//
//   dataflow.yaml              the definition it was last run with
//   run.json                   pid, HTTP address, endpoint, state (running, stopped, failed)
//   run.lock                   held by the running process (one writer per state)
//   <service>/checkpoints/     see checkpoint.ts
//
// `freshet dataflow list|describe|stop|delete|query` read this.

import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

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

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'run.json');
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, JSON.stringify(info, null, 2) + '\n');
  await rename(temporary, file);
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
export async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'run.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new Error(`the dataflow state in ${dir} is in use by another process (pid ${owner}); stop it first (freshet dataflow stop)`, { cause: err });
      }
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot lock ${dir}`);
}
