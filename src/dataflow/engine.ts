// The deterministic core of one dataflow service: records in (in offset
// order per input partition), operators, event time, keys, windows,
// aggregates, series, correlations; outputs and queryable state out. No I/O:
// the runner (runner.ts) feeds it, writes its outputs and checkpoints its
// snapshot together with the input offsets. Given the same records in the
// same order it produces the same outputs and the same state, which is what
// makes a restore from a checkpoint followed by a replay exact.

import { aggregator, toNumber, type AggState, type Aggregator } from './aggregates.js';
import { alignedPairs, delta, mean, pctChange, pearson, type Point } from './series.js';
import type { Operator, RecordMeta, ServiceSpec, SourceSpec } from './spec.js';
import { isClosed, Watermark, windowStarts, type WatermarkSnapshot } from './windows.js';

/** A record as the runner hands it over. */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: number;
  /** ms since the epoch; -1 when unset. */
  timestamp: number;
  key: Buffer | string | null;
  value: Buffer | string;
}

export type OutputKind = 'window' | 'correlation' | 'record' | 'late';

export interface Output {
  kind: OutputKind;
  /** Deterministic id (window, correlation, late): the same result always gets the same id. */
  id?: string;
  /** The output record's key. */
  key: string | null;
  /** The output record's timestamp (window end for results). */
  timestamp: number;
  /** JSON-able value (results), or the transformed value of a record service. */
  value: unknown;
}

export interface SeriesFields {
  of: string;
  value: number | null;
  previous: { windowStart: number; value: number | null } | null;
  delta?: number | null;
  pctChange?: number | null;
  rollingMean?: number | null;
  rollingWindows?: number;
}

export interface WindowResult {
  type: 'window';
  dataflow: string;
  service: string;
  id: string;
  key: string;
  group: string | null;
  windowStart: number;
  windowEnd: number;
  values: Record<string, unknown>;
  series?: SeriesFields;
}

export interface CorrelationResult {
  type: 'correlation';
  dataflow: string;
  service: string;
  id: string;
  group: string | null;
  a: string;
  b: string;
  of: string;
  windowStart: number;
  windowEnd: number;
  /** N: the last N windows considered. */
  windows: number;
  /** Windows in which both keys had a number. */
  n: number;
  r: number | null;
}

export interface LateRecord {
  type: 'late';
  dataflow: string;
  service: string;
  id: string;
  key: string;
  timestamp: number;
  watermark: number;
  windowStarts: number[];
  source: { topic: string; partition: number; offset: number };
  value: unknown;
}

export interface ServiceMetrics {
  /** Input records taken (whatever became of them). */
  records: number;
  /** Items that reached the window (or the sinks of a record service). */
  items: number;
  /** Records the operators dropped entirely. */
  filtered: number;
  /** Records skipped because decoding or an operator failed. */
  failed: number;
  /** Aggregate fields that were not numbers (skipped for that aggregate). */
  invalidFields: number;
  /** Items no open window would take (dropped or side-output). */
  late: number;
  /** Of those, sent to the late topic. */
  lateSideOutput: number;
  /** Sliding windows: window instances an item was too late for while others took it. */
  lateAssignments: number;
  windowsClosed: number;
  windowResults: number;
  correlations: number;
  lastError: { message: string; topic: string; partition: number; offset: number } | null;
}

interface WindowInstance {
  start: number;
  end: number;
  keys: Map<string, AggState[]>;
}

interface KeyState {
  group: string | null;
  /** Series points, sorted by window start. */
  points: Point[];
  /** The last `history` closed windows of the key. */
  recent: WindowResult[];
}

export interface Item {
  value: unknown;
  meta: RecordMeta;
}

/** What a bound SmartModule operator returns for one record. */
export interface SmartModuleOutput {
  key: string | null;
  value: unknown;
}

export interface ServiceSnapshot {
  format: 1;
  watermark: WatermarkSnapshot;
  windows: { start: number; keys: [string, unknown[]][] }[];
  keys: [string, { group: string | null; points: [number, number | null][]; recent: [number, unknown[], SeriesFields | null][] }][];
  correlations: CorrelationResult[];
  metrics: ServiceMetrics;
}

export type Query = { key: string } | { group: string } | Record<string, never>;

export class OperatorError extends Error {}

