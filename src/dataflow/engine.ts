// The deterministic core of one dataflow service: records in (in offset
// order per input partition), operators, event time, keys, windows,
// aggregates, series, correlations; outputs and queryable state out. No I/O:
// the runner (runner.ts) feeds it, writes its outputs and checkpoints its
// snapshot together with the input offsets. Given the same records in the
// same order it produces the same outputs and the same state, which is what
// makes a restore from a checkpoint followed by a replay exact.

//
// Time steps (docs/dataflows.md "Time steps"): steps are the window
// instances on the slide grid and close in order. Dense (the default): a key
// has a result at every step from the window of its first accepted event to
// the latest closed step; a step without its events is filled from the
// aggregates' fill rules and marked `filled: true`; after `retireAfter`
// filled steps in a row the key's state is freed. Sparse: a key has a result
// only in steps with its events.

import { aggregator, defaultFill, toNumber, type AggState, type Aggregator } from './aggregates.js';
import { blockResults, correlateGroup, correlationResult, pairsInGroup, Vectors, type CorrelationResult, type GroupBlock, type StepContext } from './correlate.js';
import { delta, mean, pctChange } from './series.js';
import type { CorrelationSpec, FillRule, Operator, RecordMeta, ServiceSpec, SourceSpec } from './spec.js';
import { StepRing } from './step-ring.js';
import { isClosed, Watermark, windowStarts, type InputState, type WatermarkSnapshot } from './windows.js';

export type { CorrelationResult } from './correlate.js';

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
  /** True for a step without events of the key (values from the fill rules). */
  filled: boolean;
  values: Record<string, unknown>;
  /** Per fact with a series. */
  series?: Record<string, SeriesFields>;
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
  /** Items refused by a state limit (max-keys, max-groups, max-pairs). */
  refused: number;
  windowsClosed: number;
  windowResults: number;
  /** Of the window results, steps filled for keys without events. */
  filledResults: number;
  correlations: number;
  /** Keys whose state was freed after retire-after steps without events. */
  keysRetired: number;
  /** Keys whose state was freed to make room under max-keys. */
  keysEvicted: number;
  /** Keys and groups with state now. */
  keys: number;
  groups: number;
  lastError: { message: string; topic: string; partition: number; offset: number } | null;
}

interface WindowInstance {
  start: number;
  end: number;
  keys: Map<string, AggState[]>;
}

