// The connector runtime: runs one connector (a parsed config and its
// registered type) against a node, and supervises it (the common
// supervisor: restarts with exponential backoff). Everything common to connectors lives here:
//
// - the topic is created when missing (0.2.0 topic object, else 1 partition);
// - sources: records go through the client-side transforms, then a producer
//   built from meta.producer; `emit` resolves once every record is
//   acknowledged (that is the backpressure); a record a transform fails on
//   goes to the dead-letter topic; checkpoints are a JSON file per connector;
// - sinks: a consumer with a durable consumer id (meta.consumer.id, else
//   `connector-<name>`), manual commit, transforms on the SPU. Records are
//   read ahead into a bounded queue and handed to `write` in order, in
//   batches; the position is committed only after `write` resolved (and
//   rejected records reached the dead-letter topic), never past a record
//   not yet written. A write that throws is retried with backoff; after
//   `maxWriteAttempts` the connector restarts (resuming at the committed
//   position), so a crash anywhere repeats at most the batch in flight.
// - dead letters: topic `<name>-dlq`, created on first use; each record is
//   JSON {connector, error, source?, timestamp, key, value, encoding}.

import path from 'node:path';
import type { Logger } from 'pino';
import { Freshet, Offset, ServerError, type Consumer, type ConsumerRecord, type CreateTopicOptions, type Producer } from '../client/index.js';
import { backoffDelay, Supervisor, type Unit, type UnitState, type UnitStatus } from '../common/index.js';
import type { SmartRecord } from '../smartengine/index.js';
import type { ConnectorConfig } from './config.js';
import { RejectedRecord, type SinkRecord, type SourceRecord, type Sink, type Source } from './connector.js';
import { fileCheckpoints } from './checkpoints.js';
import { ConfigError } from './errors.js';
import { SourceTransforms, sinkSmartModules } from './transforms.js';

export interface ConnectorStats {
  /** Records stored (sources) or written to the destination (sinks). */
  records: number;
  /** Records sent to the dead-letter topic. */
  deadLetters: number;
  /** Failed writes that were retried (sinks). */
  retries: number;
  /** ms since the epoch of the last record moved. */
  lastRecordAt?: number;
}

export interface RuntimeOptions {
  /** `host:port` of the SC. */
  endpoint: string;
  /** Where connectors keep their state: `<stateDir>/<name>/checkpoint.json`. */
  stateDir: string;
  log: Logger;
  /** Aborting stops the connector (cleanly: the batch in flight is finished and committed). */
  signal: AbortSignal;
  /** Called once the connector is set up and moving data. */
  onRunning?: () => void;
  /** Called on a transient problem the runtime handles itself (a retried write). */
  onWarning?: (message: string) => void;
  stats?: ConnectorStats;
  /** Sink tuning. */
  sink?: { maxBatchRecords?: number; maxQueuedRecords?: number; maxWriteAttempts?: number; retryMinMs?: number; retryMaxMs?: number };
}

export function newStats(): ConnectorStats {
  return { records: 0, deadLetters: 0, retries: 0 };
}

export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('stopped');
  }
}

/** Waits `ms`, or rejects with AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Creates the topic unless it exists. */
export async function ensureTopic(client: Freshet, topic: string, options: CreateTopicOptions): Promise<void> {
  try {
    await client.admin.createTopic(topic, options);
  } catch (err) {
    if (err instanceof ServerError && err.errorName === 'TopicAlreadyExists') return;
    throw err;
  }
}

function encodeData(data: Buffer | null): { text: string | null; binary: boolean } {
  if (data === null) return { text: null, binary: false };
  const text = data.toString('utf8');
  return Buffer.from(text, 'utf8').equals(data) ? { text, binary: false } : { text: data.toString('base64'), binary: true };
}

/** The dead-letter topic of a connector: `<name>-dlq`, created on first use. */
export class DeadLetters {
  readonly topic: string;
  private producer: Promise<Producer> | undefined;