function emptyMetrics(): ServiceMetrics {
  return {
    records: 0,
    items: 0,
    filtered: 0,
    failed: 0,
    invalidFields: 0,
    late: 0,
    lateSideOutput: 0,
    lateAssignments: 0,
    windowsClosed: 0,
    windowResults: 0,
    correlations: 0,
    lastError: null,
  };
}

function isThenable(v: unknown): boolean {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

function keyText(k: unknown): string | null {
  if (k === null || k === undefined) return null;
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return String(k);
  return JSON.stringify(k);
}

/** Event time from what assign-timestamp returned: epoch ms, or a date string. */
function eventTime(v: unknown, label: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string') {
    const n = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isFinite(n)) return n;
  }
  throw new OperatorError(`${label}: expected an event time (epoch ms or a date), got ${JSON.stringify(v) ?? String(v)}`);
}

/** The key records without one are aggregated under. */
export const NO_KEY = '*';

export interface EngineOptions {
  /** Wall clock (idleness, records without a timestamp). Default Date.now. */
  now?: () => number;
}

export class ServiceEngine {
  readonly metrics: ServiceMetrics = emptyMetrics();
  private readonly watermark: Watermark;
  private readonly windows = new Map<number, WindowInstance>();
  /** Open window starts, ascending. */
  private openStarts: number[] = [];
  private readonly keyStates = new Map<string, KeyState>();
  private readonly groups = new Map<string, Set<string>>();
  private readonly latestCorrelations = new Map<string, CorrelationResult>();
  private readonly aggregators: Aggregator[];
  private readonly sourceOps = new Map<string, { converter: 'json' | 'raw'; ops: Operator[]; schema: SourceSpec['schema'] }>();
  private outputs: Output[] = [];
  private readonly now: () => number;
  private readonly keepPoints: number;
  private readonly step: number;

  constructor(
    readonly dataflow: string,
    readonly spec: ServiceSpec,
    options: EngineOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.watermark = new Watermark(spec.window?.idleness);
    this.aggregators = spec.aggregates.map((a) => aggregator(a.op));
    for (const source of spec.sources) this.sourceOps.set(source.topic, { converter: source.converter, ops: source.transforms, schema: source.schema });
    this.step = spec.window?.slide ?? 1;
    this.keepPoints = Math.max(spec.series?.rollingMean ?? 1, spec.series?.correlation?.windows ?? 1, 1);
  }

  /** Declares an input partition: it holds the watermark back until it delivers or goes idle. */
  registerInput(topic: string, partition: number): void {
    this.watermark.register(`${topic}/${partition}`, this.now());
  }

  get watermarkValue(): number {
    return this.watermark.value;
  }

  /** Outputs produced since the last call, in order. */
  takeOutputs(): Output[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  get pendingOutputs(): number {
    return this.outputs.length;
  }

  /** Processes one input record. Never throws for bad data or a failing operator: the record is counted as failed and skipped. */
  process(record: InputRecord): void {
    this.metrics.records++;
    const input = `${record.topic}/${record.partition}`;
    const now = this.now();
    this.watermark.touch(input, now);
    let items: Item[];
    try {
      items = this.decodeAndTransform(record, now);
    } catch (err) {
      this.metrics.failed++;
      this.metrics.lastError = { message: (err as Error).message, topic: record.topic, partition: record.partition, offset: record.offset };
      return;
    }
    if (items.length === 0) {
      this.metrics.filtered++;
      return;
    }
    this.metrics.items += items.length;
    const window = this.spec.window;
    if (!window) {
      for (const item of items) {
        this.outputs.push({ kind: 'record', key: item.meta.key, timestamp: item.meta.timestamp, value: item.value });
      }
      return;
    }
    for (let i = 0; i < items.length; i++) this.accumulate(items[i], i);
    for (const item of items) this.watermark.observe(input, item.meta.timestamp);
    this.advance();
  }

  /** Wall-clock work: idleness. Call it now and then (the runner does, every few hundred ms). */
  tick(): void {
    if (!this.spec.window) return;
    const now = this.now();
    const allIdle = this.watermark.checkIdle(now);
    this.advance();
    if (allIdle && this.openStarts.length > 0 && this.watermark.idleAdvanceDue(now)) {
      const oldest = this.windows.get(this.openStarts[0])!;
      this.watermark.advanceTo(oldest.end + this.spec.window.grace, now);
      this.closeWindows();
    }
  }

  /** End of input (replays, tests): the watermark goes to +∞ and every open window closes. */
  finish(): void {
    if (!this.spec.window) return;
    this.watermark.advanceTo(Infinity, this.now());
    this.closeWindows();
  }

  private decodeAndTransform(record: InputRecord, now: number): Item[] {
    const source = this.sourceOps.get(record.topic);
    const text = typeof record.value === 'string' ? record.value : record.value.toString('utf8');
    let value: unknown = text;
    if ((source?.converter ?? 'json') === 'json') {
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new OperatorError(`value is not JSON: ${(err as Error).message}`);
      }
      const schema = source?.schema;
      if (schema) {
        const mismatch = schema.check(value, '$');
        if (mismatch !== undefined) throw new OperatorError(`value does not match type ${schema.type}: ${mismatch}`);
      }
    }
    const key = record.key === null ? null : typeof record.key === 'string' ? record.key : record.key.toString('utf8');
    const meta: RecordMeta = {
      key,
      timestamp: record.timestamp >= 0 ? record.timestamp : now,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    };
    let items: Item[] = [{ value, meta }];
    if (source && source.ops.length > 0) items = runOperators(source.ops, items);
    return runOperators(this.spec.transforms, items);
  }

