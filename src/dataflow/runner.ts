// Runs a dataflow against a Freshet node, exactly once across crashes.
//
// Per service:
// - Input: one consumer per input partition, started at an explicit offset
//   (never a server-side auto-commit); records are processed in offset
//   order per partition, partitions merged as they arrive.
// - Output: results go to the sink topics (and late records to the late
//   topic) as JSON, each with a deterministic `id`.
// - Checkpoints (checkpoint.ts), every `records` input records or
//   `intervalMs` while input flows, and right after idleness closed a window:
//   processing pauses, every output sent so far is acknowledged, then the
//   engine state, the next input offset of every partition and the log end
//   of every output partition are written together, atomically.
// - Restart: the newest checkpoint is restored and input resumes at its
//   offsets, so every input record is applied to the state exactly once.
//   Results the crashed run had already stored after that checkpoint are
//   found by reading the output partitions from the checkpointed log ends
//   (their ids), and the replay skips them instead of sending them again:
//   no result is lost and none is stored twice. (Residual case, documented:
//   a produce request the client retries after a broken connection can be
//   stored twice, as for any at-least-once producer; consumers can drop
//   repeated ids.)
//
// Records of a service without a window (plain transform chains) are
// at-least-once: they carry no id to recognise after a crash.
//
// Replay (`replay: true`, `freshet dataflow run --from beginning --until
// end`): every input partition is read from its first stored record to the
// log end it had at start, which is the end of input: the watermark goes to
// +∞, every open window closes, the results are sent and acknowledged, and
// `done` resolves. No checkpoint is read or written and wall-clock idleness
// plays no part, so the results are those of the live dataflow over the
// same records (which closes the same windows as their events arrive).

import { EventEmitter } from 'node:events';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { Freshet, type Consumer, type ConsumerRecord, type Producer } from '../client/index.js';
import { CheckpointStore, type Checkpoint, type PartitionPosition } from './checkpoint.js';
import { ServiceEngine, type Output, type Query } from './engine.js';
import { bindSmartModules } from './smartmodules.js';
import { queryState, type SqlResult } from './sql.js';
import type { DataflowSpec, EmitKind, ServiceSpec } from './spec.js';

export interface RunOptions {
  /** The node's SC (`host:port`); or give `client`. */
  endpoint?: string;
  client?: Freshet;
  /** The dataflow's own state directory (checkpoints under `<stateDir>/<service>/checkpoints`). */
  stateDir: string;
  /** Where .wasm SmartModule paths are resolved from. */
  baseDir?: string;
  log?: Logger;
  /** Wall clock (tests). */
  now?: () => number;
  /** How often idleness is checked (ms). Default 200. */
  tickMs?: number;
  /** Read the inputs' current contents from the beginning, close every window at their end, then finish (see above). */
  replay?: boolean;
}

export interface OutputEvent {
  dataflow: string;
  service: string;
  output: Output;
}

export type DataflowState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServiceStatus {
  service: string;
  watermark: number | null;
  inputs: PartitionPosition[];
  outputs: PartitionPosition[];
  checkpoint: { seq: number; at: string | null; bytes: number; ms: number };
  /** Results skipped on replay because the crashed run had stored them. */
  deduplicated: number;
  metrics: ServiceEngine['metrics'];
}

const MAX_QUEUE = 20_000;
const BATCH = 2_000;

function fingerprint(service: ServiceSpec): string {
  return JSON.stringify({
    sources: service.sources.map((s) => s.topic),
    window: service.window ? { ...service.window, idleness: undefined } : null,
    aggregates: service.aggregates.map((a) => [a.name, a.op, a.fill ?? null]),
    series: service.series,
    // min-points only says how results are shown: changing it keeps the state.
    correlations: service.correlations.map(({ minPoints: _shown, ...c }) => c),
    timeSteps: service.timeSteps,
  });
}

const RESULT_KINDS = new Set(['window', 'correlation', 'late']);

