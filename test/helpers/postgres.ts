// A throwaway PostgreSQL server for tests: Debian's postgresql package
// (.ci/run installs it), initdb into a temp dir, listening on a free
// 127.0.0.1 port with trust auth. PostgreSQL refuses to run as root, so as
// root the server runs as the `postgres` user the package creates.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dataDir: string;
  /** Fast shutdown; resolves once the server exited. */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port (after stop). */
  start(): Promise<void>;
  /** Stops it and removes the data dir. */
  destroy(): Promise<void>;
}

/** The bin dir of the newest installed PostgreSQL (`/usr/lib/postgresql/<v>/bin`), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], 'bin') : undefined;
}

/** Why Postgres cannot be started here (the tests need it: .ci/run installs it), or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (!postgresBinDir()) return 'PostgreSQL is not installed (apt-get install -y postgresql; .ci/run does it)';
  if (process.getuid?.() === 0 && !runAs()) return 'running as root without a postgres user';
  return undefined;
}

/** uid/gid to run the server as when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, timeoutMs: number, exited?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = exited?.();
    if (failure) throw new Error(failure);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PostgresOptions {
  /** fsync and synchronous commit on, as a real server runs (benchmarks); tests run without. */
  durable?: boolean;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const unavailable = postgresUnavailable();
  if (unavailable) throw new Error(unavailable);
  const bin = postgresBinDir()!;
  const user = runAs();
  const base = await mkdtemp(path.join(os.tmpdir(), 'freshet-pg-'));
  const dataDir = path.join(base, 'data');
  if (user) chownSync(base, user.uid, user.gid);
  const spawnOptions = { cwd: base, ...(user ?? {}), env: { ...process.env, LC_ALL: 'C', LANG: 'C' } };

  const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions'], {
    ...spawnOptions,
    encoding: 'utf8',
  });
  if (init.status !== 0) {
    await rm(base, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const start = async (): Promise<void> => {
    log = '';
    let exitInfo: string | undefined;
    // fsync off for tests: they need a real server, not durability across power loss.
    const durability = options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
    const proc = spawn(path.join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', base, ...durability, '-c', 'max_connections=50'], {
      ...spawnOptions,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        exitInfo = `postgres exited (${code ?? signal}): ${log.slice(-2000)}`;
        resolve();
      }),
    );
    await waitForPort(port, 20_000, () => exitInfo);
    // Accepting TCP is not yet accepting queries: wait until it answers.
    const { default: pg } = await import('pg');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => {});
        if (exitInfo) throw new Error(exitInfo, { cause: err });
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGINT'); // fast shutdown
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await start();
  } catch (err) {
    await stop();
    await rm(base, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    port,
    dataDir,
    stop,
    start,
    async destroy() {
      await stop();
      await rm(base, { recursive: true, force: true });
    },
  };
}
