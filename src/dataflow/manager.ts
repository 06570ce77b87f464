// Managed dataflows: the ones a node runs itself, in its own process
// against its own SC (created with `POST /dataflows` on the node's console
// endpoint, or in-process with `node.dataflows.create(yaml)`), as opposed to
// `freshet dataflow run`, which runs one in the foreground of the CLI.
//
// On disk, under `<dataDir>/dataflows/<name>/`:
//   dataflow.yaml        the definition
//   managed.json         {name, desired: running|stopped, createdAt, baseDir}
//   <service>/checkpoints/   the state (checkpoint.ts), as for `dataflow run`
//
// When the node starts, every dataflow whose desired state is `running`
// starts again and resumes from its checkpoints. A dataflow that fails
// (or cannot start: a SmartModule missing, the node going away) is started
// again with exponential backoff while its desired state is `running` (the
// common supervisor); `stop` keeps its state, `delete` removes it.

import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Freshet } from '../client/index.js';
import { NotFoundError, type DataflowHost } from './http.js';
import { DataflowRuntime, type DataflowState, type OutputEvent } from './runner.js';
import { parseDataflowYaml } from './yaml.js';
import { readJsonIfExists, SerialQueue, Supervisor, writeJsonAtomic, type Unit, type UnitStatus } from '../common/index.js';

export const DATAFLOWS_DIR = 'dataflows';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

interface ManagedMeta {
  name: string;
  desired: 'running' | 'stopped';
  createdAt: string;
  /** Where `module:` paths and .wasm SmartModules resolve from. */
  baseDir: string;
}

export interface ManagedDataflowInfo {
  name: string;
  state: DataflowState;
  services: string[];
  version?: string;
  createdAt: string;
  startedAt?: string;
  lastError?: string;
  /** When the next attempt to start a failed dataflow is due. */
  nextRestartAt?: string;
  restarts: number;
}

interface Entry {
  meta: ManagedMeta;
  yaml: string;
  services: string[];
  version?: string;
}

export interface DataflowManagerOptions {
  dataDir: string;
  /** The node's own SC endpoint. */
  endpoint: string;
  log: Logger;
  /** Restart backoff (ms); defaults 1000 / 60 000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class DataflowExistsError extends Error {
  override readonly name = 'DataflowExistsError';
}

export class DataflowManager implements DataflowHost {
  /** 'output' events (OutputEvent) of every managed dataflow. */
  readonly events = new EventEmitter();
  private readonly entries = new Map<string, Entry>();
  private readonly dir: string;
  private client: Promise<Freshet> | undefined;
  /** Serializes create/delete (per-dataflow changes are the supervisor's). */
  private readonly changes = new SerialQueue();
  private readonly supervisor: Supervisor<DataflowRuntime>;
  private closed = false;

  private constructor(private readonly options: DataflowManagerOptions) {
    this.dir = path.join(options.dataDir, DATAFLOWS_DIR);
    this.events.setMaxListeners(0);
    this.supervisor = new Supervisor({
      backoff: { minMs: options.minBackoffMs ?? 1000, maxMs: options.maxBackoffMs ?? 60_000 },
      onStatus: (name, status) => {
        if (status.state === 'backoff') {
          const retryInMs = Date.parse(status.nextRestartAt!) - Date.now();
          this.options.log.warn({ dataflow: name, err: status.lastError, retryInMs }, 'managed dataflow failed; starting it again later');
        }
      },
    });
  }

  /** Loads the stored dataflows and starts those meant to run (in the background: a slow or failing one does not hold the node up). */
  static async open(options: DataflowManagerOptions): Promise<DataflowManager> {
    const manager = new DataflowManager(options);
    await mkdir(manager.dir, { recursive: true });
    for (const item of await readdir(manager.dir, { withFileTypes: true })) {
      if (!item.isDirectory()) continue;
      const dir = path.join(manager.dir, item.name);
      const meta = await readJsonIfExists<ManagedMeta>(path.join(dir, 'managed.json')).catch(() => undefined);
      const yaml = await readFile(path.join(dir, 'dataflow.yaml'), 'utf8').catch(() => undefined);
      if (!meta || yaml === undefined) continue;
      void manager.track({ meta, yaml, services: [] }).catch(() => {});
    }
    return manager;
  }

