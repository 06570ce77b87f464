// The TypeScript API for dataflows; the YAML form compiles to the same spec.
//
//   const spec = dataflow('price-stats')
//     .source('prices', { offset: 'beginning' })
//     .filter((v) => v.price > 0)                       // or an expression: .filter('$.price > 0')
//     .assignTimestamp('$.ts')
//     .assignKey((v) => v.product)
//     .group('$.brand')
//     .window(tumbling('1m'), { grace: '10s', idleness: '2m', late: { sideOutput: 'late-prices' } })
//     .aggregate({ events: count(), avg: mean('$.price'), sellers: distinct('$.seller') })
//     .series({ of: 'avg', delta: true, pctChange: true, rollingMean: 5, correlation: { windows: 10, withinGroups: true } })
//     .sink('price-stats')
//     .build();
//
// Functions receive (value, meta) with meta = { key, timestamp, topic,
// partition, offset }, and must be synchronous and deterministic (no clock,
// no randomness): a replay after a crash must compute the same thing.

import { AGGREGATE_OPS, type AggregateOp } from './aggregates.js';
import { parseDuration } from './duration.js';
import { compileExpression } from './expr.js';
import {
  DEFAULT_CHECKPOINT,
  DEFAULT_HISTORY,
  type AggregateSpec,
  type CheckpointPolicy,
  type CorrelationSpec,
  type DataflowSpec,
  type EmitKind,
  type LatePolicy,
  type Operator,
  type OperatorKind,
  type ServiceSpec,
  type SmartModuleRef,
  type SinkSpec,
  type SourceSpec,
  type ValueFn,
} from './spec.js';
import type { WindowConfig } from './windows.js';

/** A value: a function, or an expression text (`$.price * 2`, see expr.ts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Fn<T> = ((value: any, meta: import('./spec.js').RecordMeta) => T) | string;

export class DataflowSpecError extends Error {}

/** A SmartModule operator: registered on the node by name, or a path to a .wasm file. */
export function smartmodule(uses: string, params?: Record<string, string>): SmartModuleRef {
  return params ? { uses, params } : { uses };
}

function toFn<T>(fn: Fn<T>, label: string): { fn: ValueFn<T>; label: string } {
  if (typeof fn === 'function') return { fn: fn as ValueFn<T>, label: fn.name ? `${label} ${fn.name}()` : label };
  const compiled = compileExpression(fn);
  return { fn: (value, meta) => compiled({ value, key: meta.key, timestamp: meta.timestamp, topic: meta.topic, partition: meta.partition, offset: meta.offset }) as T, label: `${label} \`${fn}\`` };
}

export interface WindowShape {
  kind: 'tumbling' | 'sliding';
  size: number;
  slide: number;
}

export function tumbling(size: string | number): WindowShape {
  const ms = parseDuration(size);
  return { kind: 'tumbling', size: ms, slide: ms };
}

export function sliding(size: string | number, slide: string | number): WindowShape {
  return { kind: 'sliding', size: parseDuration(size), slide: parseDuration(slide) };
}

export interface AggregateDef {
  op: AggregateOp;
  field?: Fn<unknown>;
}

export const count = (): AggregateDef => ({ op: 'count' });
export const sum = (field: Fn<unknown>): AggregateDef => ({ op: 'sum', field });
export const min = (field: Fn<unknown>): AggregateDef => ({ op: 'min', field });
export const max = (field: Fn<unknown>): AggregateDef => ({ op: 'max', field });
export const mean = (field: Fn<unknown>): AggregateDef => ({ op: 'mean', field });
export const last = (field: Fn<unknown>): AggregateDef => ({ op: 'last', field });
export const distinct = (field: Fn<unknown>): AggregateDef => ({ op: 'distinct', field });

export interface WindowOptions {
  grace?: string | number;
  idleness?: string | number;
  /** 'drop' (default) or { sideOutput: topic }. */
  late?: 'drop' | { sideOutput: string };
}

export interface SeriesOptions {
  of: string;
  delta?: boolean;
  pctChange?: boolean;
  rollingMean?: number;
  correlation?: CorrelationSpec;
}

type OperatorArg = Fn<unknown> | SmartModuleRef;

function isSmartModuleRef(v: unknown): v is SmartModuleRef {
  return typeof v === 'object' && v !== null && typeof (v as SmartModuleRef).uses === 'string';
}

function operator(kind: OperatorKind, arg: OperatorArg, label: string): Operator {
  if (isSmartModuleRef(arg)) return { kind, label: `${label} (${kind} SmartModule ${arg.uses})`, smartmodule: arg };
  const { fn, label: l } = toFn(arg, `${label} (${kind})`);
  return { kind, label: l, fn };
}

