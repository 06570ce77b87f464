// Managed connectors: the ones `freshet connector create` hands to a node.
// The node runs each in-process against its own SC endpoint, supervised
// (restarts with exponential backoff), and keeps for each one its status
// (starting, running, restarting, failed, stopped, with the last error) and
// a bounded ring buffer of recent log lines.
//
// On disk, under `<dataDir>/connectors/<name>/`:
//   spec.json        name, type, the YAML text, where secrets come from, createdAt
//   secrets.env      values given at create time (mode 0600), when no --secrets file was named
//   checkpoint.json  a source's position (see checkpoints.ts)
// Specs are loaded and started again when the node starts.

import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import './builtins.js';
import { parseConnectorConfig, type ConnectorConfig } from './config.js';
import { ConfigError } from './errors.js';
import { newStats, superviseConnector, type ConnectorStats, type ConnectorStatus } from './runtime.js';
import { envSecretStore, fileSecretStore, type SecretStore } from './secrets.js';
import { readJsonIfExists, writeJsonAtomic } from '../common/index.js';

export const CONNECTORS_DIR = 'connectors';
const LOG_LINES = 500;

export interface ConnectorSpec {
  name: string;
  type: string;
  /** The YAML as given (secrets not rendered: values stay out of the spec). */
  config: string;
  /** Absolute path of a secrets file named at create time (re-read at every start). */
  secretsFile?: string;
  /** Whether values given at create time are kept in secrets.env. */
  inlineSecrets?: boolean;
  createdAt: string;
}

export interface ConnectorInfo {
  name: string;
  type: string;
  kind: 'source' | 'sink';
  topic: string;
  version: string;
  status: ConnectorStatus;
  stats: ConnectorStats;
  createdAt: string;
}

export interface ConnectorDetails extends ConnectorInfo {
  config: string;
  secretsFile?: string;
  warnings: string[];
}

export interface CreateRequest {
  /** The YAML text. */
  config: string;
  /** A secrets file on the node's machine (NAME=value lines). */
  secretsFile?: string;
  /** Secret values (e.g. from the caller's environment); kept in secrets.env with mode 0600. */
  secrets?: Record<string, string>;
}

export class ConnectorExistsError extends Error {
  override readonly name = 'ConnectorExistsError';
}
export class ConnectorNotFoundError extends Error {
  override readonly name = 'ConnectorNotFoundError';
}

/** A bounded buffer of the last log lines (pino JSON). */
class LogRing {
  private readonly lines: string[] = [];
  push(line: string): void {
    this.lines.push(line.trimEnd());
    if (this.lines.length > LOG_LINES) this.lines.splice(0, this.lines.length - LOG_LINES);
  }
  tail(count: number): string[] {
    return this.lines.slice(-Math.max(0, count));
  }
}

interface Running {
  spec: ConnectorSpec;
  config: ConnectorConfig;
  status: ConnectorStatus;
  stats: ConnectorStats;
  logs: LogRing;
  controller: AbortController;
  done: Promise<unknown>;
}

export interface ManagerOptions {
  dataDir: string;
  /** The node's own SC endpoint. */
  endpoint: string;
  log: Logger;
  /** Restart backoff (tests shorten it). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Where secrets come from when neither a file nor values were given (default: the node's environment). */
  env?: NodeJS.ProcessEnv;
}