interface KeyState {
  group: string | null;
  /** Window start of the key's first accepted event, and of its latest. */
  first: number;
  lastEvent: number;
  /** The latest closed step's values (what `fill: previous` carries forward). */
  carry: unknown[] | null;
  /** Fact values of the latest closed steps (null without series or correlations). */
  ring: StepRing | null;
  /** The last `history` closed steps of the key. */
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

interface KeySnapshot {
  group: string | null;
  first: number;
  lastEvent: number;
  carry: unknown[] | null;
  ring: [number, ...(number | null)[]][] | null;
  recent: [start: number, values: unknown[], filled: boolean, series: Record<string, SeriesFields> | null][];
}

interface BlockSnapshot {
  windowStart: number;
  windowEnd: number;
  members: string[];
  pairs: [a: number, b: number, n: number, r: number | null][];
}

export interface ServiceSnapshot {
  format: 2;
  watermark: WatermarkSnapshot;
  nextStep: number | null;
  maxStart: number | null;
  windows: { start: number; keys: [string, unknown[]][] }[];
  keys: [string, KeySnapshot][];
  correlations: CorrelationResult[];
  blocks: [spec: string, group: string, block: BlockSnapshot][];
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
    refused: 0,
    windowsClosed: 0,
    windowResults: 0,
    filledResults: 0,
    correlations: 0,
    keysRetired: 0,
    keysEvicted: 0,
    keys: 0,
    groups: 0,
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

function numberOrNull(v: unknown): number | null {
  const n = toNumber(v);
  return typeof n === 'number' ? n : null;
}

/** The key records without one are aggregated under. */
export const NO_KEY = '*';

export interface EngineOptions {
  /** Wall clock (idleness, records without a timestamp). Default Date.now. */
  now?: () => number;
}

/** A state limit refused an item (counted, the record skipped). */
class LimitError extends Error {}

export class ServiceEngine {
  readonly metrics: ServiceMetrics = emptyMetrics();
  private readonly watermark: Watermark;
  private readonly windows = new Map<number, WindowInstance>();
  /** Open window starts, ascending. */
  private openStarts: number[] = [];
  /** Key states in order of their latest step with events (oldest first: the eviction order). */
  private readonly keyStates = new Map<string, KeyState>();
  private readonly groups = new Map<string, Set<string>>();
  /** Σ m(m − 1)/2 over the groups' sizes m. */
  private unorderedGroupPairs = 0;
  private sortedKeys: string[] | null = null;
  private readonly sortedMembers = new Map<string, string[]>();
  /** Latest result per pair of `key` and `pairs` correlations, by `${name}:${a}~${b}`. */
  private readonly latestPairs = new Map<string, CorrelationResult>();
  /** Latest block per group of `group` correlations, by spec name. */
  private readonly latestBlocks = new Map<string, Map<string, GroupBlock>>();
  private readonly aggregators: Aggregator[];
  private readonly fills: FillRule[];
  private readonly carries: boolean;
  /** Aggregates with a series or in a correlation, in ring order. */
  private readonly facts = new Map<string, number>();
  private readonly ringCapacity: number;
  private readonly sourceOps = new Map<string, { converter: 'json' | 'raw'; ops: Operator[]; schema: SourceSpec['schema'] }>();
  private outputs: Output[] = [];
  private readonly now: () => number;
  private readonly step: number;
  private readonly dense: boolean;
  /** Dense steps: the next step to close; undefined before the first window. */
  private nextStep: number | undefined;
  private maxStart = -Infinity;
  /** Watermark state per input partition, by topic then partition (no key text per record). */
  private readonly inputHandles = new Map<string, InputState[]>();
  /** Reused per record: a tumbling window's one start, and the aggregates' field values. */
  private readonly oneStart = [0];
  private readonly fieldValues: unknown[];

  constructor(
    readonly dataflow: string,
    readonly spec: ServiceSpec,
    options: EngineOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.watermark = new Watermark(spec.window?.idleness);
    this.aggregators = spec.aggregates.map((a) => aggregator(a.op));
    this.fills = spec.aggregates.map((a) => a.fill ?? defaultFill(a.op));
    this.carries = this.fills.includes('previous');
    for (const source of spec.sources) this.sourceOps.set(source.topic, { converter: source.converter, ops: source.transforms, schema: source.schema });
    this.step = spec.window?.slide ?? 1;
    this.dense = spec.timeSteps === 'dense';
    let capacity = 2;
    for (const s of spec.series) {
      if (!this.facts.has(s.of)) this.facts.set(s.of, this.facts.size);
      capacity = Math.max(capacity, s.rollingMean ?? 1);
    }
    for (const c of spec.correlations) {
      for (const f of [c.x, c.y]) if (!this.facts.has(f)) this.facts.set(f, this.facts.size);
      capacity = Math.max(capacity, c.windows + c.lag);
    }
    this.ringCapacity = capacity;
    this.fieldValues = new Array<unknown>(spec.aggregates.length);
  }