export class ServiceBuilder {
  private readonly spec: ServiceSpec;

  constructor(
    private readonly parent: DataflowBuilder,
    name: string,
  ) {
    this.spec = { name, sources: [], transforms: [], aggregates: [], sinks: [], history: DEFAULT_HISTORY };
  }

  /** Reads a topic (several sources merge). */
  source(topic: string, options: { offset?: 'beginning' | 'end'; converter?: 'json' | 'raw' } = {}): this {
    const source: SourceSpec = { topic, offset: options.offset ?? 'beginning', converter: options.converter ?? 'json', transforms: [] };
    this.spec.sources.push(source);
    return this;
  }

  private op(kind: OperatorKind, arg: OperatorArg): this {
    this.spec.transforms.push(operator(kind, arg, `${this.spec.name}.transforms[${this.spec.transforms.length}]`));
    return this;
  }

  filter(fn: Fn<unknown> | SmartModuleRef): this {
    return this.op('filter', fn);
  }

  map(fn: Fn<unknown> | SmartModuleRef): this {
    return this.op('map', fn);
  }

  /** null/undefined drops the record. */
  filterMap(fn: Fn<unknown> | SmartModuleRef): this {
    return this.op('filter-map', fn);
  }

  /** Zero or more values out. */
  flatMap(fn: Fn<Iterable<unknown> | null> | SmartModuleRef): this {
    return this.op('flat-map', fn as OperatorArg);
  }

  /** Event time in ms (or a date string). */
  assignTimestamp(fn: Fn<number | string>): this {
    return this.op('assign-timestamp', fn as Fn<unknown>);
  }

  assignKey(fn: Fn<string | number | null>): this {
    return this.op('assign-key', fn as Fn<unknown>);
  }

  /** The group of the record's key (a key belongs to one group; the latest wins). */
  group(fn: Fn<string | number | null>): this {
    this.spec.group = toFn(fn as Fn<unknown>, `${this.spec.name}.group`).fn;
    return this;
  }

  window(shape: WindowShape, options: WindowOptions = {}): this {
    const late: LatePolicy = options.late === undefined || options.late === 'drop' ? { policy: 'drop' } : { policy: 'side-output', topic: options.late.sideOutput };
    const config: WindowConfig = { ...shape, grace: parseDuration(options.grace ?? 0) };
    if (options.idleness !== undefined) config.idleness = parseDuration(options.idleness);
    this.spec.window = { ...config, late };
    return this;
  }

  aggregate(defs: Record<string, AggregateDef>): this {
    for (const [name, def] of Object.entries(defs)) {
      const agg: AggregateSpec = { name, op: def.op };
      if (def.field !== undefined) {
        const { fn, label } = toFn(def.field, `${this.spec.name}.aggregate.${name}`);
        agg.field = fn;
        agg.fieldLabel = label;
      }
      this.spec.aggregates.push(agg);
    }
    return this;
  }

  count(name = 'count'): this {
    return this.aggregate({ [name]: count() });
  }

  series(options: SeriesOptions): this {
    this.spec.series = {
      of: options.of,
      delta: options.delta ?? false,
      pctChange: options.pctChange ?? false,
      ...(options.rollingMean !== undefined ? { rollingMean: options.rollingMean } : {}),
      ...(options.correlation !== undefined ? { correlation: options.correlation } : {}),
    };
    return this;
  }

  sink(topic: string, options: { emit?: EmitKind[] } = {}): this {
    const sink: SinkSpec = { topic };
    if (options.emit) sink.emit = options.emit;
    this.spec.sinks.push(sink);
    return this;
  }

  /** Closed windows kept per key for queries (default 10). */
  history(windows: number): this {
    this.spec.history = windows;
    return this;
  }

  /** The dataflow's checkpoint policy (see DataflowBuilder.checkpoint). */
  checkpoint(policy: { interval?: string | number; records?: number }): this {
    this.parent.checkpoint(policy);
    return this;
  }

  /** Partitions to create a missing topic with (see DataflowBuilder.topic). */
  topic(name: string, options: { partitions?: number } = {}): this {
    this.parent.topic(name, options);
    return this;
  }

  /** Another service of the same dataflow. */
  service(name: string): ServiceBuilder {
    return this.parent.service(name);
  }

  build(): DataflowSpec {
    return this.parent.build();
  }

  /** @internal */
  get built(): ServiceSpec {
    return this.spec;
  }
}

export class DataflowBuilder {
  private readonly services: ServiceBuilder[] = [];
  private checkpointPolicy: CheckpointPolicy = { ...DEFAULT_CHECKPOINT };
  private readonly topics = new Map<string, { name: string; partitions: number }>();

