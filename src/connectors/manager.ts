// Managed connectors: the ones `freshet connector create` hands to a node.
// The node runs each in-process against its own SC endpoint, supervised
// (runtime.ts's ConnectorSupervisor: restarts with exponential backoff), and keeps for each one its status
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
import { parseConnectorConfig, referencedSecrets, type ConnectorConfig } from './config.js';
import { SecretRedactor } from './redact.js';
import { ConfigError } from './errors.js';
import { ConnectorSupervisor, newStats, type ConnectorStats, type ConnectorStatus } from './runtime.js';
import { envSecretStore, fileSecretStore, type SecretStore } from './secrets.js';
import { readJsonIfExists, SerialQueue, writeJsonAtomic } from '../common/index.js';

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

interface Managed {
  spec: ConnectorSpec;
  /** Masks the values of its secrets in its logs and status. */
  redactor: SecretRedactor;
  /** As last parsed (a stand-in while the spec does not parse). */
  config: ConnectorConfig;
  stats: ConnectorStats;
  logs: LogRing;
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
  private readonly connectors = new Map<string, Managed>();
  private readonly dir: string;
  private stopped = false;
  /** Serializes create/delete. */
  private readonly changes = new SerialQueue();
  private readonly supervisor: ConnectorSupervisor;

  private constructor(private readonly options: ManagerOptions) {
    this.dir = path.join(options.dataDir, CONNECTORS_DIR);
    this.supervisor = new ConnectorSupervisor({
      ...(options.minBackoffMs !== undefined ? { minBackoffMs: options.minBackoffMs } : {}),
      ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
      onStatus: (name, status) => {
        if (status.state === 'restarting' || status.state === 'failed') {
          const redactor = this.connectors.get(name)?.redactor;
          this.options.log.warn({ connector: name, state: status.state, err: redactor?.redactOptional(status.lastError) ?? status.lastError }, 'connector failed');
        }
      },
    });
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

  private secretStore(spec: ConnectorSpec): SecretStore {
    if (spec.secretsFile) return fileSecretStore(spec.secretsFile);
    if (spec.inlineSecrets) return fileSecretStore(path.join(this.dir, spec.name, 'secrets.env'));
    return envSecretStore(this.options.env ?? process.env);
  }

  private parse(spec: ConnectorSpec): ConnectorConfig {
    return parseConnectorConfig(spec.config, { secrets: this.secretStore(spec), fileName: `connector ${spec.name}` });
  }

  /** The values of the secrets a spec uses (a store that cannot be read yields none: the start reports that). */
  private secretValues(spec: ConnectorSpec): (string | undefined)[] {
    const store = this.secretStore(spec);
    return referencedSecrets(spec.config).map((name) => {
      try {
        return store.get(name);
      } catch {
        return undefined;
      }
    });
  }

  private start(spec: ConnectorSpec): void {
    const logs = new LogRing();
    const redactor = new SecretRedactor();
    redactor.update(this.secretValues(spec));
    const log = pino({ level: process.env.FRESHET_CONNECTOR_LOG ?? 'info', base: { connector: spec.name } }, { write: (line: string) => logs.push(redactor.redact(line)) });
    let config: ConnectorConfig;
    try {
      config = this.parse(spec);
    } catch {
      // The supervisor's first start parses it again and reports the error (failed).
      config = { name: spec.name, type: { type: spec.type, kind: 'source' }, topic: '', version: '', warnings: [] } as unknown as ConnectorConfig;
    }
    const managed: Managed = { spec, redactor, config, stats: newStats(), logs };
    this.connectors.set(spec.name, managed);
    this.supervisor
      .add(spec.name, {
        endpoint: this.options.endpoint,
        stateDir: this.dir,
        log,
        stats: managed.stats,
        load: () => {
          redactor.update(this.secretValues(spec));
          const parsed = this.parse(spec);
          managed.config = parsed;
          return parsed;
        },
      })
      .catch((err: unknown) => this.options.log.error({ connector: spec.name, err: redactor.redact((err as Error).message) }, 'connector could not be supervised'));
  }

  /** Validates the config (refusing a bad one, or a name in use), stores it, and starts the connector. */
  create(request: CreateRequest): Promise<ConnectorDetails> {
    return this.changes.run(async () => {
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

  private info(managed: Managed): ConnectorInfo {
    const status = this.supervisor.status(managed.spec.name) ?? { state: 'starting', restarts: 0 };
    const { redactor } = managed;
    return {
      name: managed.spec.name,
      type: managed.spec.type,
      kind: managed.config.type.kind,
      topic: managed.config.topic,
      version: managed.config.version,
      status: {
        ...status,
        ...(status.lastError !== undefined ? { lastError: redactor.redact(status.lastError) } : {}),
        ...(status.lastWarning !== undefined ? { lastWarning: redactor.redact(status.lastWarning) } : {}),
      },
      stats: { ...managed.stats },
      createdAt: managed.spec.createdAt,
    };
  }

  list(): ConnectorInfo[] {
    return [...this.connectors.values()].map((r) => this.info(r)).sort((a, b) => a.name.localeCompare(b.name));
  }

  private get(name: string): Managed {
    const managed = this.connectors.get(name);
    if (!managed) throw new ConnectorNotFoundError(`no connector named "${name}"`);
    return managed;
  }

  describe(name: string): ConnectorDetails {
    const managed = this.get(name);
    return {
      ...this.info(managed),
      config: managed.redactor.redact(managed.spec.config),
      ...(managed.spec.secretsFile ? { secretsFile: managed.spec.secretsFile } : {}),
      warnings: (managed.config.warnings ?? []).map((warning) => managed.redactor.redact(warning)),
    };
  }

  logs(name: string, lines = 100): string[] {
    return this.get(name).logs.tail(lines);
  }

  /** Stops the connector and forgets it (its spec, secrets and checkpoint; the topic and its dead letters stay). */
  delete(name: string): Promise<void> {
    return this.changes.run(async () => {
      this.get(name);
      await this.supervisor.remove(name);
      this.connectors.delete(name);
      await rm(path.join(this.dir, name), { recursive: true, force: true });
      this.options.log.info({ connector: name }, 'connector deleted');
    });
  }

  /** Stops every connector (specs kept: they start again with the node). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.changes.idle();
    await this.supervisor.close();
  }
}
