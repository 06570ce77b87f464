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
import { expressionFn } from './expr.js';
import {
  DEFAULT_CHECKPOINT,
  DEFAULT_HISTORY,
  DEFAULT_LIMITS,
  DEFAULT_MIN_POINTS,
  DEFAULT_RETIRE_AFTER,
  type AggregateSpec,
  type FillRule,
  type StateLimits,
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

/** A service with nothing configured yet: the defaults both front ends start from. */
export function newService(name: string): ServiceSpec {
  return {
    name,
    sources: [],
    transforms: [],
    aggregates: [],
    series: [],
    correlations: [],
    timeSteps: 'dense',
    retireAfter: DEFAULT_RETIRE_AFTER,
    limits: { ...DEFAULT_LIMITS },
    sinks: [],
    history: DEFAULT_HISTORY,
  };
}

/** A SmartModule operator: registered on the node by name, or a path to a .wasm file. */
export function smartmodule(uses: string, params?: Record<string, string>): SmartModuleRef {
  return params ? { uses, params } : { uses };
}

function toFn<T>(fn: Fn<T>, label: string): { fn: ValueFn<T>; label: string } {
  if (typeof fn === 'function') return { fn: fn as ValueFn<T>, label: fn.name ? `${label} ${fn.name}()` : label };
  return { fn: expressionFn(fn) as ValueFn<T>, label: `${label} \`${fn}\`` };
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
  /** What a step without events holds (dense time steps); default by op (see defaultFill). */
  fill?: FillRule;
}

export interface AggregateOptions {
  fill?: FillRule;
}

const def = (op: AggregateOp, field: Fn<unknown> | undefined, options: AggregateOptions): AggregateDef => ({ op, ...(field !== undefined ? { field } : {}), ...options });
export const count = (options: AggregateOptions = {}): AggregateDef => def('count', undefined, options);
export const sum = (field: Fn<unknown>, options: AggregateOptions = {}): AggregateDef => def('sum', field, options);
export const min = (field: Fn<unknown>, options: AggregateOptions = {}): AggregateDef => def('min', field, options);
export const max = (field: Fn<unknown>, options: AggregateOptions = {}): AggregateDef => def('max', field, options);
export const mean = (field: Fn<unknown>, options: AggregateOptions = {}): AggregateDef => def('mean', field, options);
export const last = (field: Fn<unknown>, options: AggregateOptions = {}): AggregateDef => def('last', field, options);
export const distinct = (field: Fn<unknown>, options: AggregateOptions = {}): AggregateDef => def('distinct', field, options);

export interface WindowOptions {
  grace?: string | number;
  idleness?: string | number;
  /** 'drop' (default) or { sideOutput: topic }. */
  late?: 'drop' | { sideOutput: string };
}

/** A correlation as written (YAML or .correlate()). */
export interface CorrelationOptions {
  /** Fact of the first key; y: of the second (default x). */
  x: string;
  y?: string;
  /** The last N steps. */
  windows: number;
  /** y is taken `lag` steps before x. Default 0. */
  lag?: number;
  /** Explicit key pairs; or withinGroups: every two keys of a group; or sameKey: x against y of each key. */
  pairs?: [string, string][];
  withinGroups?: boolean;
  sameKey?: boolean;
  top?: number;
  minPoints?: number;
}

/** The spec of a correlation; its name is x, or x~y, with @lag when lagged. */
export function correlationSpec(o: CorrelationOptions): CorrelationSpec {
  const y = o.y ?? o.x;
  const lag = o.lag ?? 0;
  const between = o.sameKey ? 'key' : o.withinGroups ? 'group' : 'pairs';
  return {
    name: `${o.x}${y === o.x ? '' : `~${y}`}${lag === 0 ? '' : `@${lag}`}`,
    x: o.x,
    y,
    windows: o.windows,
    lag,
    between,
    ...(o.pairs !== undefined ? { pairs: o.pairs } : {}),
    ...(o.top !== undefined ? { top: o.top } : {}),
    minPoints: o.minPoints ?? DEFAULT_MIN_POINTS,
  };
}

export interface SeriesOptions {
  of: string;
  delta?: boolean;
  pctChange?: boolean;
  rollingMean?: number;
  /** A correlation of this fact (same fact across keys). */
  correlation?: Omit<CorrelationOptions, 'x' | 'y'>;
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
    this.spec = newService(name);
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
      const agg: AggregateSpec = { name, op: def.op, ...(def.fill !== undefined ? { fill: def.fill } : {}) };
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

  /** A fact's series (call once per fact). */
  series(options: SeriesOptions): this {
    this.spec.series.push({
      of: options.of,
      delta: options.delta ?? false,
      pctChange: options.pctChange ?? false,
      ...(options.rollingMean !== undefined ? { rollingMean: options.rollingMean } : {}),
    });
    if (options.correlation !== undefined) this.correlate({ ...options.correlation, x: options.of });
    return this;
  }

  /** A rolling correlation: fact x against fact y, of the same key, of listed pairs, or within groups. */
  correlate(options: CorrelationOptions): this {
    this.spec.correlations.push(correlationSpec(options));
    return this;
  }

  /** dense (default): every step from a key's first; sparse: only steps with events. */
  timeSteps(mode: 'dense' | 'sparse'): this {
    this.spec.timeSteps = mode;
    return this;
  }

  /** Steps without events after which a key's state is freed (default 1,000). */
  retireAfter(steps: number): this {
    this.spec.retireAfter = steps;
    return this;
  }

  limits(limits: Partial<StateLimits>): this {
    this.spec.limits = { ...this.spec.limits, ...limits };
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

export const FILL_RULES: readonly FillRule[] = ['zero', 'previous', 'none'];

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
      if (s.aggregates.length > 0 || s.series.length > 0 || s.correlations.length > 0) fail(`${at}: aggregates, series and correlations need a window`);
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
      if (a.fill !== undefined && !FILL_RULES.includes(a.fill)) fail(`${at}.aggregate.${a.name}.fill: expected one of ${FILL_RULES.join(', ')}`);
    }
    const facts = new Set<string>();
    for (const series of s.series) {
      const here = `${at}.series.${series.of}`;
      if (!aggNames.has(series.of)) fail(`${here}: "${series.of}" is not an aggregate of the window (${[...aggNames].join(', ')})`);
      if (facts.has(series.of)) fail(`${here}: a second series of the same aggregate`);
      facts.add(series.of);
      if (series.rollingMean !== undefined && (!Number.isInteger(series.rollingMean) || series.rollingMean < 1)) fail(`${here}.rolling-mean: expected an integer ≥ 1`);
    }
    const correlationNames = new Set<string>();
    for (const c of s.correlations) {
      const here = `${at}.correlations.${c.name}`;
      if (correlationNames.has(c.name)) fail(`${here}: a second correlation of the same facts and lag`);
      correlationNames.add(c.name);
      for (const f of [c.x, c.y]) if (!aggNames.has(f)) fail(`${here}: "${f}" is not an aggregate of the window (${[...aggNames].join(', ')})`);
      if (!Number.isInteger(c.windows) || c.windows < 3) fail(`${here}.windows: expected an integer ≥ 3 (r needs 3 points)`);
      if (!Number.isInteger(c.lag) || c.lag < 0) fail(`${here}.lag: expected an integer ≥ 0`);
      if (!Number.isInteger(c.minPoints) || c.minPoints < 3) fail(`${here}.min-points: expected an integer ≥ 3`);
      if (c.top !== undefined && (!Number.isInteger(c.top) || c.top < 1)) fail(`${here}.top: expected an integer ≥ 1`);
      if (c.between === 'key' && c.x === c.y && c.lag === 0) fail(`${here}: a fact against itself in the same key is always 1; give y: another fact, or a lag`);
      if (c.between === 'group' && !s.group) fail(`${here}.within: group needs a group (partition.group / .group())`);
      if (c.between === 'pairs') {
        if ((c.pairs ?? []).length === 0) fail(`${here}: give pairs, within: group, or between: key`);
        for (const pair of c.pairs!) {
          if (!Array.isArray(pair) || pair.length !== 2 || pair.some((k) => typeof k !== 'string')) fail(`${here}.pairs: each pair is [keyA, keyB]`);
        }
      }
    }
    if (!Number.isInteger(s.retireAfter) || s.retireAfter < 1) fail(`${at}.retire-after: expected an integer ≥ 1 (steps)`);
    for (const [name, value] of Object.entries(s.limits)) {
      if (!Number.isInteger(value) || value < 1) fail(`${at}.limits.${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: expected an integer ≥ 1`);
    }
  }
}