  private accumulate(item: Item, index: number): void {
    const window = this.spec.window!;
    const ts = item.meta.timestamp;
    const key = item.meta.key ?? NO_KEY;
    const wm = this.watermark.value;
    let fields: unknown[] | undefined;
    let accepted = 0;
    const starts = windowStarts(window, ts);
    for (const start of starts) {
      if (isClosed(window, start, wm)) continue;
      let instance = this.windows.get(start);
      if (!instance) {
        instance = { start, end: start + window.size, keys: new Map() };
        this.windows.set(start, instance);
        this.insertStart(start);
      }
      let acc = instance.keys.get(key);
      if (!acc) {
        acc = this.aggregators.map((a) => a.init());
        instance.keys.set(key, acc);
      }
      fields ??= this.spec.aggregates.map((a) => (a.field ? a.field(item.value, item.meta) : undefined));
      for (let i = 0; i < acc.length; i++) {
        const next = this.aggregators[i].add(acc[i], fields[i], ts);
        if (next === 'invalid') this.metrics.invalidFields++;
        else acc[i] = next;
      }
      accepted++;
    }
    if (accepted === 0) {
      this.late(item, index, starts, wm);
      return;
    }
    this.metrics.lateAssignments += starts.length - accepted;
    if (this.spec.group) {
      const group = keyText(this.spec.group(item.value, item.meta));
      if (group !== null) this.setGroup(key, group);
    }
  }

  private late(item: Item, index: number, starts: number[], wm: number): void {
    this.metrics.late++;
    const policy = this.spec.window!.late;
    if (policy.policy !== 'side-output') return;
    this.metrics.lateSideOutput++;
    const { topic, partition, offset } = item.meta;
    const value: LateRecord = {
      type: 'late',
      dataflow: this.dataflow,
      service: this.spec.name,
      id: `${this.dataflow}:${this.spec.name}:late:${topic}:${partition}:${offset}:${index}`,
      key: item.meta.key ?? NO_KEY,
      timestamp: item.meta.timestamp,
      watermark: wm,
      windowStarts: starts,
      source: { topic, partition, offset },
      value: item.value,
    };
    this.outputs.push({ kind: 'late', id: value.id, key: value.key, timestamp: item.meta.timestamp, value });
  }

  private setGroup(key: string, group: string): void {
    let state = this.keyStates.get(key);
    if (!state) {
      state = { group: null, points: [], recent: [] };
      this.keyStates.set(key, state);
    }
    if (state.group === group) return;
    if (state.group !== null) this.groups.get(state.group)?.delete(key);
    state.group = group;
    let members = this.groups.get(group);
    if (!members) {
      members = new Set();
      this.groups.set(group, members);
    }
    members.add(key);
  }

  private insertStart(start: number): void {
    const starts = this.openStarts;
    if (starts.length === 0 || starts[starts.length - 1] < start) {
      starts.push(start);
      return;
    }
    let i = starts.length;
    while (i > 0 && starts[i - 1] > start) i--;
    starts.splice(i, 0, start);
  }

