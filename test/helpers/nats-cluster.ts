// Throwaway NATS JetStream servers for tests: Debian's nats-server (.ci/run
// installs it) on free 127.0.0.1 client and cluster ports, each with its own
// temporary store dir. Three servers form one JetStream cluster (R3 streams);
// one server is JetStream without clustering. Servers can be SIGKILLed and
// restarted on the same ports and store dirs, to test fail-over.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, waitForPort } from './postgres.js';

const BINARIES = ['/usr/sbin/nats-server', '/usr/bin/nats-server'];
const START_TIMEOUT_MS = 20_000;

export interface TestNatsServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** True while the process runs. */
  running(): boolean;
}

export interface TestNatsCluster {
  readonly servers: readonly TestNatsServer[];
  /** Every server's URL, comma-separated: what `--nats` takes. */
  readonly urls: string;
  /** SIGKILL one server (its store dir stays, so it can restart). */
  kill(index: number): Promise<void>;
  /** Starts a killed server again on the same ports and store dir. */
  restart(index: number): Promise<void>;
  /** Resolves once JetStream answers through the given (or first running) server. */
  waitForJetStream(index?: number): Promise<void>;
  stop(): Promise<void>;
}

interface ServerSlot {
  name: string;
  port: number;
  clusterPort: number;
  dir: string;
  config: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  log: string;
}

export function natsServerBinary(): string | undefined {
  return BINARIES.find((b) => existsSync(b));
}

/** Starts `size` servers (1, or 3 for a JetStream cluster) and waits for JetStream. */
export async function startNatsCluster(size: 1 | 3 = 3): Promise<TestNatsCluster> {
  const binary = natsServerBinary();
  if (!binary) throw new Error('nats-server is not installed: apt-get install -y nats-server (.ci/run does it)');
  const root = await mkdtemp(path.join(os.tmpdir(), 'freshet-nats-'));
  const slots: ServerSlot[] = [];
  for (let i = 0; i < size; i++) {
    slots.push({
      name: `n${i + 1}`,
      port: await freePort(),
      clusterPort: await freePort(),
      dir: path.join(root, `n${i + 1}`),
      config: path.join(root, `n${i + 1}.conf`),
      child: undefined,
      exited: undefined,
      log: '',
    });
  }
  for (const slot of slots) await writeFile(slot.config, serverConfig(slot, size > 1 ? slots : []));

  const launch = async (slot: ServerSlot) => {
    slot.log = '';
    const child = spawn(binary, ['-c', slot.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (d: Buffer) => (slot.log = (slot.log + d.toString()).slice(-20_000));
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    slot.child = child;
    slot.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const failed = () => (child.exitCode !== null || child.signalCode !== null ? `nats-server ${slot.name} exited: ${slot.log.slice(-2000)}` : undefined);
    await waitForPort(slot.port, START_TIMEOUT_MS, failed);
  };
  const halt = async (slot: ServerSlot, signal: NodeJS.Signals) => {
    const child = slot.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await slot.exited;
    clearTimeout(timer);
  };
  const stop = async () => {
    await Promise.all(slots.map((slot) => halt(slot, 'SIGTERM')));
    await rm(root, { recursive: true, force: true });
  };
  const waitForJetStream = async (index?: number) => {
    const slot = index === undefined ? slots.find((s) => s.child?.exitCode === null && s.child.signalCode === null) : slots[index];
    if (!slot) throw new Error('no NATS server is running');
    const deadline = Date.now() + START_TIMEOUT_MS;
    const nc = await connect({ servers: `nats://127.0.0.1:${slot.port}`, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
      // A fresh cluster elects its meta leader a moment after the ports open;
      // until then account info fails, so wait for it with a bounded retry.
      for (;;) {
        try {
          await jsm.getAccountInfo();
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`JetStream did not become ready on ${slot.name}: ${(err as Error).message}\n${slot.log.slice(-2000)}`, { cause: err });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      await nc.close();
    }
  };
  try {
    await Promise.all(slots.map(launch));
    await waitForJetStream(0);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    servers: slots.map((slot) => ({
      name: slot.name,
      port: slot.port,
      url: `nats://127.0.0.1:${slot.port}`,
      running: () => slot.child !== undefined && slot.child.exitCode === null && slot.child.signalCode === null,
    })),
    urls: slots.map((slot) => `nats://127.0.0.1:${slot.port}`).join(','),
    kill: (index) => halt(slots[index]!, 'SIGKILL'),
    restart: (index) => launch(slots[index]!),
    waitForJetStream,
    stop,
  };
}

function serverConfig(slot: ServerSlot, peers: ServerSlot[]): string {
  const lines = [
    `server_name: ${slot.name}`,
    'host: 127.0.0.1',
    `port: ${slot.port}`,
    `jetstream { store_dir: "${slot.dir}", max_memory_store: 64MB, max_file_store: 1GB }`,
  ];
  if (peers.length > 0) {
    lines.push(
      'cluster {',
      '  name: freshet-test',
      `  listen: 127.0.0.1:${slot.clusterPort}`,
      `  routes: [${peers.filter((p) => p !== slot).map((p) => `nats://127.0.0.1:${p.clusterPort}`).join(', ')}]`,
      '}',
    );
  }
  return lines.join('\n') + '\n';
}