export class ConnectorManager {
  private readonly connectors = new Map<string, Running>();
  private readonly dir: string;
  private stopped = false;
  /** Serializes create/delete. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: ManagerOptions) {
    this.dir = path.join(options.dataDir, CONNECTORS_DIR);
  }

  /** Loads the stored specs and starts every connector. A spec that no longer parses is kept, as failed. */
  static async open(options: ManagerOptions): Promise<ConnectorManager> {
    const manager = new ConnectorManager(options);
    await mkdir(manager.dir, { recursive: true });
    const entries = await readdir(manager.dir, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const spec = await readJsonIfExists<ConnectorSpec>(path.join(manager.dir, entry.name, 'spec.json')).catch(() => undefined);
      if (!spec) continue;
      manager.start(spec);
    }
    return manager;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  private secretStore(spec: ConnectorSpec): SecretStore {
    if (spec.secretsFile) return fileSecretStore(spec.secretsFile);
    if (spec.inlineSecrets) return fileSecretStore(path.join(this.dir, spec.name, 'secrets.env'));
    return envSecretStore(this.options.env ?? process.env);
  }

  private parse(spec: ConnectorSpec): ConnectorConfig {
    return parseConnectorConfig(spec.config, { secrets: this.secretStore(spec), fileName: `connector ${spec.name}` });
  }

  private start(spec: ConnectorSpec): void {
    const logs = new LogRing();
    const log = pino({ level: process.env.FRESHET_CONNECTOR_LOG ?? 'info', base: { connector: spec.name } }, { write: (line: string) => logs.push(line) });
    const controller = new AbortController();
    const stats = newStats();
    let config: ConnectorConfig | undefined;
    let status: ConnectorStatus = { state: 'starting', restarts: 0 };
    try {
      config = this.parse(spec);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      status = { state: 'failed', restarts: 0, lastError: message, lastErrorAt: new Date().toISOString() };
      log.error({ err: message }, 'connector config is invalid');
    }
    const running: Running = {
      spec,
      config: config ?? ({ name: spec.name, type: { type: spec.type, kind: 'source' }, topic: '', version: '', warnings: [] } as unknown as ConnectorConfig),
      status,
      stats,
      logs,
      controller,
      done: Promise.resolve(),
    };
    this.connectors.set(spec.name, running);
    if (!config) return;
    running.done = superviseConnector({
      endpoint: this.options.endpoint,
      stateDir: this.dir,
      log,
      signal: controller.signal,
      stats,
      load: () => {
        const parsed = this.parse(spec);
        running.config = parsed;
        return parsed;
      },
      onStatus: (next) => {
        running.status = next;
        if (next.state === 'restarting' || next.state === 'failed') {
          this.options.log.warn({ connector: spec.name, state: next.state, err: next.lastError }, 'connector failed');
        }
      },
      ...(this.options.minBackoffMs !== undefined ? { minBackoffMs: this.options.minBackoffMs } : {}),
      ...(this.options.maxBackoffMs !== undefined ? { maxBackoffMs: this.options.maxBackoffMs } : {}),
    }).catch((err: unknown) => {
      running.status = { ...running.status, state: 'failed', lastError: (err as Error).message, lastErrorAt: new Date().toISOString() };
    });
  }

  /** Validates the config (refusing a bad one, or a name in use), stores it, and starts the connector. */
  create(request: CreateRequest): Promise<ConnectorDetails> {
    return this.serial(async () => {
      if (this.stopped) throw new Error('the node is stopping');
      const provisional: ConnectorSpec = { name: '', type: '', config: request.config, createdAt: new Date().toISOString() };
      if (request.secretsFile !== undefined) {
        if (!path.isAbsolute(request.secretsFile)) throw new ConfigError(`the secrets file must be an absolute path, got ${request.secretsFile}`);
        provisional.secretsFile = request.secretsFile;
      }
      const inline = request.secrets && Object.keys(request.secrets).length > 0 ? request.secrets : undefined;
      const store: SecretStore = provisional.secretsFile
        ? fileSecretStore(provisional.secretsFile)
        : inline
          ? { description: 'the secrets given', get: (name) => inline[name] }
          : envSecretStore(this.options.env ?? process.env);
      const config = parseConnectorConfig(request.config, { secrets: store, fileName: 'config' });
      if (this.connectors.has(config.name)) {
        throw new ConnectorExistsError(`a connector named "${config.name}" already exists`);
      }
      const spec: ConnectorSpec = { ...provisional, name: config.name, type: config.type.type };
      const dir = path.join(this.dir, spec.name);
      await mkdir(dir, { recursive: true });
      if (inline && !spec.secretsFile) {
        spec.inlineSecrets = true;
        const file = path.join(dir, 'secrets.env');
        await writeFile(file, Object.entries(inline).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
        await chmod(file, 0o600);
      }
      await writeJsonAtomic(path.join(dir, 'spec.json'), spec);
      this.start(spec);
      this.options.log.info({ connector: spec.name, type: spec.type }, 'connector created');
      return this.describe(spec.name);
    });
  }

  private info(running: Running): ConnectorInfo {
    return {
      name: running.spec.name,
      type: running.spec.type,
      kind: running.config.type.kind,
      topic: running.config.topic,
      version: running.config.version,
      status: { ...running.status },
      stats: { ...running.stats },
      createdAt: running.spec.createdAt,
    };
  }

  list(): ConnectorInfo[] {
    return [...this.connectors.values()].map((r) => this.info(r)).sort((a, b) => a.name.localeCompare(b.name));
  }

  private get(name: string): Running {
    const running = this.connectors.get(name);
    if (!running) throw new ConnectorNotFoundError(`no connector named "${name}"`);
    return running;
  }

  describe(name: string): ConnectorDetails {
    const running = this.get(name);
    return {
      ...this.info(running),
      config: running.spec.config,
      ...(running.spec.secretsFile ? { secretsFile: running.spec.secretsFile } : {}),
      warnings: running.config.warnings ?? [],
    };
  }

  logs(name: string, lines = 100): string[] {
    return this.get(name).logs.tail(lines);
  }

  /** Stops the connector and forgets it (its spec, secrets and checkpoint; the topic and its dead letters stay). */
  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const running = this.get(name);
      running.controller.abort();
      await running.done;
      this.connectors.delete(name);
      await rm(path.join(this.dir, name), { recursive: true, force: true });
      this.options.log.info({ connector: name }, 'connector deleted');
    });
  }

  /** Stops every connector (specs kept: they start again with the node). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.queue;
    for (const running of this.connectors.values()) running.controller.abort();
    await Promise.allSettled([...this.connectors.values()].map((r) => r.done));
  }
}