class ServiceRunner {
  readonly engine: ServiceEngine;
  private readonly store: CheckpointStore;
  private readonly inputs = new Map<string, PartitionPosition>();
  /** The same positions by topic, then partition: no key text per record. */
  private readonly positions = new Map<string, PartitionPosition[]>();
  private readonly outputs = new Map<string, PartitionPosition>();
  private readonly producers = new Map<string, Producer>();
  private consumers: Consumer[] = [];
  private readonly dedup = new Set<string>();
  private deduplicated = 0;
  private queue: ConsumerRecord[] = [];
  private wakeLoop: (() => void) | undefined;
  private pumpWaiters: (() => void)[] = [];
  /** Sends of the current epoch (since the last snapshot), and the highest stored offset they reached per output partition. */
  private pendingSends: Promise<unknown>[] = [];
  private epochMax = new Map<string, number>();
  private sendError: Error | undefined;
  /** The checkpoint being written in the background (at most one). */
  private writing: Promise<void> | undefined;
  private seq = 0;
  private lastCheckpoint = { at: null as string | null, bytes: 0, ms: 0, wall: 0 };
  private sinceCheckpoint = 0;
  private forceCheckpoint = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Replay: the log end of each input partition at start. */
  private readonly ends = new Map<string, number>();

  constructor(
    private readonly spec: DataflowSpec,
    private readonly service: ServiceSpec,
    private readonly client: Freshet,
    private readonly options: RunOptions,
    private readonly log: Logger,
    private readonly events: EventEmitter,
  ) {
    this.engine = new ServiceEngine(spec.name, service, options.now ? { now: options.now } : {});
    this.store = new CheckpointStore(path.join(options.stateDir, service.name, 'checkpoints'));
  }

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  private outputTopics(): string[] {
    const topics = new Set(this.service.sinks.map((s) => s.topic));
    if (this.service.window?.late.policy === 'side-output') topics.add(this.service.window.late.topic);
    return [...topics];
  }

  private async partitionsOf(topic: string) {
    return (await this.client.admin.listPartitions(topic)).sort((a, b) => a.partition - b.partition);
  }

  async start(): Promise<void> {
    const replay = this.options.replay === true;
    const ckpt = replay ? undefined : await this.store.latest();
    if (ckpt && ckpt.fingerprint !== fingerprint(this.service)) {
      throw new Error(
        `service ${this.service.name}: the definition changed since its checkpoint (${this.store.dir}); delete the dataflow's state (freshet dataflow delete) or run the old definition`,
      );
    }
    for (const source of this.service.sources) {
      for (const p of await this.partitionsOf(source.topic)) {
        const id = `${source.topic}/${p.partition}`;
        const saved = ckpt?.inputs.find((i) => i.topic === source.topic && i.partition === p.partition);
        const next = replay ? p.baseOffset : saved ? saved.next : source.offset === 'beginning' ? p.baseOffset : p.highWatermark;
        const position = { topic: source.topic, partition: p.partition, next };
        this.inputs.set(id, position);
        let byPartition = this.positions.get(source.topic);
        if (!byPartition) this.positions.set(source.topic, (byPartition = []));
        byPartition[p.partition] = position;
        if (replay) this.ends.set(id, p.highWatermark);
        this.engine.registerInput(source.topic, p.partition);
      }
    }
    for (const topic of this.outputTopics()) {
      for (const p of await this.partitionsOf(topic)) {
        const saved = ckpt?.outputs.find((o) => o.topic === topic && o.partition === p.partition);
        this.outputs.set(`${topic}/${p.partition}`, { topic, partition: p.partition, next: saved ? saved.next : p.highWatermark });
      }
    }
    if (ckpt) {
      this.engine.restore(ckpt.state);
      this.seq = ckpt.seq;
      await this.scanOutputs();
      this.log.info({ service: this.service.name, seq: ckpt.seq, deduplicate: this.dedup.size }, 'restored from checkpoint');
    } else if (!replay) {
      await this.checkpoint();
      this.lastCheckpoint.wall = this.now;
    }
    for (const topic of this.outputTopics()) {
      this.producers.set(topic, await this.client.producer(topic, { lingerMs: 0, batchSize: 256 * 1024 }));
    }
    for (const input of this.inputs.values()) {
      const end = this.ends.get(`${input.topic}/${input.partition}`);
      if (end !== undefined && input.next >= end) continue;
      const bounds = end === undefined ? {} : { end: end - 1, continuous: false };
      const consumer = await this.client.consumer(input.topic, { partition: input.partition, offset: { absolute: input.next }, ...bounds });
      this.consumers.push(consumer);
      void this.pump(consumer);
    }
    this.loop = this.run();
  }