  private inputHandle(topic: string, partition: number, now: number): InputState {
    let byPartition = this.inputHandles.get(topic);
    if (!byPartition) this.inputHandles.set(topic, (byPartition = []));
    return (byPartition[partition] ??= this.watermark.input(`${topic}/${partition}`, now));
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
    const now = this.now();
    const input = this.inputHandle(record.topic, record.partition, now);
    Watermark.touch(input, now);
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
    for (let i = 0; i < items.length; i++) {
      try {
        this.accumulate(items[i], i);
      } catch (err) {
        if (!(err instanceof LimitError)) throw err;
        this.metrics.refused++;
        this.metrics.lastError = { message: err.message, topic: record.topic, partition: record.partition, offset: record.offset };
      }
    }
    let raised = false;
    for (const item of items) if (Watermark.observe(input, item.meta.timestamp)) raised = true;
    // The watermark can only move when an input's maximum rose (idleness moves it in tick()).
    if (raised) this.advance();
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
    let starts: number[];
    if (window.kind === 'tumbling') {
      this.oneStart[0] = ts - (((ts % window.size) + window.size) % window.size);
      starts = this.oneStart;
    } else starts = windowStarts(window, ts);
    let open = 0;
    let first = Infinity;
    let latest = -Infinity;
    for (const start of starts) {
      if (isClosed(window, start, wm)) continue;
      open++;
      if (start < first) first = start;
      if (start > latest) latest = start;
    }
    if (open === 0) {
      this.late(item, index, starts, wm);
      return;
    }
    const group = this.spec.group ? keyText(this.spec.group(item.value, item.meta)) : null;
    let state = this.keyStates.get(key);
    const joins = group !== null && group !== state?.group;
    if (joins) this.checkJoin(key, group);
    if (!state) {
      this.admitKey(key);
      state = { group: null, first, lastEvent: latest, carry: null, ring: this.facts.size > 0 ? new StepRing(this.ringCapacity, this.facts.size) : null, recent: [] };
      this.keyStates.set(key, state);
      this.sortedKeys = null;
      this.metrics.keys = this.keyStates.size;
    }
    if (joins) this.joinGroup(key, state, group!);
    if (first < state.first) state.first = first;
    if (latest > state.lastEvent) {
      state.lastEvent = latest;
      // Re-inserting keeps the map in order of activity: its first entry is the idlest key.
      this.keyStates.delete(key);
      this.keyStates.set(key, state);
    }
    let fields: unknown[] | undefined;
    const aggregates = this.spec.aggregates;
    for (const start of starts) {
      if (isClosed(window, start, wm)) continue;
      let instance = this.windows.get(start);
      if (!instance) {
        instance = { start, end: start + window.size, keys: new Map() };
        this.windows.set(start, instance);
        this.insertStart(start);
        if (start > this.maxStart) this.maxStart = start;
        if (this.nextStep === undefined || start < this.nextStep) this.nextStep = start;
      }
      let acc = instance.keys.get(key);
      if (!acc) {
        acc = this.aggregators.map((a) => a.init());
        instance.keys.set(key, acc);
      }
      if (fields === undefined) {
        fields = this.fieldValues;
        for (let i = 0; i < aggregates.length; i++) {
          const field = aggregates[i].field;
          fields[i] = field ? field(item.value, item.meta) : undefined;
        }
      }
      for (let i = 0; i < acc.length; i++) {
        const next = this.aggregators[i].add(acc[i], fields[i], ts);
        if (next === 'invalid') this.metrics.invalidFields++;
        else acc[i] = next;
      }
    }
    this.metrics.lateAssignments += starts.length - open;
  }

  /** Room for one more key under max-keys: evicts the idlest key whose windows have all closed, else refuses. */
  private admitKey(key: string): void {
    const max = this.spec.limits.maxKeys;
    if (this.keyStates.size < max) return;
    const oldestOpen = this.openStarts[0] ?? Infinity;
    const [idleKey, idle] = this.keyStates.entries().next().value as [string, KeyState];
    if (idle.lastEvent >= oldestOpen) {
      throw new LimitError(`limits.max-keys: ${max} keys have state and every one has events in an open window; key "${key}" is refused (raise limits.max-keys, or shorten retire-after)`);
    }
    this.freeKey(idleKey, idle);
    this.metrics.keysEvicted++;
  }

  /** Refuses a key joining a group beyond max-groups or max-pairs (before any state changes). */
  private checkJoin(key: string, group: string): void {
    const members = this.groups.get(group);
    if (!members && this.groups.size >= this.spec.limits.maxGroups) {
      throw new LimitError(`limits.max-groups: ${this.spec.limits.maxGroups} groups have keys; group "${group}" of key "${key}" is refused (raise limits.max-groups)`);
    }
    const m = members?.size ?? 0;
    const after = this.unorderedGroupPairs + m;
    for (const c of this.spec.correlations) {
      if (c.between !== 'group' || c.top !== undefined) continue;
      const pairs = pairsInGroup(c, 2) === 1 ? after : 2 * after;
      if (pairs > this.spec.limits.maxPairs) {
        throw new LimitError(
          `limits.max-pairs: key "${key}" joining group "${group}" (${m} keys) would make correlation ${c.name} compute ${pairs} pairs per step, more than ${this.spec.limits.maxPairs} (raise limits.max-pairs, or keep only the strongest with top: N)`,
        );
      }
    }
  }

