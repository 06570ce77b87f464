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
// again with exponential backoff while its desired state is `running`;
// `stop` keeps its state, `delete` removes it.

import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { Freshet } from '../client/index.js';
import { NotFoundError, type DataflowHost } from './http.js';
import { DataflowRuntime, type DataflowState, type OutputEvent } from './runner.js';
import { parseDataflowYaml } from './yaml.js';
import { readJsonIfExists, writeJsonAtomic } from '../common/index.js';

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
  runtime: DataflowRuntime | undefined;
  state: DataflowState;
  lastError?: string;
  restarts: number;
  timer?: NodeJS.Timeout;
  nextRestartAt?: number;
  /** Bumped by stop/delete/start so a pending restart of an older generation gives up. */
  generation: number;
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
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: DataflowManagerOptions) {
    this.dir = path.join(options.dataDir, DATAFLOWS_DIR);
    this.events.setMaxListeners(0);
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
      const entry: Entry = { meta, yaml, services: [], runtime: undefined, state: 'stopped', restarts: 0, generation: 0 };
      manager.entries.set(meta.name, entry);
      if (meta.desired === 'running') void manager.serial(() => manager.launch(entry, entry.generation));
    }
    return manager;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
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

  /** Starts a dataflow; on failure, schedules another attempt. Never throws. */
  private async launch(entry: Entry, generation: number): Promise<void> {
    if (this.closed || generation !== entry.generation || entry.runtime) return;
    entry.state = 'starting';
    entry.nextRestartAt = undefined;
    const log = this.options.log.child({ dataflow: entry.meta.name });
    try {
      const spec = await parseDataflowYaml(entry.yaml, { baseDir: entry.meta.baseDir });
      entry.services = spec.services.map((s) => s.name);
      entry.version = spec.version;
      const client = await this.connect();
      const runtime = await DataflowRuntime.start(spec, { client, stateDir: this.stateDir(entry.meta.name), baseDir: entry.meta.baseDir, log });
      if (this.closed || generation !== entry.generation) {
        await runtime.stop();
        return;
      }
      entry.runtime = runtime;
      entry.state = 'running';
      entry.lastError = undefined;
      const forward = (event: OutputEvent) => this.events.emit('output', event);
      runtime.events.on('output', forward);
      runtime.done.then(
        () => runtime.events.off('output', forward),
        (err: Error) => {
          runtime.events.off('output', forward);
          if (entry.runtime !== runtime) return;
          entry.runtime = undefined;
          this.failed(entry, generation, err, log);
        },
      );
      log.info({ services: entry.services }, 'managed dataflow running');
    } catch (err) {
      this.failed(entry, generation, err as Error, log);
    }
  }

  private failed(entry: Entry, generation: number, err: Error, log: Logger): void {
    entry.state = 'failed';
    entry.lastError = err.message;
    if (this.closed || generation !== entry.generation || entry.meta.desired !== 'running') return;
    const min = this.options.minBackoffMs ?? 1000;
    const max = this.options.maxBackoffMs ?? 60_000;
    const wait = Math.min(max, min * 2 ** Math.min(entry.restarts, 20));
    entry.restarts++;
    entry.nextRestartAt = Date.now() + wait;
    log.warn({ err: err.message, retryInMs: wait }, 'managed dataflow failed; starting it again later');
    entry.timer = setTimeout(() => void this.serial(() => this.launch(entry, generation)), wait);
    entry.timer.unref();
  }

  private get(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new NotFoundError(`no dataflow named "${name}"`);
    return entry;
  }

  private info(entry: Entry): ManagedDataflowInfo {
    return {
      name: entry.meta.name,
      state: entry.state,
      services: entry.services,
      ...(entry.version !== undefined ? { version: entry.version } : {}),
      createdAt: entry.meta.createdAt,
      ...(entry.runtime ? { startedAt: entry.runtime.startedAt } : {}),
      ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
      ...(entry.nextRestartAt !== undefined ? { nextRestartAt: new Date(entry.nextRestartAt).toISOString() } : {}),
      restarts: entry.restarts,
    };
  }

  list(): ManagedDataflowInfo[] {
    return [...this.entries.values()].map((e) => this.info(e)).sort((a, b) => a.name.localeCompare(b.name));
  }

  runtime(name: string): DataflowRuntime | undefined {
    return this.entries.get(name)?.runtime;
  }

  /** Every running dataflow. */
  runtimes(): DataflowRuntime[] {
    return [...this.entries.values()].flatMap((e) => (e.runtime ? [e.runtime] : []));
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
    return this.serial(async () => {
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
      const entry: Entry = { meta, yaml: config, services: spec.services.map((s) => s.name), version: spec.version, runtime: undefined, state: 'stopped', restarts: 0, generation: 0 };
      this.entries.set(name, entry);
      this.options.log.info({ dataflow: name }, 'managed dataflow created');
      await this.launch(entry, entry.generation);
      if (entry.state !== 'running') throw new Error(`dataflow "${name}" was created but cannot start: ${entry.lastError ?? 'unknown error'}`);
      return this.info(entry);
    });
  }

  private async halt(entry: Entry): Promise<void> {
    entry.generation++;
    clearTimeout(entry.timer);
    entry.nextRestartAt = undefined;
    const runtime = entry.runtime;
    entry.runtime = undefined;
    if (runtime) {
      entry.state = 'stopping';
      await runtime.stop();
    }
    entry.state = 'stopped';
  }

  /** Stops a dataflow (a last checkpoint is written); it stays stopped across node restarts until started. */
  stop(name: string): Promise<void> {
    return this.serial(async () => {
      const entry = this.get(name);
      entry.meta = { ...entry.meta, desired: 'stopped' };
      await writeJsonAtomic(path.join(this.stateDir(name), 'managed.json'), entry.meta);
      await this.halt(entry);
    });
  }

  /** Starts a stopped (or failed) dataflow again, from its checkpoints. */
  start(name: string): Promise<ManagedDataflowInfo> {
    return this.serial(async () => {
      const entry = this.get(name);
      if (entry.runtime) return this.info(entry);
      entry.meta = { ...entry.meta, desired: 'running' };
      await writeJsonAtomic(path.join(this.stateDir(name), 'managed.json'), entry.meta);
      clearTimeout(entry.timer);
      entry.generation++;
      entry.restarts = 0;
      await this.launch(entry, entry.generation);
      if (entry.state !== 'running') throw new Error(`dataflow "${name}" cannot start: ${entry.lastError ?? 'unknown error'}`);
      return this.info(entry);
    });
  }

  /** Stops a dataflow and deletes its definition and state (its topics stay). */
  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const entry = this.get(name);
      await this.halt(entry);
      this.entries.delete(name);
      await rm(this.stateDir(name), { recursive: true, force: true });
      this.options.log.info({ dataflow: name }, 'managed dataflow deleted');
    });
  }

  /** Stops every dataflow (each writes a last checkpoint; desired states are kept for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await Promise.allSettled([...this.entries.values()].map((e) => this.halt(e)));
    const client = this.client;
    this.client = undefined;
    if (client) await client.then((c) => c.close()).catch(() => {});
  }
}