  /** Ids of results stored after the checkpoint (by the run that crashed): the replay must not send them again. */
  private async scanOutputs(): Promise<void> {
    for (const out of this.outputs.values()) {
      const end = (await this.partitionsOf(out.topic)).find((p) => p.partition === out.partition)?.highWatermark ?? out.next;
      if (end <= out.next) continue;
      const consumer = await this.client.consumer(out.topic, { partition: out.partition, offset: { absolute: out.next }, end: end - 1, continuous: false });
      for await (const record of consumer) {
        try {
          const value = record.json<{ id?: unknown; type?: unknown; dataflow?: unknown; service?: unknown }>();
          if (typeof value.id === 'string' && RESULT_KINDS.has(String(value.type)) && value.dataflow === this.spec.name && value.service === this.service.name) {
            this.dedup.add(value.id);
          }
        } catch {
          // Not one of ours.
        }
      }
    }
  }

  private async pump(consumer: Consumer): Promise<void> {
    try {
      for await (const record of consumer) {
        this.queue.push(record);
        this.wakeLoop?.();
        while (this.queue.length >= MAX_QUEUE && !this.stopping) await new Promise<void>((resolve) => this.pumpWaiters.push(resolve));
        if (this.stopping) break;
      }
    } catch (err) {
      if (!this.stopping) this.fail(err as Error);
    }
  }

  private wakePumps(): void {
    for (const wake of this.pumpWaiters.splice(0)) wake();
  }

  private failure: Error | undefined;
  private fail(err: Error): void {
    this.failure ??= err;
    this.wakeLoop?.();
  }

  /** Replay: every input partition has been read to its end. */
  private inputEnded(): boolean {
    for (const [id, end] of this.ends) if (this.inputs.get(id)!.next < end) return false;
    return true;
  }