  private joinGroup(key: string, state: KeyState, group: string): void {
    this.leaveGroup(key, state);
    let members = this.groups.get(group);
    if (!members) {
      members = new Set();
      this.groups.set(group, members);
      this.metrics.groups = this.groups.size;
    }
    this.unorderedGroupPairs += members.size;
    members.add(key);
    this.sortedMembers.delete(group);
    state.group = group;
  }

  private leaveGroup(key: string, state: KeyState): void {
    if (state.group === null) return;
    const members = this.groups.get(state.group);
    if (members?.delete(key)) {
      this.unorderedGroupPairs -= members.size;
      this.sortedMembers.delete(state.group);
      if (members.size === 0) {
        this.groups.delete(state.group);
        this.metrics.groups = this.groups.size;
      }
    }
    state.group = null;
  }

  /** Frees a key's state (retired or evicted); its windows have all closed. */
  private freeKey(key: string, state: KeyState): void {
    this.leaveGroup(key, state);
    this.keyStates.delete(key);
    this.sortedKeys = null;
    this.metrics.keys = this.keyStates.size;
    for (const c of this.spec.correlations) if (c.between === 'key') this.latestPairs.delete(`${c.name}:${key}~${key}`);
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
      windowStarts: [...starts],
      source: { topic, partition, offset },
      value: item.value,
    };
    this.outputs.push({ kind: 'late', id: value.id, key: value.key, timestamp: item.meta.timestamp, value });
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

  /** Closes every step the watermark has passed, in order: dense steps up to the latest window opened, sparse ones as they exist. */
  private closeWindows(): void {
    const window = this.spec.window!;
    const wm = this.watermark.value;
    if (!this.dense) {
      while (this.openStarts.length > 0 && isClosed(window, this.openStarts[0], wm)) this.closeStep(this.openStarts[0]);
      return;
    }
    while (this.nextStep !== undefined && this.nextStep <= this.maxStart && isClosed(window, this.nextStep, wm)) {
      const start = this.nextStep;
      if (!this.windows.has(start) && !this.anyKeyBegun(start)) {
        // Nothing to fill (a gap before any key's series, or after every key retired): skip to the next window with events.
        if (this.openStarts.length === 0) break;
        this.nextStep = this.openStarts[0];
        continue;
      }
      this.closeStep(start);
      this.nextStep = start + this.step;
    }
  }

  private closeStep(start: number): void {
    const instance = this.windows.get(start);
    if (instance) {
      this.windows.delete(start);
      this.openStarts.shift();
    }
    this.metrics.windowsClosed++;
    const end = start + this.spec.window!.size;
    const emitted = this.dense ? this.liveKeysAt(start) : [...(instance?.keys.keys() ?? [])].sort();
    for (const key of emitted) this.emitKey(key, start, end, instance?.keys.get(key));
    this.emitCorrelations(start, end, emitted);
    this.retireIdleKeys(start, emitted);
  }

  private anyKeyBegun(start: number): boolean {
    for (const state of this.keyStates.values()) if (state.first <= start) return true;
    return false;
  }

  /** Keys with state whose series has begun by `start`, sorted. */
  private liveKeysAt(start: number): string[] {
    this.sortedKeys ??= [...this.keyStates.keys()].sort();
    const keys: string[] = [];
    for (const key of this.sortedKeys) if (this.keyStates.get(key)!.first <= start) keys.push(key);
    return keys;
  }

  private valuesOf(acc: AggState[]): unknown[] {
    return acc.map((s, i) => this.aggregators[i].result(s));
  }

  private filledValues(state: KeyState): unknown[] {
    return this.fills.map((rule, i) => (rule === 'zero' ? 0 : rule === 'previous' ? (state.carry?.[i] ?? null) : null));
  }

  private record(values: readonly unknown[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < values.length; i++) out[this.spec.aggregates[i].name] = values[i];
    return out;
  }

  private windowResult(key: string, group: string | null, start: number, end: number, filled: boolean, values: Record<string, unknown>): WindowResult {
    const id = `${this.dataflow}:${this.spec.name}:window:${key}:${start}`;
    return { type: 'window', dataflow: this.dataflow, service: this.spec.name, id, key, group, windowStart: start, windowEnd: end, filled, values };
  }

