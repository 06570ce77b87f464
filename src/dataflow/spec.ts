// The compiled form of a dataflow: what the YAML (yaml.ts) and the
// TypeScript API (builder.ts) both produce, and what the engine runs.

import type { AggregateOp } from './aggregates.js';
import type { WindowConfig } from './windows.js';

/** What an operator function sees besides the value. */
export interface RecordMeta {
  /** The record key as text (assign-key replaces it), or null. */
  key: string | null;
  /** Event time (ms): the record timestamp until assign-timestamp sets it. */
  timestamp: number;
  topic: string;
  partition: number;
  offset: number;
}

export type ValueFn<T> = (value: unknown, meta: RecordMeta) => T;

/** A SmartModule used as an operator: a module registered on the node, or a .wasm file. */
export interface SmartModuleRef {
  /** Registered name (`uses: name`), or a path ending in .wasm. */
  uses: string;
  params?: Record<string, string>;
}

export type OperatorKind = 'filter' | 'map' | 'filter-map' | 'flat-map' | 'assign-timestamp' | 'assign-key';

export interface Operator {
  kind: OperatorKind;
  /** For messages and metrics: `transforms[2] (filter)`, the expression text, ... */
  label: string;
  /** The function (sync); for SmartModule operators it is bound at start (see smartmodules.ts). */
  fn?: ValueFn<unknown>;
  smartmodule?: SmartModuleRef;
}

export interface AggregateSpec {
  /** Output field name. */
  name: string;
  op: AggregateOp;
  /** The field aggregated (not used by count). */
  field?: ValueFn<unknown>;
  fieldLabel?: string;
}

export interface CorrelationSpec {
  /** The last N windows. */
  windows: number;
  /** Explicit key pairs. */
  pairs?: [string, string][];
  /** Every pair of keys within each group (needs the service's group function). */
  withinGroups?: boolean;
}

export interface SeriesSpec {
  /** The aggregate whose values form each key's series. */
  of: string;
  delta: boolean;
  pctChange: boolean;
  /** Rolling mean over the last N windows. */
  rollingMean?: number;
  correlation?: CorrelationSpec;
}

export type LatePolicy = { policy: 'drop' } | { policy: 'side-output'; topic: string };

export type EmitKind = 'window' | 'correlation' | 'record';

export interface SinkSpec {
  topic: string;
  /** Which outputs go there; default: every kind the service produces. */
  emit?: EmitKind[];
}

export interface SourceSpec {
  topic: string;
  /** Where a new dataflow starts reading (a restarted one resumes from its checkpoint). */
  offset: 'beginning' | 'end';
  converter: 'json' | 'raw';
  /** The topic's declared value type (json converter): a value that does not match is skipped and counted as failed. */
  schema?: { type: string; check: (value: unknown, at: string) => string | undefined };
  /** Per-source operators, before the merge. */
  transforms: Operator[];
}

export interface ServiceSpec {
  name: string;
  sources: SourceSpec[];
  /** The operator chain, in order (assign-timestamp and assign-key are operators too). */
  transforms: Operator[];
  /** The group a key belongs to (for correlations within groups and group queries). */
  group?: ValueFn<unknown>;
  window?: WindowConfig & { late: LatePolicy };
  aggregates: AggregateSpec[];
  series?: SeriesSpec;
  sinks: SinkSpec[];
  /** Closed windows kept per key for queries. Default 10. */
  history: number;
}

export interface CheckpointPolicy {
  /** Write a checkpoint at least this often while input flows (ms). Default 2000. */
  intervalMs: number;
  /** ... or after this many input records. Default 50 000. */
  records: number;
}

export interface DataflowSpec {
  apiVersion: string;
  name: string;
  version: string;
  services: ServiceSpec[];
  checkpoint: CheckpointPolicy;
  /** Topics to create when missing: id → {name, partitions}. */
  topics: Map<string, { name: string; partitions: number }>;
}

export const DEFAULT_CHECKPOINT: CheckpointPolicy = { intervalMs: 2000, records: 50_000 };
export const DEFAULT_HISTORY = 10;