  private connect(): Promise<Freshet> {
    this.client ??= Freshet.connect({ endpoint: this.options.endpoint, clientId: 'freshet-dataflows' }).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  private stateDir(name: string): string {
    return path.join(this.dir, name);
  }

  /** Adds the dataflow to the supervisor in its desired state; resolves after its first start. */
  private track(entry: Entry): Promise<UnitStatus> {
    this.entries.set(entry.meta.name, entry);
    return this.supervisor.add(entry.meta.name, this.unit(entry), entry.meta.desired);
  }

  /** What the supervisor starts: the definition parsed again and run from its checkpoints. */
  private unit(entry: Entry): Unit<DataflowRuntime> {
    return {
      start: async () => {
        const log = this.options.log.child({ dataflow: entry.meta.name });
        const spec = await parseDataflowYaml(entry.yaml, { baseDir: entry.meta.baseDir });
        entry.services = spec.services.map((s) => s.name);
        entry.version = spec.version;
        const client = await this.connect();
        const runtime = await DataflowRuntime.start(spec, { client, stateDir: this.stateDir(entry.meta.name), baseDir: entry.meta.baseDir, log });
        const forward = (event: OutputEvent) => this.events.emit('output', event);
        runtime.events.on('output', forward);
        const done = runtime.done.finally(() => runtime.events.off('output', forward));
        done.catch(() => {});
        log.info({ services: entry.services }, 'managed dataflow running');
        return { value: runtime, done, stop: () => runtime.stop() };
      },
    };
  }

  private get(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new NotFoundError(`no dataflow named "${name}"`);
    return entry;
  }

  private info(entry: Entry): ManagedDataflowInfo {
    const name = entry.meta.name;
    const status = this.supervisor.status(name)!;
    const runtime = this.supervisor.running(name);
    // The error of the last failure, until the dataflow runs again.
    const lastError = status.lastError !== undefined && (status.startedAt === undefined || status.lastErrorAt! >= status.startedAt) ? status.lastError : undefined;
    return {
      name,
      state: status.state === 'backoff' ? 'failed' : status.state,
      services: entry.services,
      ...(entry.version !== undefined ? { version: entry.version } : {}),
      createdAt: entry.meta.createdAt,
      ...(runtime ? { startedAt: runtime.startedAt } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
      ...(status.nextRestartAt !== undefined ? { nextRestartAt: status.nextRestartAt } : {}),
      restarts: status.restarts,
    };
  }

  list(): ManagedDataflowInfo[] {
    return [...this.entries.values()].map((e) => this.info(e)).sort((a, b) => a.name.localeCompare(b.name));
  }

  runtime(name: string): DataflowRuntime | undefined {
    return this.supervisor.running(name);
  }

  /** Every running dataflow. */
  runtimes(): DataflowRuntime[] {
    return [...this.entries.keys()].flatMap((name) => this.supervisor.running(name) ?? []);
  }

  describe(name: string): ManagedDataflowInfo | undefined {
    const entry = this.entries.get(name);
    return entry ? this.info(entry) : undefined;
  }

  /** The YAML a managed dataflow runs. */
  definition(name: string): string | undefined {
    return this.entries.get(name)?.yaml;
  }

  /**
   * Validates the YAML (refusing a bad one, or a name in use), stores it and
   * starts the dataflow. Resolves once it runs (rejects if it cannot start;
   * it is then kept, failed, and retried).
   */
  create(config: string, options: { baseDir?: string } = {}): Promise<ManagedDataflowInfo> {
    return this.changes.run(async () => {
      if (this.closed) throw new Error('the node is stopping');
      const spec = await parseDataflowYaml(config, options.baseDir !== undefined ? { baseDir: options.baseDir } : {});
      const name = spec.name;
      if (!NAME.test(name)) throw new Error(`meta.name: "${name}" cannot name a managed dataflow (letters, digits, '.', '_', '-'; at most 63)`);
      if (this.entries.has(name)) throw new DataflowExistsError(`a dataflow named "${name}" already exists`);
      const dir = this.stateDir(name);
      const meta: ManagedMeta = { name, desired: 'running', createdAt: new Date().toISOString(), baseDir: path.resolve(options.baseDir ?? dir) };
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'dataflow.yaml'), config);
      await writeJsonAtomic(path.join(dir, 'managed.json'), meta);
      this.options.log.info({ dataflow: name }, 'managed dataflow created');
      const entry: Entry = { meta, yaml: config, services: spec.services.map((s) => s.name), version: spec.version };
      const status = await this.track(entry);
      if (status.state !== 'running') throw new Error(`dataflow "${name}" was created but cannot start: ${status.lastError ?? 'unknown error'}`);
      return this.info(entry);
    });
  }

  /** Stores the desired state (in the order asked), then brings the dataflow to it. */
  private desire(name: string, desired: ManagedMeta['desired']): Promise<UnitStatus> {
    return this.changes.run(async () => {
      const entry = this.get(name);
      entry.meta = { ...entry.meta, desired };
      await writeJsonAtomic(path.join(this.stateDir(name), 'managed.json'), entry.meta);
      return this.supervisor.setDesired(name, desired);
    });
  }

  /** Stops a dataflow (a last checkpoint is written); it stays stopped across node restarts until started. */
  async stop(name: string): Promise<void> {
    await this.desire(name, 'stopped');
  }

  /** Starts a stopped (or failed) dataflow again, from its checkpoints. */
  async start(name: string): Promise<ManagedDataflowInfo> {
    const entry = this.get(name);
    if (this.supervisor.running(name)) return this.info(entry);
    const status = await this.desire(name, 'running');
    if (status.state !== 'running') throw new Error(`dataflow "${name}" cannot start: ${status.lastError ?? 'unknown error'}`);
    return this.info(entry);
  }

  /** Stops a dataflow and deletes its definition and state (its topics stay). */
  delete(name: string): Promise<void> {
    return this.changes.run(async () => {
      this.get(name);
      await this.supervisor.remove(name);
      this.entries.delete(name);
      await rm(this.stateDir(name), { recursive: true, force: true });
      this.options.log.info({ dataflow: name }, 'managed dataflow deleted');
    });
  }

  /** Stops every dataflow (each writes a last checkpoint; desired states are kept for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    await this.changes.idle();
    await this.supervisor.close();
    const client = this.client;
    this.client = undefined;
    if (client) await client.then((c) => c.close()).catch(() => {});
  }
}