  private emitKey(key: string, start: number, end: number, acc: AggState[] | undefined): void {
    const state = this.keyStates.get(key)!;
    const filled = acc === undefined;
    const list = filled ? this.filledValues(state) : this.valuesOf(acc);
    if (this.carries) state.carry = list;
    const values = this.record(list);
    const result = this.windowResult(key, state.group, start, end, filled, values);
    const ring = state.ring;
    if (ring) {
      const current = [...this.facts.keys()].map((f) => numberOrNull(values[f]));
      const previousStart = ring.newestStart;
      const previous = current.map((_, f) => ring.newestValue(f));
      ring.push(start, current);
      if (this.spec.series.length > 0) {
        const series: Record<string, SeriesFields> = {};
        for (const s of this.spec.series) {
          const f = this.facts.get(s.of)!;
          const value = current[f];
          const fields: SeriesFields = { value, previous: previousStart === undefined ? null : { windowStart: previousStart, value: previous[f] ?? null } };
          if (s.delta) fields.delta = delta(value, previous[f]);
          if (s.pctChange) fields.pctChange = pctChange(value, previous[f]);
          if (s.rollingMean !== undefined) {
            const vals = ring.valuesSince(start - (s.rollingMean - 1) * this.step, f);
            fields.rollingMean = mean(vals);
            fields.rollingWindows = vals.length;
          }
          series[s.of] = fields;
        }
        result.series = series;
      }
    }
    state.recent.push(result);
    if (state.recent.length > this.spec.history) state.recent.shift();
    this.metrics.windowResults++;
    if (filled) this.metrics.filledResults++;
    this.outputs.push({ kind: 'window', id: result.id, key, timestamp: end, value: result });
  }

  /** Frees keys without events for retire-after steps (dense: after their last filled step). */
  private retireIdleKeys(start: number, emitted: readonly string[]): void {
    const horizon = start - (this.spec.retireAfter - 1) * this.step;
    const candidates = this.dense ? emitted : [...this.keyStates.keys()];
    for (const key of candidates) {
      const state = this.keyStates.get(key);
      if (!state || state.lastEvent >= horizon || state.lastEvent >= start) continue;
      this.freeKey(key, state);
      this.metrics.keysRetired++;
    }
  }

  private emitCorrelations(start: number, end: number, emitted: readonly string[]): void {
    if (this.spec.correlations.length === 0) return;
    const ctx: StepContext = { dataflow: this.dataflow, service: this.spec.name, windowStart: start, windowEnd: end, step: this.step, facts: this.facts };
    const present = new Set(emitted);
    const stateOf = (key: string) => this.keyStates.get(key) ?? { ring: null };
    for (const spec of this.spec.correlations) {
      const vectors = new Vectors(spec, ctx);
      const pairResult = (a: string, b: string, group: string | null) => {
        const { n, r } = vectors.pearson(vectors.of(a, stateOf(a)), vectors.of(b, stateOf(b)));
        this.emitCorrelation(spec, correlationResult(spec, ctx, group, a, b, n, r));
      };
      if (spec.between === 'key') {
        for (const key of emitted) pairResult(key, key, this.keyStates.get(key)!.group);
        continue;
      }
      if (spec.between === 'pairs') {
        for (const [a, b] of spec.pairs!) {
          // Dense: both series have begun; sparse (as before): either key had events in this step.
          if (this.dense ? present.has(a) && present.has(b) : present.has(a) || present.has(b)) pairResult(a, b, null);
        }
        continue;
      }
      const groups = new Set<string>();
      for (const key of emitted) {
        const group = this.keyStates.get(key)?.group;
        if (group !== null && group !== undefined) groups.add(group);
      }
      let blocks = this.latestBlocks.get(spec.name);
      if (!blocks) this.latestBlocks.set(spec.name, (blocks = new Map()));
      for (const group of [...groups].sort()) {
        const members = this.membersOf(group).filter((k) => !this.dense || present.has(k));
        if (members.length < 2) continue;
        const block = correlateGroup(spec, ctx, members, stateOf, vectors);
        blocks.set(group, block);
        for (let k = 0; k < block.ia.length; k++) {
          const r = block.r[k];
          this.emitCorrelation(spec, correlationResult(spec, ctx, group, block.members[block.ia[k]], block.members[block.ib[k]], block.n[k], r !== r ? null : r), false);
        }
      }
      for (const group of blocks.keys()) if (!this.groups.has(group)) blocks.delete(group);
    }
  }

