// Helpers for the connector tests: run a connector in-process against a
// test node, and read what reached a topic.

import path from 'node:path';
import pino from 'pino';
import { Freshet, type ConsumerRecord } from '../../src/client/index.js';
import '../../src/connectors/builtins.js';
import { parseConnectorConfig, type ConnectorConfig } from '../../src/connectors/config.js';
import { newStats, superviseConnector, type ConnectorStats, type ConnectorStatus } from '../../src/connectors/runtime.js';
import { mapSecretStore } from '../../src/connectors/secrets.js';

export interface RunningConnector {
  config: ConnectorConfig;
  stats: ConnectorStats;
  status: () => ConnectorStatus | undefined;
  /** Resolves once the connector reported `running`. */
  running: Promise<void>;
  stop(): Promise<void>;
}

/** Parses the YAML and runs the connector (supervised) until stop(). */
export function startConnector(yaml: string, options: { endpoint: string; stateDir: string; secrets?: Record<string, string> }): RunningConnector {
  const config = parseConnectorConfig(yaml, { secrets: mapSecretStore(options.secrets ?? {}) });
  const controller = new AbortController();
  const stats = newStats();
  let status: ConnectorStatus | undefined;
  let markRunning!: () => void;
  const running = new Promise<void>((resolve) => (markRunning = resolve));
  const done = superviseConnector({
    endpoint: options.endpoint,
    stateDir: options.stateDir,
    log: pino({ level: process.env.FRESHET_TEST_LOG ?? 'silent' }),
    signal: controller.signal,
    stats,
    load: () => config,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    onStatus: (s) => {
      status = s;
      if (s.state === 'running') markRunning();
    },
  });
  return {
    config,
    stats,
    status: () => status,
    running,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

/** Reads records of a topic from the beginning until `count` arrived (or fails after timeoutMs). */
export async function readRecords(endpoint: string, topic: string, count: number, timeoutMs = 10_000): Promise<ConsumerRecord[]> {
  const client = await Freshet.connect({ endpoint });
  try {
    // The connector may not have created the topic yet.
    const consumer = await waitFor(`topic ${topic}`, () => client.consumer(topic, { offset: 'beginning' }).catch(() => undefined), timeoutMs);
    const out: ConsumerRecord[] = [];
    const timer = setTimeout(() => void consumer.close(), timeoutMs);
    try {
      for await (const record of consumer) {
        out.push(record);
        if (out.length >= count) break;
      }
    } finally {
      clearTimeout(timer);
      await consumer.close();
    }
    if (out.length < count) throw new Error(`only ${out.length} of ${count} records reached ${topic} in ${timeoutMs} ms: ${out.map((r) => r.valueString()).join(' | ')}`);
    return out;
  } finally {
    await client.close();
  }
}

/** Every record stored in the topic now. */
export async function readAll(endpoint: string, topic: string): Promise<ConsumerRecord[]> {
  const client = await Freshet.connect({ endpoint });
  try {
    const consumer = await client.consumer(topic, { offset: 'beginning', continuous: false });
    const out: ConsumerRecord[] = [];
    for await (const record of consumer) out.push(record);
    return out;
  } finally {
    await client.close();
  }
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function stateDirOf(dataDir: string): string {
  return path.join(dataDir, 'connector-state');
}