  private async run(): Promise<void> {
    if (this.options.replay) return this.replay();
    const tickMs = this.options.tickMs ?? 200;
    let lastTick = this.now;
    const policy = this.spec.checkpoint;
    while (!this.stopping) {
      if (this.failure) throw this.failure;
      if (this.sendError) throw this.sendError;
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.wakeLoop = resolve;
          setTimeout(resolve, tickMs);
        });
        this.wakeLoop = undefined;
      }
      if (this.stopping) break;
      if (this.queue.length > 0) this.processBatch();
      const now = this.now;
      if (now - lastTick >= tickMs) {
        lastTick = now;
        this.engine.tick();
        if (this.engine.pendingOutputs > 0) {
          // Idleness closed windows: a wall-clock decision a replay would not repeat; make it durable now.
          this.emit(this.engine.takeOutputs());
          this.forceCheckpoint = true;
        }
      }
      const due = this.forceCheckpoint || this.sinceCheckpoint >= policy.records || (this.sinceCheckpoint > 0 && now - this.lastCheckpoint.wall >= policy.intervalMs);
      if (due && this.writing === undefined) {
        this.writing = this.checkpoint().then(
          () => (this.writing = undefined),
          (err: Error) => this.fail(err),
        );
      }
    }
  }

  private async replay(): Promise<void> {
    while (!this.stopping) {
      if (this.failure) throw this.failure;
      if (this.sendError) throw this.sendError;
      if (this.queue.length > 0) {
        this.processBatch();
        // Results wait for their acknowledgements now and then, so the sends in flight stay bounded.
        if (this.pendingSends.length >= MAX_QUEUE) await this.settleSends();
        continue;
      }
      if (this.inputEnded()) break;
      await new Promise<void>((resolve) => (this.wakeLoop = resolve));
      this.wakeLoop = undefined;
    }
    if (this.stopping) return;
    this.engine.finish();
    this.emit(this.engine.takeOutputs());
    await this.settleSends();
  }

  private async settleSends(): Promise<void> {
    const sends = this.pendingSends;
    this.pendingSends = [];
    await Promise.all(sends);
    if (this.sendError) throw this.sendError;
  }

  private processBatch(): void {
    const batch = this.queue.length <= BATCH ? this.queue : this.queue.slice(0, BATCH);
    this.queue = this.queue.length <= BATCH ? [] : this.queue.slice(BATCH);
    if (this.queue.length < MAX_QUEUE / 2) this.wakePumps();
    for (const record of batch) {
      this.engine.process(record);
      this.positions.get(record.topic)![record.partition].next = record.offset + 1;
    }
    this.sinceCheckpoint += batch.length;
    this.emit(this.engine.takeOutputs());
  }

  private emit(outputs: Output[]): void {
    for (const output of outputs) {
      if (output.id !== undefined && this.dedup.delete(output.id)) {
        this.deduplicated++;
        continue;
      }
      const topics = output.kind === 'late' ? [(this.service.window!.late as { topic: string }).topic] : this.sinkTopics(output.kind);
      const value = typeof output.value === 'string' ? output.value : JSON.stringify(output.value);
      for (const topic of topics) {
        const producer = this.producers.get(topic)!;
        const epoch = this.epochMax;
        const sent = producer.sendRecord({ key: output.key, value, timestamp: Number.isFinite(output.timestamp) ? output.timestamp : Date.now() }).then(
          (meta) => {
            const id = `${topic}/${meta.partition}`;
            if (meta.offset + 1 > (epoch.get(id) ?? 0)) epoch.set(id, meta.offset + 1);
          },
          (err: Error) => {
            this.sendError ??= err;
          },
        );
        this.pendingSends.push(sent);
      }
      this.events.emit('output', { dataflow: this.spec.name, service: this.service.name, output } satisfies OutputEvent);
    }
  }

  private sinkTopics(kind: EmitKind | 'late'): string[] {
    return this.service.sinks.filter((s) => !s.emit || s.emit.includes(kind as EmitKind)).map((s) => s.topic);
  }

  /**
   * Takes a checkpoint: the engine state and the input offsets are captured
   * now, synchronously, between two records; then (processing goes on) the
   * outputs emitted before this point are awaited — the producer keeps each
   * partition in order, so the log end they reach is at or below the first
   * later output — and state, input offsets and those log ends are written
   * together, atomically.
   */
  private async checkpoint(): Promise<void> {
    const started = Date.now();
    const sends = this.pendingSends;
    const epoch = this.epochMax;
    this.pendingSends = [];
    this.epochMax = new Map();
    const seq = this.seq + 1;
    const createdAt = new Date().toISOString();
    const inputs = [...this.inputs.values()].map((p) => ({ ...p }));
    const state = JSON.stringify(this.engine.snapshot());
    this.sinceCheckpoint = 0;
    this.forceCheckpoint = false;
    this.lastCheckpoint.wall = this.now;
    await Promise.all(sends);
    if (this.sendError) throw this.sendError;
    for (const [id, next] of epoch) {
      const position = this.outputs.get(id);
      if (position && next > position.next) position.next = next;
    }
    const head: Omit<Checkpoint, 'state'> = {
      format: 1,
      dataflow: this.spec.name,
      service: this.service.name,
      seq,
      createdAt,
      fingerprint: fingerprint(this.service),
      inputs,
      outputs: [...this.outputs.values()].map((p) => ({ ...p })),
    };
    const bytes = await this.store.writeText(seq, `${JSON.stringify(head).slice(0, -1)},"state":${state}}`);
    this.seq = seq;
    this.lastCheckpoint = { at: createdAt, bytes, ms: Date.now() - started, wall: this.lastCheckpoint.wall };
  }

  status(): ServiceStatus {
    const wm = this.engine.watermarkValue;
    return {
      service: this.service.name,
      watermark: Number.isFinite(wm) ? wm : null,
      inputs: [...this.inputs.values()].map((p) => ({ ...p })),
      outputs: [...this.outputs.values()].map((p) => ({ ...p })),
      checkpoint: { seq: this.seq, at: this.lastCheckpoint.at, bytes: this.lastCheckpoint.bytes, ms: this.lastCheckpoint.ms },
      deduplicated: this.deduplicated,
      metrics: { ...this.engine.metrics },
    };
  }

  /** Resolves when the processing loop ends (rejects with what failed it). */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Stops reading, processes nothing more, writes a last checkpoint. */
  async stop(checkpoint = true): Promise<void> {
    this.stopping = true;
    this.wakeLoop?.();
    this.wakePumps();
    await this.loop?.catch(() => {});
    await Promise.allSettled(this.consumers.map((c) => c.close()));
    await this.writing;
    if (checkpoint && !this.options.replay && !this.failure && !this.sendError) await this.checkpoint();
    await Promise.allSettled([...this.producers.values()].map((p) => p.close()));
  }
}

/** A running dataflow: every service of one definition. */
export class DataflowRuntime {
  /** 'output' events: OutputEvent, for each result as it is emitted (the live change feed). */
  readonly events = new EventEmitter();
  state: DataflowState = 'starting';
  lastError: string | undefined;
  readonly startedAt = new Date().toISOString();
  private runners: ServiceRunner[] = [];
  private release: () => void = () => {};
  private ownClient = false;
  private donePromise: Promise<void> = Promise.resolve();