  private emitCorrelation(spec: CorrelationSpec, result: CorrelationResult, keep = true): void {
    if (keep) this.latestPairs.set(`${spec.name}:${result.a}~${result.b}`, result);
    this.metrics.correlations++;
    this.outputs.push({ kind: 'correlation', id: result.id, key: `${result.a}~${result.b}`, timestamp: result.windowEnd, value: result });
  }

  private membersOf(group: string): string[] {
    let sorted = this.sortedMembers.get(group);
    if (!sorted) {
      sorted = [...(this.groups.get(group) ?? [])].sort();
      this.sortedMembers.set(group, sorted);
    }
    return sorted;
  }

  // ---- queries -------------------------------------------------------------

  /** Latest correlations: of a group's blocks and pairs within it, or involving one key. */
  private latestCorrelations(filter: { group: string; members: Set<string> } | { key: string }): CorrelationResult[] {
    const out: CorrelationResult[] = [];
    const ctx = { dataflow: this.dataflow, service: this.spec.name };
    for (const spec of this.spec.correlations) {
      const blocks = this.latestBlocks.get(spec.name);
      if (!blocks) continue;
      if ('group' in filter) {
        const block = blocks.get(filter.group);
        if (block) out.push(...blockResults(spec, ctx, filter.group, block));
      } else {
        const group = this.keyStates.get(filter.key)?.group;
        const block = group ? blocks.get(group) : undefined;
        if (block && group) out.push(...blockResults(spec, ctx, group, block, filter.key));
      }
    }
    for (const c of this.latestPairs.values()) {
      const involved = 'group' in filter ? filter.members.has(c.a) && filter.members.has(c.b) : c.a === filter.key || c.b === filter.key;
      if (involved) out.push(c);
    }
    return out;
  }