  constructor(
    private readonly name: string,
    private readonly version = '0.1.0',
  ) {}

  service(name: string): ServiceBuilder {
    const service = new ServiceBuilder(this, name);
    this.services.push(service);
    return service;
  }

  /** Shorthand for a dataflow of one service named "main". */
  source(topic: string, options: Parameters<ServiceBuilder['source']>[1] = {}): ServiceBuilder {
    return this.service('main').source(topic, options);
  }

  checkpoint(policy: { interval?: string | number; records?: number }): this {
    if (policy.interval !== undefined) this.checkpointPolicy.intervalMs = parseDuration(policy.interval);
    if (policy.records !== undefined) this.checkpointPolicy.records = policy.records;
    return this;
  }

  /** Partitions to create a missing topic with (default 1). */
  topic(name: string, options: { partitions?: number } = {}): this {
    this.topics.set(name, { name, partitions: options.partitions ?? 1 });
    return this;
  }

  build(): DataflowSpec {
    const spec: DataflowSpec = {
      apiVersion: '0.5.0',
      name: this.name,
      version: this.version,
      services: this.services.map((s) => s.built),
      checkpoint: { ...this.checkpointPolicy },
      topics: new Map(this.topics),
    };
    validateSpec(spec);
    return spec;
  }
}

export function dataflow(name: string, options: { version?: string } = {}): DataflowBuilder {
  return new DataflowBuilder(name, options.version);
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks what both front ends could get wrong; messages name the service and field. */
export function validateSpec(spec: DataflowSpec): void {
  const fail = (message: string): never => {
    throw new DataflowSpecError(message);
  };
  if (!NAME.test(spec.name)) fail(`meta.name: "${spec.name}" must be lowercase letters, digits and '-' (at most 63)`);
  if (spec.services.length === 0) fail('services: a dataflow needs at least one service');
  const names = new Set<string>();
  for (const s of spec.services) {
    const at = `services.${s.name}`;
    if (names.has(s.name)) fail(`${at}: duplicate service name`);
    names.add(s.name);
    if (s.sources.length === 0) fail(`${at}.sources: at least one source topic is needed`);
    if (!Number.isInteger(s.history) || s.history < 1) fail(`${at}.history: expected an integer ≥ 1`);
    const w = s.window;
    if (!w) {
      if (s.aggregates.length > 0 || s.series) fail(`${at}: aggregates and series need a window`);
      continue;
    }
    if (!(w.size > 0)) fail(`${at}.window: the duration must be > 0`);
    if (!(w.slide > 0) || w.slide > w.size) fail(`${at}.window.sliding.slide: must be > 0 and ≤ the duration`);
    if (w.late.policy === 'side-output' && !w.late.topic) fail(`${at}.window.late.topic: needed with policy side-output`);
    if (s.aggregates.length === 0) s.aggregates.push({ name: 'count', op: 'count' });
    const aggNames = new Set<string>();
    for (const a of s.aggregates) {
      if (aggNames.has(a.name)) fail(`${at}.aggregate.${a.name}: duplicate name`);
      aggNames.add(a.name);
      if (!AGGREGATE_OPS.includes(a.op)) fail(`${at}.aggregate.${a.name}: unknown aggregate "${a.op}" (${AGGREGATE_OPS.join(', ')})`);
      if (a.op !== 'count' && !a.field) fail(`${at}.aggregate.${a.name}: ${a.op} needs the field it aggregates`);
    }
    const series = s.series;
    if (series) {
      if (!aggNames.has(series.of)) fail(`${at}.series.of: "${series.of}" is not an aggregate of the window (${[...aggNames].join(', ')})`);
      if (series.rollingMean !== undefined && (!Number.isInteger(series.rollingMean) || series.rollingMean < 1)) {
        fail(`${at}.series.rolling-mean.windows: expected an integer ≥ 1`);
      }
      const c = series.correlation;
      if (c) {
        if (!Number.isInteger(c.windows) || c.windows < 2) fail(`${at}.series.correlation.windows: expected an integer ≥ 2`);
        if (!c.withinGroups && (c.pairs ?? []).length === 0) fail(`${at}.series.correlation: give pairs, or within: group`);
        if (c.withinGroups && !s.group) fail(`${at}.series.correlation.within: group needs a group (partition.group / .group())`);
        for (const pair of c.pairs ?? []) {
          if (!Array.isArray(pair) || pair.length !== 2 || pair.some((k) => typeof k !== 'string')) fail(`${at}.series.correlation.pairs: each pair is [keyA, keyB]`);
        }
      }
    }
  }
}
