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

/** What a step without events holds for an aggregate (dense time steps). */
export type FillRule = 'zero' | 'previous' | 'none';

export interface AggregateSpec {
  /** Output field name. */
  name: string;
  op: AggregateOp;
  /** The field aggregated (not used by count). */
  field?: ValueFn<unknown>;
  fieldLabel?: string;
  /** Default: zero for count, sum, distinct; previous for last; none for min, max, mean. */
  fill?: FillRule;
}

/** A fact's series: its value at each closed step, with what is derived from it. */
export interface SeriesSpec {
  /** The aggregate whose values form each key's series (the fact). */
  of: string;
  delta: boolean;
  pctChange: boolean;
  /** Rolling mean over the last N steps. */
  rollingMean?: number;
}

/**
 * A rolling Pearson correlation of fact x against fact y over the last
 * `windows` steps, x at step t paired with y at step t − lag, between:
 * - `key`: the two facts of the same key;
 * - `pairs`: x of a against y of b for the listed pairs;
 * - `group`: every two keys of each group (ordered pairs when x ≠ y).
 */
export interface CorrelationSpec {
  /** Names the results (ids, queries): x, or x~y, with @lag when lagged. */
  name: string;
  x: string;
  y: string;
  windows: number;
  lag: number;
  between: 'key' | 'pairs' | 'group';
  pairs?: [string, string][];
  /** Keep and emit only the N pairs with the largest |r| per group and step. */
  top?: number;
  /** Fewer points than this: shown greyed out (the result is still emitted). */
  minPoints: number;
}

/** Bounds on a service's state (docs/dataflows.md "Limits"). */
export interface StateLimits {
  /** Keys with state; a new key beyond it evicts the idlest key whose windows are all closed, else it is refused. */
  maxKeys: number;
  /** Groups; a key of a new group beyond it is refused. */
  maxGroups: number;
  /** Pairs a correlation computes per step (all groups together, without top); a key that would exceed it is refused. */
  maxPairs: number;
}

export const DEFAULT_LIMITS: StateLimits = { maxKeys: 1_000_000, maxGroups: 100_000, maxPairs: 1_000_000 };
export const DEFAULT_MIN_POINTS = 5;
/** Steps without events after which a key stops being filled and its state is freed. */
export const DEFAULT_RETIRE_AFTER = 1_000;

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
  /** One entry per fact with a series. */
  series: SeriesSpec[];
  correlations: CorrelationSpec[];
  /** dense: every key has a value at every step from its first; sparse: only steps with events. */
  timeSteps: 'dense' | 'sparse';
  /** Steps without events after which a key's state is freed. */
  retireAfter: number;
  limits: StateLimits;
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