  private advance(): void {
    const before = this.watermark.value;
    const wm = this.watermark.update();
    if (wm > before || (this.openStarts.length > 0 && isClosed(this.spec.window!, this.openStarts[0], wm))) this.closeWindows();
  }

  private closeWindows(): void {
    const window = this.spec.window!;
    const wm = this.watermark.value;
    while (this.openStarts.length > 0 && isClosed(window, this.openStarts[0], wm)) {
      const start = this.openStarts.shift()!;
      const instance = this.windows.get(start)!;
      this.windows.delete(start);
      this.emitWindow(instance);
    }
  }

  private valuesOf(acc: AggState[]): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (let i = 0; i < acc.length; i++) values[this.spec.aggregates[i].name] = this.aggregators[i].result(acc[i]);
    return values;
  }

  private keyState(key: string): KeyState {
    let state = this.keyStates.get(key);
    if (!state) {
      state = { group: null, points: [], recent: [] };
      this.keyStates.set(key, state);
    }
    return state;
  }

  private emitWindow(instance: WindowInstance): void {
    this.metrics.windowsClosed++;
    const series = this.spec.series;
    const keys = [...instance.keys.keys()].sort();
    const from = instance.start - (this.keepPoints - 1) * this.step;
    for (const key of keys) {
      const values = this.valuesOf(instance.keys.get(key)!);
      const state = this.keyState(key);
      const result: WindowResult = {
        type: 'window',
        dataflow: this.dataflow,
        service: this.spec.name,
        id: `${this.dataflow}:${this.spec.name}:window:${key}:${instance.start}`,
        key,
        group: state.group,
        windowStart: instance.start,
        windowEnd: instance.end,
        values,
      };
      if (series) {
        const n = toNumber(values[series.of]);
        const value = typeof n === 'number' ? n : null;
        const previous = state.points.length > 0 ? state.points[state.points.length - 1] : undefined;
        state.points.push({ start: instance.start, value });
        while (state.points.length > 2 && state.points[0].start < from) state.points.shift();
        const fields: SeriesFields = {
          of: series.of,
          value,
          previous: previous ? { windowStart: previous.start, value: previous.value } : null,
        };
        if (series.delta) fields.delta = delta(value, previous?.value);
        if (series.pctChange) fields.pctChange = pctChange(value, previous?.value);
        if (series.rollingMean !== undefined) {
          const lo = instance.start - (series.rollingMean - 1) * this.step;
          const vals = state.points.filter((p) => p.start >= lo && p.value !== null).map((p) => p.value as number);
          fields.rollingMean = mean(vals);
          fields.rollingWindows = vals.length;
        }
        result.series = fields;
      }
      state.recent.push(result);
      if (state.recent.length > this.spec.history) state.recent.shift();
      this.metrics.windowResults++;
      this.outputs.push({ kind: 'window', id: result.id, key, timestamp: instance.end, value: result });
    }
    if (series?.correlation) this.emitCorrelations(instance, new Set(keys));
  }

  private emitCorrelations(instance: WindowInstance, present: Set<string>): void {
    const correlation = this.spec.series!.correlation!;
    const pairs: [string, string, string | null][] = [];
    const seen = new Set<string>();
    const add = (a: string, b: string, group: string | null) => {
      const [x, y] = a <= b ? [a, b] : [b, a];
      const id = `${x}~${y}`;
      if (x === y || seen.has(id)) return;
      seen.add(id);
      pairs.push([x, y, group]);
    };
    for (const [a, b] of correlation.pairs ?? []) {
      if (present.has(a) || present.has(b)) add(a, b, null);
    }
    if (correlation.withinGroups) {
      const groups = new Set<string>();
      for (const key of present) {
        const group = this.keyStates.get(key)?.group;
        if (group !== null && group !== undefined) groups.add(group);
      }
      for (const group of [...groups].sort()) {
        const members = [...(this.groups.get(group) ?? [])].sort();
        for (let i = 0; i < members.length; i++) {
          for (let j = i + 1; j < members.length; j++) {
            if (present.has(members[i]) || present.has(members[j])) add(members[i], members[j], group);
          }
        }
      }
    }
    const from = instance.start - (correlation.windows - 1) * this.step;
    for (const [a, b, group] of pairs) {
      const { xs, ys } = alignedPairs(this.keyStates.get(a)?.points ?? [], this.keyStates.get(b)?.points ?? [], from, instance.start);
      const result: CorrelationResult = {
        type: 'correlation',
        dataflow: this.dataflow,
        service: this.spec.name,
        id: `${this.dataflow}:${this.spec.name}:correlation:${a}~${b}:${instance.start}`,
        group,
        a,
        b,
        of: this.spec.series!.of,
        windowStart: instance.start,
        windowEnd: instance.end,
        windows: correlation.windows,
        n: xs.length,
        r: pearson(xs, ys),
      };
      this.latestCorrelations.set(`${a}~${b}`, result);
      this.metrics.correlations++;
      this.outputs.push({ kind: 'correlation', id: result.id, key: `${a}~${b}`, timestamp: instance.end, value: result });
    }
  }

  // ---- queries -------------------------------------------------------------

  /** Current state: one key (open windows so far, recent closed windows with series, its correlations), one group, or a summary. */
  query(q: Query = {}): unknown {
    const base = {
      dataflow: this.dataflow,
      service: this.spec.name,
      watermark: Number.isFinite(this.watermark.value) ? this.watermark.value : null,
    };
    if ('key' in q && typeof q.key === 'string') return { ...base, ...this.keyView(q.key) };
    if ('group' in q && typeof q.group === 'string') {
      const members = [...(this.groups.get(q.group) ?? [])].sort();
      return {
        ...base,
        group: q.group,
        keys: members.map((key) => this.keyView(key, false)),
        correlations: [...this.latestCorrelations.values()].filter((c) => c.group === q.group || (members.includes(c.a) && members.includes(c.b))),
      };
    }
    return {
      ...base,
      openWindows: this.openStarts.map((start) => {
        const w = this.windows.get(start)!;
        return { windowStart: w.start, windowEnd: w.end, keys: w.keys.size };
      }),
      keys: this.keyStates.size,
      groups: [...this.groups.keys()].sort(),
      inputs: this.watermark.inputsView(),
      metrics: this.metrics,
    };
  }

  private keyView(key: string, withCorrelations = true) {
    const state = this.keyStates.get(key);
    const open = this.openStarts
      .map((start) => this.windows.get(start)!)
      .filter((w) => w.keys.has(key))
      .map((w) => ({ windowStart: w.start, windowEnd: w.end, closed: false, values: this.valuesOf(w.keys.get(key)!) }));
    const view: Record<string, unknown> = {
      key,
      group: state?.group ?? null,
      open,
      closed: state?.recent ?? [],
    };
    if (withCorrelations) view.correlations = [...this.latestCorrelations.values()].filter((c) => c.a === key || c.b === key);
    return view;
  }

  /** Keys (with a state) in sorted order. */
  keys(): string[] {
    return [...this.keyStates.keys()].sort();
  }

  // ---- checkpoints -----------------------------------------------------------

  snapshot(): ServiceSnapshot {
    return {
      format: 1,
      watermark: this.watermark.snapshot(),
      windows: this.openStarts.map((start) => {
        const w = this.windows.get(start)!;
        return { start, keys: [...w.keys].map(([key, acc]) => [key, acc.map((s, i) => this.aggregators[i].toJSON(s))] as [string, unknown[]]) };
      }),
      keys: [...this.keyStates].map(([key, s]) => [
        key,
        {
          group: s.group,
          points: s.points.map((p) => [p.start, p.value] as [number, number | null]),
          recent: s.recent.map((r) => [r.windowStart, this.spec.aggregates.map((a) => r.values[a.name]), r.series ?? null] as [number, unknown[], SeriesFields | null]),
        },
      ]),
      correlations: [...this.latestCorrelations.values()],
      metrics: { ...this.metrics },
    };
  }

  restore(snapshot: ServiceSnapshot): void {
    if (snapshot.format !== 1) throw new Error(`unknown checkpoint format ${String(snapshot.format)}`);
    const window = this.spec.window;
    this.watermark.restore(snapshot.watermark, this.now());
    this.windows.clear();
    this.openStarts = [];
    for (const w of snapshot.windows) {
      const keys = new Map<string, AggState[]>();
      for (const [key, acc] of w.keys) keys.set(key, acc.map((s, i) => this.aggregators[i].fromJSON(s)));
      this.windows.set(w.start, { start: w.start, end: w.start + (window?.size ?? 0), keys });
      this.openStarts.push(w.start);
    }
    this.keyStates.clear();
    this.groups.clear();
    for (const [key, s] of snapshot.keys) {
      const state: KeyState = { group: null, points: s.points.map(([start, value]) => ({ start, value })), recent: [] };
      this.keyStates.set(key, state);
      if (s.group !== null) this.setGroup(key, s.group);
      state.recent = s.recent.map(([start, vals, series]) => {
        const values: Record<string, unknown> = {};
        this.spec.aggregates.forEach((a, i) => (values[a.name] = vals[i]));
        const r: WindowResult = {
          type: 'window',
          dataflow: this.dataflow,
          service: this.spec.name,
          id: `${this.dataflow}:${this.spec.name}:window:${key}:${start}`,
          key,
          group: state.group,
          windowStart: start,
          windowEnd: start + (window?.size ?? 0),
          values,
        };
        if (series) r.series = series;
        return r;
      });
    }
    this.latestCorrelations.clear();
    for (const c of snapshot.correlations) this.latestCorrelations.set(`${c.a}~${c.b}`, c);
    Object.assign(this.metrics, snapshot.metrics);
    this.outputs = [];
  }
}