  constructor(
    private readonly client: Freshet,
    private readonly connector: string,
    private readonly log: Logger,
  ) {
    this.topic = `${connector}-dlq`;
  }

  async send(error: string, key: Buffer | string | null | undefined, value: Buffer | string, source?: { topic: string; partition: number; offset: number }): Promise<void> {
    this.producer ??= (async () => {
      await ensureTopic(this.client, this.topic, { partitions: 1 });
      return this.client.producer(this.topic, { lingerMs: 0 });
    })();
    this.producer.catch(() => (this.producer = undefined));
    const producer = await this.producer;
    const keyBuffer = key === null || key === undefined ? null : Buffer.isBuffer(key) ? key : Buffer.from(key, 'utf8');
    const valueBuffer = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
    const k = encodeData(keyBuffer);
    const v = encodeData(valueBuffer);
    const entry = {
      connector: this.connector,
      error,
      ...(source ? { source } : {}),
      timestamp: new Date().toISOString(),
      key: k.text,
      value: v.text,
      encoding: k.binary || v.binary ? 'base64' : 'utf8',
    };
    this.log.warn({ deadLetterTopic: this.topic, error, ...(source ?? {}) }, 'record sent to the dead-letter topic');
    await producer.send(keyBuffer, JSON.stringify(entry));
  }
}

/** Runs a connector until `signal` aborts (resolves) or it fails (rejects). No restarts: see superviseConnector. */
export async function runConnector(config: ConnectorConfig, options: RuntimeOptions): Promise<void> {
  const client = await Freshet.connect({ endpoint: options.endpoint, clientId: `fluvio_connector_${config.name}`, connectTimeoutMs: 5000 });
  try {
    await ensureTopic(client, config.topic, config.topicOptions);
    if (config.type.kind === 'source') await runSource(client, config, options);
    else await runSink(client, config, options);
  } finally {
    await client.close().catch(() => {});
  }
}

async function readLookBack(client: Freshet, topic: string, last: number, ageMs: number | undefined): Promise<SmartRecord[]> {
  if (last <= 0 && ageMs === undefined) return [];
  const consumer = await client.consumer(topic, { offset: last > 0 ? Offset.end(last) : 'beginning', continuous: false });
  const out: SmartRecord[] = [];
  const oldest = ageMs === undefined ? -Infinity : Date.now() - ageMs;
  for await (const record of consumer) {
    if (record.timestamp >= 0 && record.timestamp < oldest) continue;
    out.push({ attributes: 0, timestampDelta: 0, offsetDelta: out.length, key: record.key, value: record.value, headers: 0 });
  }
  return out;
}

async function runSource(client: Freshet, config: ConnectorConfig, options: RuntimeOptions): Promise<void> {
  const { log, signal } = options;
  const stats = options.stats ?? newStats();
  const transforms = await SourceTransforms.create(client, config.transforms);
  try {
    if (transforms?.needsLookBack) await transforms.lookBack((last, ageMs) => readLookBack(client, config.topic, last, ageMs));
    const producer = await client.producer(config.topic, {
      ...(config.producer.lingerMs !== undefined ? { lingerMs: config.producer.lingerMs } : {}),
      ...(config.producer.batchSize !== undefined ? { batchSize: config.producer.batchSize } : {}),
      ...(config.producer.compression !== undefined ? { compression: config.producer.compression } : {}),
    });
    const deadLetters = new DeadLetters(client, config.name, log);
    const emit = async (records: readonly SourceRecord[]): Promise<void> => {
      if (records.length === 0) return;
      let out: readonly SourceRecord[] = records;
      let failed: { record: SourceRecord; error: string }[] = [];
      if (transforms) ({ records: out, failed } = await transforms.process(records));
      await Promise.all([
        ...out.map((r) => producer.send(r.key ?? null, r.value, r.timestamp !== undefined ? { timestamp: r.timestamp } : {})),
        ...failed.map((f) => deadLetters.send(f.error, f.record.key, f.record.value)),
      ]);
      stats.records += out.length;
      stats.deadLetters += failed.length;
      stats.lastRecordAt = Date.now();
    };
    const source: Source = await config.type.createSource!({
      config: config.section,
      name: config.name,
      signal,
      log,
      emit,
      checkpoints: fileCheckpoints(path.join(options.stateDir, config.name, 'checkpoint.json')),
    });
    options.onRunning?.();
    log.info({ topic: config.topic, type: config.type.type }, 'source connector running');
    try {
      await source.run();
    } finally {
      await producer.flush().catch(() => {});
    }
  } finally {
    transforms?.close();
  }
}