  /** Current state: one key (open windows so far, recent closed steps with series, its correlations), one group, or a summary. */
  query(q: Query = {}): unknown {
    const base = {
      dataflow: this.dataflow,
      service: this.spec.name,
      watermark: Number.isFinite(this.watermark.value) ? this.watermark.value : null,
    };
    if ('key' in q && typeof q.key === 'string') return { ...base, ...this.keyView(q.key), correlations: this.latestCorrelations({ key: q.key }) };
    if ('group' in q && typeof q.group === 'string') {
      const members = this.membersOf(q.group);
      return {
        ...base,
        group: q.group,
        keys: members.map((key) => this.keyView(key)),
        correlations: this.latestCorrelations({ group: q.group, members: new Set(members) }),
      };
    }
    return {
      ...base,
      timeSteps: this.spec.timeSteps,
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

  private keyView(key: string) {
    const state = this.keyStates.get(key);
    const open = this.openStarts
      .map((start) => this.windows.get(start)!)
      .filter((w) => w.keys.has(key))
      .map((w) => ({ windowStart: w.start, windowEnd: w.end, closed: false, values: this.record(this.valuesOf(w.keys.get(key)!)) }));
    return { key, group: state?.group ?? null, open, closed: state?.recent ?? [] };
  }

  /** Keys (with a state) in sorted order. */
  keys(): string[] {
    return (this.sortedKeys ??= [...this.keyStates.keys()].sort()).slice();
  }

  /** Every key's recent closed steps and every latest correlation (for SQL over the state). */
  *allResults(): Generator<WindowResult | CorrelationResult> {
    for (const state of this.keyStates.values()) yield* state.recent;
    const ctx = { dataflow: this.dataflow, service: this.spec.name };
    for (const spec of this.spec.correlations) {
      for (const [group, block] of this.latestBlocks.get(spec.name) ?? []) yield* blockResults(spec, ctx, group, block);
    }
    yield* this.latestPairs.values();
  }

  /** Open windows: the aggregates so far per key. */
  *openResults(): Generator<{ key: string; group: string | null; windowStart: number; windowEnd: number; values: Record<string, unknown> }> {
    for (const start of this.openStarts) {
      const w = this.windows.get(start)!;
      for (const [key, acc] of w.keys) yield { key, group: this.keyStates.get(key)?.group ?? null, windowStart: w.start, windowEnd: w.end, values: this.record(this.valuesOf(acc)) };
    }
  }

  // ---- checkpoints -----------------------------------------------------------

  snapshot(): ServiceSnapshot {
    const blocks: ServiceSnapshot['blocks'] = [];
    for (const [spec, byGroup] of this.latestBlocks) {
      for (const [group, b] of byGroup) {
        const pairs: BlockSnapshot['pairs'] = [];
        for (let k = 0; k < b.ia.length; k++) pairs.push([b.ia[k], b.ib[k], b.n[k], b.r[k] !== b.r[k] ? null : b.r[k]]);
        blocks.push([spec, group, { windowStart: b.windowStart, windowEnd: b.windowEnd, members: b.members, pairs }]);
      }
    }
    return {
      format: 2,
      watermark: this.watermark.snapshot(),
      nextStep: this.nextStep ?? null,
      maxStart: Number.isFinite(this.maxStart) ? this.maxStart : null,
      windows: this.openStarts.map((start) => {
        const w = this.windows.get(start)!;
        return { start, keys: [...w.keys].map(([key, acc]) => [key, acc.map((s, i) => this.aggregators[i].toJSON(s))] as [string, unknown[]]) };
      }),
      keys: [...this.keyStates].map(([key, s]) => [
        key,
        {
          group: s.group,
          first: s.first,
          lastEvent: s.lastEvent,
          carry: s.carry,
          ring: s.ring ? s.ring.toJSON() : null,
          recent: s.recent.map((r) => [r.windowStart, this.spec.aggregates.map((a) => r.values[a.name]), r.filled, r.series ?? null]),
        },
      ]),
      correlations: [...this.latestPairs.values()],
      blocks,
      metrics: { ...this.metrics },
    };
  }

  restore(snapshot: ServiceSnapshot): void {
    if (snapshot.format !== 2) throw new Error(`unknown checkpoint format ${String(snapshot.format)} (this version reads format 2; delete the dataflow's state to start afresh)`);
    const window = this.spec.window;
    this.watermark.restore(snapshot.watermark, this.now());
    this.inputHandles.clear();
    this.nextStep = snapshot.nextStep ?? undefined;
    this.maxStart = snapshot.maxStart ?? -Infinity;
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
    this.sortedMembers.clear();
    this.sortedKeys = null;
    this.unorderedGroupPairs = 0;
    for (const [key, s] of snapshot.keys) {
      const state: KeyState = {
        group: null,
        first: s.first,
        lastEvent: s.lastEvent,
        carry: s.carry,
        ring: s.ring ? StepRing.fromJSON(s.ring, this.ringCapacity, this.facts.size) : null,
        recent: [],
      };
      this.keyStates.set(key, state);
      if (s.group !== null) {
        let members = this.groups.get(s.group);
        if (!members) this.groups.set(s.group, (members = new Set()));
        this.unorderedGroupPairs += members.size;
        members.add(key);
        state.group = s.group;
      }
      state.recent = s.recent.map(([start, vals, filled, series]) => {
        const r = this.windowResult(key, state.group, start, start + (window?.size ?? 0), filled, this.record(vals));
        if (series) r.series = series;
        return r;
      });
    }
    this.latestPairs.clear();
    for (const c of snapshot.correlations) this.latestPairs.set(`${c.name}:${c.a}~${c.b}`, c);
    this.latestBlocks.clear();
    for (const [spec, group, b] of snapshot.blocks) {
      let byGroup = this.latestBlocks.get(spec);
      if (!byGroup) this.latestBlocks.set(spec, (byGroup = new Map()));
      byGroup.set(group, {
        windowStart: b.windowStart,
        windowEnd: b.windowEnd,
        members: b.members,
        ia: Int32Array.from(b.pairs, (p) => p[0]),
        ib: Int32Array.from(b.pairs, (p) => p[1]),
        n: Int32Array.from(b.pairs, (p) => p[2]),
        r: Float64Array.from(b.pairs, (p) => p[3] ?? NaN),
      });
    }
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
