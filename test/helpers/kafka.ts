import { spawn } from 'node:child_process';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { NodeConfig } from '../../src/node/index.js';
import { startTestNode } from './test-node.js';

/** A test node with its Kafka listener on a free port and a short initial rebalance delay. */
export async function startKafkaTestNode(overrides: Partial<NodeConfig> = {}) {
  return startTestNode({
    console: { enabled: false },
    dataflows: { enabled: false },
    kafka: { port: 0, groups: { initialRebalanceDelayMs: 200 } },
    ...overrides,
  });
}

export function kafkaBroker(node: { kafka: { port: number } | undefined }): string {
  if (!node.kafka) throw new Error('the node runs no Kafka listener');
  return `127.0.0.1:${node.kafka.port}`;
}

export function kafkajs(broker: string, config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({ clientId: 'freshet-test', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 }, ...config });
}

/** Runs a command without blocking the event loop (the node under test runs in this process). */
export function run(command: string, args: string[], input?: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (data) => (out += data));
    child.stderr.on('data', (data) => (err += data));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** Polls a condition the test cannot await directly (a consumer's progress), with a deadline. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