  private constructor(
    readonly spec: DataflowSpec,
    private readonly client: Freshet,
    private readonly options: RunOptions,
    private readonly log: Logger,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Connects (unless given a client), creates missing topics, binds SmartModules, restores checkpoints, starts consuming. */
  static async start(spec: DataflowSpec, options: RunOptions): Promise<DataflowRuntime> {
    const log = options.log ?? pino({ level: process.env.FRESHET_LOG ?? 'warn' }, pino.destination(2));
    const client = options.client ?? (await Freshet.connect({ ...(options.endpoint ? { endpoint: options.endpoint } : {}), clientId: `dataflow-${spec.name}` }));
    const runtime = new DataflowRuntime(spec, client, options, log);
    runtime.ownClient = !options.client;
    try {
      await runtime.ensureTopics();
      runtime.release = await bindSmartModules(spec, {
        loadRegistered: (name) => client.admin.getSmartModule(name),
        baseDir: options.baseDir ?? process.cwd(),
      });
      for (const service of spec.services) runtime.runners.push(new ServiceRunner(spec, service, client, options, log.child({ service: service.name }), runtime.events));
      for (const runner of runtime.runners) await runner.start();
    } catch (err) {
      await Promise.allSettled(runtime.runners.map((r) => r.stop(false)));
      runtime.release();
      if (runtime.ownClient) await client.close();
      throw err;
    }
    runtime.state = 'running';
    runtime.donePromise = Promise.all(runtime.runners.map((r) => r.done)).then(
      () => undefined,
      async (err: Error) => {
        runtime.state = 'failed';
        runtime.lastError = err.message;
        log.error({ err: err.message }, 'dataflow failed');
        await runtime.shutdown(false);
        throw err;
      },
    );
    runtime.donePromise.catch(() => {});
    log.info({ dataflow: spec.name, services: spec.services.map((s) => s.name) }, 'dataflow running');
    return runtime;
  }

  private async ensureTopics(): Promise<void> {
    const existing = new Set((await this.client.admin.listTopics()).map((t) => t.name));
    const wanted = new Set<string>();
    for (const service of this.spec.services) {
      for (const s of service.sources) wanted.add(s.topic);
      for (const s of service.sinks) wanted.add(s.topic);
      if (service.window?.late.policy === 'side-output') wanted.add(service.window.late.topic);
    }
    for (const topic of wanted) {
      if (existing.has(topic)) continue;
      try {
        await this.client.admin.createTopic(topic, { partitions: this.spec.topics.get(topic)?.partitions ?? 1 });
      } catch (err) {
        if (!/exists/i.test((err as Error).message)) throw err;
      }
    }
  }

  get name(): string {
    return this.spec.name;
  }

  get services(): string[] {
    return this.spec.services.map((s) => s.name);
  }

  /** Resolves when the dataflow stops; rejects if it failed. */
  get done(): Promise<void> {
    return this.donePromise;
  }

  private runner(service?: string): ServiceRunner {
    const runner = service === undefined ? (this.runners.find((r) => r.engine.spec.window) ?? this.runners[0]) : this.runners.find((r) => r.engine.spec.name === service);
    if (!runner) throw new Error(`dataflow ${this.spec.name} has no service "${service}" (services: ${this.services.join(', ')})`);
    return runner;
  }

  /** Current windows and series: `{key}`, `{group}` or a summary; of one service (default: the first with a window). */
  query(q: Query = {}, service?: string): unknown {
    return this.runner(service).engine.query(q);
  }

  /** One read-only SELECT over a service's state (sql.ts), chosen as for query. */
  sql(query: string, service?: string): Promise<SqlResult> {
    return queryState(this.runner(service).engine, query);
  }

  /** Keys with state, sorted (of one service, chosen as for query). */
  keys(service?: string): string[] {
    return this.runner(service).engine.keys();
  }

  status() {
    return {
      name: this.spec.name,
      version: this.spec.version,
      state: this.state,
      startedAt: this.startedAt,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      services: this.runners.map((r) => r.status()),
    };
  }

  private stopping: Promise<void> | undefined;
  private shutdown(checkpoint: boolean): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled(this.runners.map((r) => r.stop(checkpoint)));
      this.release();
      if (this.ownClient) await this.client.close();
    })();
    return this.stopping;
  }

  /** Stops consuming, writes a final checkpoint per service, closes. */
  async stop(): Promise<void> {
    if (this.state === 'running' || this.state === 'starting') this.state = 'stopping';
    await this.shutdown(true);
    if (this.state === 'stopping') this.state = 'stopped';
  }
}

/** Starts a dataflow (see DataflowRuntime.start). */
export function runDataflow(spec: DataflowSpec, options: RunOptions): Promise<DataflowRuntime> {
  return DataflowRuntime.start(spec, options);
}