function sinkRecord(record: ConsumerRecord): SinkRecord {
  return { topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value };
}

async function runSink(client: Freshet, config: ConnectorConfig, options: RuntimeOptions): Promise<void> {
  const { log, signal } = options;
  const stats = options.stats ?? newStats();
  const maxBatch = options.sink?.maxBatchRecords ?? 500;
  const maxQueued = options.sink?.maxQueuedRecords ?? 2000;
  const maxAttempts = options.sink?.maxWriteAttempts ?? 6;
  const retryMin = options.sink?.retryMinMs ?? 200;
  const retryMax = options.sink?.retryMaxMs ?? 10_000;
  const smartmodules = await sinkSmartModules(client, config.transforms);
  const sink: Sink = await config.type.createSink!({ config: config.section, name: config.name, signal, log });
  let consumer: Consumer | undefined;
  try {
    consumer = await client.consumer(config.topic, {
      offset: config.consumer.start,
      consumerId: config.consumer.id,
      commit: 'manual',
      ...(config.consumer.partitions ? { partition: config.consumer.partitions } : {}),
      ...(config.consumer.maxBytes !== undefined ? { maxBytes: config.consumer.maxBytes } : {}),
      ...(smartmodules.length > 0 ? { smartmodules } : {}),
    });
    const deadLetters = new DeadLetters(client, config.name, log);

    // Read ahead into a bounded queue.
    const queue: ConsumerRecord[] = [];
    let readerDone = false;
    let readerError: unknown;
    let wakeWriter: (() => void) | undefined;
    let wakeReader: (() => void) | undefined;
    const wake = () => {
      const w = wakeWriter;
      wakeWriter = undefined;
      w?.();
    };
    // A stop finishes (and commits) the batch in flight; the consumer is closed after that, which ends the reader.
    const onAbort = () => {
      wake();
      wakeReader?.();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const reader = (async () => {
      try {
        for await (const record of consumer!) {
          queue.push(record);
          wake();
          while (queue.length >= maxQueued && !signal.aborted) await new Promise<void>((resolve) => (wakeReader = resolve));
          if (signal.aborted) break;
        }
      } catch (err) {
        readerError = err;
      } finally {
        readerDone = true;
        wake();
      }
    })();

    options.onRunning?.();
    log.info({ topic: config.topic, consumerId: config.consumer.id, type: config.type.type }, 'sink connector running');
    try {
      while (!signal.aborted) {
        if (queue.length === 0) {
          if (readerDone) {
            if (readerError !== undefined && !signal.aborted) throw readerError;
            break;
          }
          await new Promise<void>((resolve) => (wakeWriter = resolve));
          continue;
        }
        const batch = queue.splice(0, maxBatch);
        const w = wakeReader;
        wakeReader = undefined;
        w?.();
        const records = batch.map(sinkRecord);
        let result;
        for (let attempt = 0; ; attempt++) {
          try {
            result = await sink.write(records);
            break;
          } catch (err) {
            if (signal.aborted) throw new AbortError();
            if (attempt + 1 >= maxAttempts) {
              throw new Error(`writing ${records.length} record(s) failed ${maxAttempts} times, last: ${(err as Error).message}`, { cause: err });
            }
            stats.retries++;
            const wait = backoffDelay(attempt, { minMs: retryMin, maxMs: retryMax });
            const message = `write failed (attempt ${attempt + 1}/${maxAttempts}), retrying in ${wait} ms: ${(err as Error).message}`;
            log.warn({ err: (err as Error).message, attempt: attempt + 1, waitMs: wait }, 'sink write failed, retrying');
            options.onWarning?.(message);
            await sleep(wait, signal);
          }
        }
        const rejected = result?.rejected ?? [];
        for (const reject of rejected) {
          if (!(reject instanceof RejectedRecord)) continue;
          const r = reject.record;
          await deadLetters.send(reject.message, r.key, r.value, { topic: r.topic, partition: r.partition, offset: r.offset });
        }
        stats.records += records.length - rejected.length;
        stats.deadLetters += rejected.length;
        stats.lastRecordAt = Date.now();
        const upTo = new Map<number, number>();
        for (const r of records) upTo.set(r.partition, Math.max(upTo.get(r.partition) ?? -1, r.offset));
        try {
          await consumer.commit(upTo);
        } catch (err) {
          // The stream reconnects; the next commit carries this position too.
          log.warn({ err: (err as Error).message }, 'storing the consumer offset failed; will retry with the next batch');
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await consumer.close().catch(() => {});
      await reader;
    }
  } finally {
    await consumer?.close().catch(() => {});
    await sink.close().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'closing the sink failed'));
  }
}

export type ConnectorState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

export interface ConnectorStatus {
  state: ConnectorState;
  /** The last error that stopped or restarted it. */
  lastError?: string;
  lastErrorAt?: string;
  /** Last transient problem (a retried write). */
  lastWarning?: string;
  restarts: number;
  startedAt?: string;
  /** When the next restart happens (state restarting). */
  nextRestartAt?: string;
}

export interface ConnectorUnitOptions extends Omit<RuntimeOptions, 'onRunning' | 'signal' | 'onWarning'> {
  /** Loads (parses) the config; called before every start, so a rotated secret is picked up. */
  load: () => Promise<ConnectorConfig> | ConnectorConfig;
}

/** A connector as a unit of the common supervisor: a start resolves once it moves data. */
function connectorUnit(options: ConnectorUnitOptions, onWarning: (message: string) => void): Unit<void> {
  return {
    async start(signal) {
      const config = await options.load();
      for (const warning of config.warnings) options.log.warn(warning);
      const controller = new AbortController();
      const abort = () => controller.abort();
      signal.addEventListener('abort', abort, { once: true });
      let markRunning!: () => void;
      const running = new Promise<void>((resolve) => (markRunning = resolve));
      const run = runConnector(config, { ...options, signal: controller.signal, onRunning: markRunning, onWarning });
      try {
        // A source whose run() returns without being stopped has nothing more to do (e.g. a file read to its end with no tail).
        const ended = run.then(() => {
          if (!controller.signal.aborted) throw new Error('the connector stopped by itself');
        });
        await Promise.race([running, ended]);
        return {
          value: undefined,
          done: ended,
          async stop() {
            controller.abort();
            await run.catch(() => {});
          },
        };
      } finally {
        signal.removeEventListener('abort', abort);
      }
    },
  };
}

export interface ConnectorSupervisorOptions {
  /** Restart backoff (ms). Defaults 1000 / 60 000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run that lasted this long resets the backoff. Default 30 s. */
  healthyAfterMs?: number;
  onStatus?: (name: string, status: ConnectorStatus) => void;
}

const CONNECTOR_STATE: Record<Exclude<UnitState, 'stopping'>, ConnectorState> = {
  starting: 'starting',
  running: 'running',
  backoff: 'restarting',
  failed: 'failed',
  stopped: 'stopped',
};

/**
 * Connectors kept running by the common supervisor, each restarted with
 * backoff when it fails. A config error (invalid config, missing secret,
 * unknown SmartModule) is not retried: the state becomes `failed`.
 */
export class ConnectorSupervisor {
  private readonly units: Supervisor<void>;
  private readonly statuses = new Map<string, ConnectorStatus>();
  private readonly logs = new Map<string, Logger>();

  constructor(private readonly options: ConnectorSupervisorOptions = {}) {
    this.units = new Supervisor({
      backoff: { minMs: options.minBackoffMs ?? 1000, maxMs: options.maxBackoffMs ?? 60_000 },
      healthyAfterMs: options.healthyAfterMs ?? 30_000,
      isPermanent: (err) => err instanceof ConfigError,
      onStatus: (name, status) => this.unitStatus(name, status),
    });
  }

  private unitStatus(name: string, unit: UnitStatus): void {
    // A connector being stopped shows what it was until it is stopped.
    if (unit.state === 'stopping') return;
    const state = CONNECTOR_STATE[unit.state];
    const previous = this.statuses.get(name);
    const log = this.logs.get(name);
    if (state === 'restarting' && previous?.state !== 'restarting') {
      log?.error({ err: unit.lastError, restartInMs: Date.parse(unit.nextRestartAt!) - Date.now() }, 'connector failed; restarting');
    } else if (state === 'failed' && previous?.state !== 'failed') {
      log?.error({ err: unit.lastError }, 'connector config is invalid; not restarting');
    }
    this.report(name, {
      state,
      restarts: unit.restarts,
      ...(unit.lastError !== undefined ? { lastError: unit.lastError, lastErrorAt: unit.lastErrorAt! } : {}),
      ...(previous?.lastWarning !== undefined ? { lastWarning: previous.lastWarning } : {}),
      ...(unit.startedAt !== undefined ? { startedAt: unit.startedAt } : {}),
      ...(unit.nextRestartAt !== undefined ? { nextRestartAt: unit.nextRestartAt } : {}),
    });
  }

  private report(name: string, status: ConnectorStatus): void {
    this.statuses.set(name, status);
    this.options.onStatus?.(name, { ...status });
  }

  /** Starts the connector and keeps it running; resolves with its status after the first start. */
  async add(name: string, options: ConnectorUnitOptions): Promise<ConnectorStatus> {
    this.logs.set(name, options.log);
    const onWarning = (message: string) => this.report(name, { ...this.statuses.get(name)!, lastWarning: message });
    await this.units.add(name, connectorUnit(options, onWarning), 'running');
    return this.status(name)!;
  }

  status(name: string): ConnectorStatus | undefined {
    const status = this.statuses.get(name);
    return status ? { ...status } : undefined;
  }

  /** Stops the connector (cleanly: the batch in flight is finished and committed) and forgets it. */
  async remove(name: string): Promise<void> {
    await this.units.remove(name);
    this.statuses.delete(name);
    this.logs.delete(name);
  }

  /** Stops every connector. */
  close(): Promise<void> {
    return this.units.close();
  }
}

export interface SuperviseOptions extends ConnectorUnitOptions, Omit<ConnectorSupervisorOptions, 'onStatus'> {
  /** Aborting stops the connector. */
  signal: AbortSignal;
  onStatus?: (status: ConnectorStatus) => void;
}

/**
 * Runs one connector until `signal` aborts or it fails for good (a config
 * error), restarting it with backoff otherwise; resolves with its last status.
 */
export async function superviseConnector(options: SuperviseOptions): Promise<ConnectorStatus> {
  const { signal } = options;
  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  let failed: ConnectorStatus | undefined;
  const supervisor = new ConnectorSupervisor({
    ...options,
    onStatus: (_name, status) => {
      if (failed) return;
      if (status.state === 'failed') {
        failed = status;
        settle();
      }
      options.onStatus?.(status);
    },
  });
  const name = 'connector';
  signal.addEventListener('abort', settle, { once: true });
  if (signal.aborted) settle();
  void supervisor.add(name, options);
  await finished;
  signal.removeEventListener('abort', settle);
  const last = supervisor.status(name);
  await supervisor.close();
  return failed ?? supervisor.status(name) ?? last!;
}
