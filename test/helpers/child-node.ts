import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const freshetBin = path.join(repoRoot, 'bin', 'freshet.js');

/** A port that was free a moment ago (the OS picked it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ChildNode {
  process: ChildProcess;
  endpoint: string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
}

/** Runs `freshet cluster start` as a separate process, as a user would (`args`: more flags, such as TLS). */
export async function startChildNode(dataDir: string, args: string[] = []): Promise<ChildNode> {
  const scPort = await freePort();
  const spuPort = await freePort();
  const child = spawn(
    process.execPath,
    [freshetBin, 'cluster', 'start', '--data-dir', dataDir, '--sc-port', String(scPort), '--spu-port', String(spuPort), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FRESHET_LOG: 'warn' } },
  );
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in time:\n${stderr}`)), 30_000);
    const check = () => {
      if (stderr.includes('Freshet is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code} before starting:\n${stderr}`));
    });
  });
  return { process: child, endpoint: `127.0.0.1:${scPort}`, stderr: () => stderr, exited };
}
