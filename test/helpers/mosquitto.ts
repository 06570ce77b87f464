// A throwaway MQTT broker for tests: Debian's mosquitto (.ci/run installs
// it) on a free 127.0.0.1 port, anonymous access, no persistence.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './postgres.js';

const BINARIES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'];

export interface TestMosquitto {
  /** mqtt://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function mosquittoBinary(): string | undefined {
  return BINARIES.find((b) => existsSync(b));
}

export async function startMosquitto(): Promise<TestMosquitto> {
  const binary = mosquittoBinary();
  if (!binary) throw new Error('mosquitto is not installed: apt-get install -y mosquitto (.ci/run does it)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'freshet-mqtt-'));
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  await writeFile(
    config,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'max_queued_messages 100000', ''].join('\n'),
  );
  let log = '';
  let exitInfo: string | undefined;
  const child: ChildProcess = spawn(binary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitInfo = `mosquitto exited (${code ?? signal}): ${log.slice(-2000)}`;
      resolve();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 10_000, () => exitInfo);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, stop };
}
