// The contract between the connector runtime and each built-in connector.
//
// The runtime (config parsing, secrets, topic creation, producer/consumer
// setup, transforms, offsets, dead letters, restarts, status and logs) owns
// everything common; a connector only moves data between its system and
// records. Sources push records through `emit`, which resolves once the
// records are stored (that is the backpressure: a source awaits it before it
// reads more). Sinks receive records in order and resolve once the
// destination accepted them; only then does the runtime commit the offsets.

import type { Logger } from 'pino';

/** A record a source hands to the runtime. */
export interface SourceRecord {
  key?: Buffer | string | null;
  value: Buffer | string;
  /** ms since the epoch; defaults to now. */
  timestamp?: number;
}

/** A record a sink receives (after the config's transforms ran on the SPU). */
export interface SinkRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
}

/** A source's resumable position, stored durably by the runtime per connector name. */
export interface Checkpoints {
  load<T>(): Promise<T | undefined>;
  save<T>(state: T): Promise<void>;
}

export interface ConnectorContext<Config> {
  /** The connector's own section of the YAML (e.g. `http:`), secrets already resolved, validated by the connector's schema. */
  config: Config;
  /** The connector instance name (meta.name). */
  name: string;
  /** Stopping the connector aborts this signal; long waits must honour it. */
  signal: AbortSignal;
  log: Logger;
}

export interface SourceContext<Config> extends ConnectorContext<Config> {
  /** Stores records (after the transforms); resolves once acknowledged by the node. */
  emit(records: readonly SourceRecord[]): Promise<void>;
  checkpoints: Checkpoints;
}

/** A record the destination refused; the runtime sends it to the dead-letter topic and goes on. */
export class RejectedRecord extends Error {
  constructor(
    readonly record: SinkRecord,
    reason: string,
  ) {
    super(reason);
  }
}

export interface SinkWriteResult {
  /** Records the destination refused for a reason tied to the record (bad shape, constraint); everything else was accepted. */
  rejected: RejectedRecord[];
}

export interface Source {
  /** Runs until ctx.signal aborts (resolve) or a fatal error (reject → the runtime restarts it with backoff). */
  run(): Promise<void>;
}

export interface Sink {
  /**
   * Writes records in order. Resolve only when the destination durably
   * accepted them (except those returned as rejected). Throwing means a
   * transient failure: the runtime retries the same records with backoff.
   */
  write(records: readonly SinkRecord[]): Promise<SinkWriteResult>;
  close(): Promise<void>;
}

/** A built-in connector type, as registered with the runtime. */
export interface ConnectorType<Config = unknown> {
  /** `meta.type`, e.g. `http-source`. */
  type: string;
  kind: 'source' | 'sink';
  /** The name of its top-level YAML section, e.g. `http`. */
  section: string;
  /** Validates the section (after secret resolution); throws with the key path and what was expected. */
  parse(section: unknown): Config;
  createSource?(ctx: SourceContext<Config>): Source | Promise<Source>;
  createSink?(ctx: ConnectorContext<Config>): Sink | Promise<Sink>;
}