/** Runs an operator chain over items (throws OperatorError / the operator's own error). */
export function runOperators(ops: readonly Operator[], input: Item[]): Item[] {
  if (input.length !== 1) return runOperatorsOver(ops, input);
  // One record through one-to-one operators (the usual chain): no intermediate lists.
  let item = input[0];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.smartmodule || op.kind === 'flat-map' || !op.fn) return runOperatorsOver(ops.slice(i), [item]);
    const out = op.fn(item.value, item.meta);
    if (isThenable(out)) throw new OperatorError(`${op.label}: operator functions must be synchronous (it returned a Promise)`);
    switch (op.kind) {
      case 'filter':
        if (!out) return [];
        break;
      case 'map':
        item = { value: out, meta: item.meta };
        break;
      case 'filter-map':
        if (out === null || out === undefined) return [];
        item = { value: out, meta: item.meta };
        break;
      case 'assign-timestamp':
        item.meta.timestamp = eventTime(out, op.label);
        break;
      case 'assign-key':
        item.meta.key = keyText(out);
        break;
    }
  }
  return [item];
}

function runOperatorsOver(ops: readonly Operator[], input: Item[]): Item[] {
  let items = input;
  for (const op of ops) {
    const fn = op.fn;
    if (!fn) throw new OperatorError(`${op.label}: not bound (SmartModule operators are bound when the dataflow starts)`);
    const next: Item[] = [];
    for (const item of items) {
      const out = fn(item.value, item.meta);
      if (op.smartmodule) {
        // A bound SmartModule returns what the module output for this record: 0..n (key, value) pairs.
        for (const record of out as SmartModuleOutput[]) next.push({ value: record.value, meta: { ...item.meta, key: record.key } });
        continue;
      }
      if (isThenable(out)) throw new OperatorError(`${op.label}: operator functions must be synchronous (it returned a Promise)`);
      switch (op.kind) {
        case 'filter':
          if (out) next.push(item);
          break;
        case 'map':
          next.push({ value: out, meta: item.meta });
          break;
        case 'filter-map':
          if (out !== null && out !== undefined) next.push({ value: out, meta: item.meta });
          break;
        case 'flat-map': {
          if (out === null || out === undefined) break;
          if (typeof out !== 'object' || typeof (out as Iterable<unknown>)[Symbol.iterator] !== 'function') {
            throw new OperatorError(`${op.label}: flat-map must return a list, got ${JSON.stringify(out)}`);
          }
          for (const value of out as Iterable<unknown>) next.push({ value, meta: { ...item.meta } });
          break;
        }
        case 'assign-timestamp':
          item.meta.timestamp = eventTime(out, op.label);
          next.push(item);
          break;
        case 'assign-key':
          item.meta.key = keyText(out);
          next.push(item);
          break;
      }
    }
    items = next;
    if (items.length === 0) break;
  }
  return items;
}
