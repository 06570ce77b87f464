// dataflow.yaml → DataflowSpec. The shape follows InfinyOn SDF's
// dataflow.yaml (apiVersion, meta, config, types, topics, services with
// sources, transforms, window, partition, sinks); where SDF runs inline Rust
// (`run:`) we take an expression (`expr:` or a bare string), a function
// exported by a TypeScript/JavaScript module (`module:` + `function:`), or a
// SmartModule (`uses:` + `with:`). SDF's `update-state`/`flush` become
// declarative `aggregate:` and `series:` sections. docs/dataflows.md has the
// full schema. Every error names the key path it is about.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { AGGREGATE_OPS, type AggregateOp } from './aggregates.js';
import { correlationSpec, DataflowSpecError, FILL_RULES, newService, validateSpec, type CorrelationOptions } from './builder.js';
import { DurationError, parseDuration } from './duration.js';
import { expressionFn, ExpressionError } from './expr.js';
import { SchemaCompiler, SchemaError } from './schema.js';
import {
  DEFAULT_CHECKPOINT,
  DEFAULT_HISTORY,
  type AggregateSpec,
  type FillRule,
  type DataflowSpec,
  type EmitKind,
  type LatePolicy,
  type Operator,
  type OperatorKind,
  type ServiceSpec,
  type SeriesSpec,
  type SinkSpec,
  type SourceSpec,
  type ValueFn,
} from './spec.js';

export class DataflowYamlError extends DataflowSpecError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

type Obj = Record<string, unknown>;

const OPERATORS: OperatorKind[] = ['filter', 'map', 'filter-map', 'flat-map', 'assign-key', 'assign-timestamp'];
const EMITS: EmitKind[] = ['window', 'correlation', 'record'];

function fail(at: string, message: string): never {
  throw new DataflowYamlError(at, message);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, at: string): Obj {
  if (!isObj(v)) fail(at, `expected a mapping, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function str(v: unknown, at: string): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || v === '') fail(at, `expected a string, got ${describe(v)}`);
  return v;
}

function int(v: unknown, at: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(at, `expected an integer ≥ ${min}, got ${describe(v)}`);
  return v;
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') fail(at, `expected true or false, got ${describe(v)}`);
  return v;
}

function list(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) fail(at, `expected a list, got ${describe(v)}`);
  return v;
}

function duration(v: unknown, at: string): number {
  try {
    return parseDuration(typeof v === 'number' ? v : str(v, at));
  } catch (err) {
    if (err instanceof DurationError) fail(at, err.message);
    throw err;
  }
}

/** Refuses keys this section does not know (a typo would otherwise be silently ignored). */
function known(o: Obj, at: string, keys: string[]): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) fail(at ? `${at}.${key}` : key, `unknown key (expected one of: ${keys.join(', ')})`);
  }
}

export interface LoadOptions {
  /** Where `module:` paths and .wasm SmartModules are resolved from (the YAML file's folder). */
  baseDir?: string;
}

class Compiler {
  private readonly modules = new Map<string, Promise<Obj>>();
  constructor(private readonly baseDir: string) {}

  /** A function reference: an expression string, {expr}, or {module, function}. */
  async fnRef(v: unknown, at: string): Promise<{ fn: ValueFn<unknown>; label: string }> {
    if (typeof v === 'string' || typeof v === 'number') return this.expr(String(v), at);
    const o = obj(v, at);
    if ('run' in o) fail(`${at}.run`, 'inline Rust code is not supported by Freshet; use expr: (an expression), module: + function: (TypeScript), or uses: (a SmartModule)');
    if ('expr' in o) {
      known(o, at, ['expr']);
      return this.expr(str(o.expr, `${at}.expr`), `${at}.expr`);
    }
    if ('module' in o) {
      known(o, at, ['module', 'function']);
      const file = str(o.module, `${at}.module`);
      const name = o.function === undefined ? 'default' : str(o.function, `${at}.function`);
      const exports = await this.load(file, `${at}.module`);
      const fn = exports[name];
      if (typeof fn !== 'function') {
        const names = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
        fail(`${at}.function`, `${file} exports no function "${name}" (it exports: ${names.join(', ') || 'none'})`);
      }
      return { fn: fn as ValueFn<unknown>, label: `${at} (${file}#${name})` };
    }
    fail(at, 'expected an expression string, or a mapping with expr:, module: + function:, or uses:');
  }

  private expr(source: string, at: string): { fn: ValueFn<unknown>; label: string } {
    try {
      return {
        fn: expressionFn(source),
        label: `${at} \`${source}\``,
      };
    } catch (err) {
      if (err instanceof ExpressionError) fail(at, err.message);
      throw err;
    }
  }

  private load(file: string, at: string): Promise<Obj> {
    const resolved = path.resolve(this.baseDir, file);
    let pending = this.modules.get(resolved);
    if (!pending) {
      pending = import(pathToFileURL(resolved).href).then(
        (m: Obj) => m,
        (err: Error) => fail(at, `cannot load ${resolved}: ${err.message}`),
      );
      this.modules.set(resolved, pending);
    }
    return pending;
  }

  async operators(v: unknown, at: string): Promise<Operator[]> {
    if (v === undefined || v === null) return [];
    const out: Operator[] = [];
    const items = list(v, at);
    for (let i = 0; i < items.length; i++) {
      const here = `${at}[${i}]`;
      const o = obj(items[i], here);
      const kind = str(o.operator, `${here}.operator`) as OperatorKind;
      if (!OPERATORS.includes(kind)) fail(`${here}.operator`, `unknown operator "${kind}" (${OPERATORS.join(', ')})`);
      if ('uses' in o) {
        known(o, here, ['operator', 'uses', 'with']);
        if (kind === 'assign-key' || kind === 'assign-timestamp') fail(`${here}.uses`, `${kind} takes an expression or a module function, not a SmartModule`);
        const params: Record<string, string> = {};
        if (o.with !== undefined) for (const [k, val] of Object.entries(obj(o.with, `${here}.with`))) params[k] = typeof val === 'string' ? val : JSON.stringify(val);
        out.push({ kind, label: `${here} (${kind} SmartModule ${str(o.uses, `${here}.uses`)})`, smartmodule: { uses: String(o.uses), params } });
        continue;
      }
      const { operator: _op, ...rest } = o;
      const { fn, label } = await this.fnRef(rest, here);
      out.push({ kind, label: `${label} (${kind})`, fn });
    }
    return out;
  }

  async aggregates(v: unknown, at: string): Promise<AggregateSpec[]> {
    const out: AggregateSpec[] = [];
    for (const [name, def] of Object.entries(obj(v, at))) {
      const here = `${at}.${name}`;
      if (def === 'count') {
        out.push({ name, op: 'count' });
        continue;
      }
      const d = obj(def, here);
      const ops = Object.keys(d).filter((k) => k !== 'fill');
      if (ops.length !== 1 || !AGGREGATE_OPS.includes(ops[0] as AggregateOp)) {
        fail(here, `expected \`count\` or one of { count | sum | min | max | mean | last | distinct: <field expression>, fill?: zero | previous | none }`);
      }
      const op = ops[0] as AggregateOp;
      const agg: AggregateSpec = { name, op };
      if (d.fill !== undefined) {
        const fill = str(d.fill, `${here}.fill`) as FillRule;
        if (!FILL_RULES.includes(fill)) fail(`${here}.fill`, `expected one of ${FILL_RULES.join(', ')}, got "${fill}"`);
        agg.fill = fill;
      }
      if (op !== 'count') {
        const { fn, label } = await this.fnRef(d[op], `${here}.${op}`);
        agg.field = fn;
        agg.fieldLabel = label;
      }
      out.push(agg);
    }
    return out;
  }
}

/** A correlation (in correlations: or nested in a series, where x is the series' fact). */
function correlation(v: unknown, at: string, x: string | undefined, hasGroup: boolean): CorrelationOptions {
  const c = obj(v, at);
  const nested = x !== undefined;
  known(c, at, nested ? ['windows', 'pairs', 'within', 'lag', 'top', 'min-points'] : ['x', 'y', 'between', 'windows', 'pairs', 'within', 'lag', 'top', 'min-points']);
  const o: CorrelationOptions = { x: x ?? str(c.x, `${at}.x`), windows: int(c.windows, `${at}.windows`, 3) };
  if (c.y !== undefined) o.y = str(c.y, `${at}.y`);
  if (c.lag !== undefined) o.lag = int(c.lag, `${at}.lag`, 0);
  if (c.top !== undefined) o.top = int(c.top, `${at}.top`, 1);
  if (c['min-points'] !== undefined) o.minPoints = int(c['min-points'], `${at}.min-points`, 3);
  const ways = ['pairs', 'within', 'between'].filter((k) => c[k] !== undefined);
  if (ways.length !== 1) fail(at, 'give one of pairs: [[keyA, keyB], ...], within: group, or between: key');
  if (c.pairs !== undefined) {
    o.pairs = list(c.pairs, `${at}.pairs`).map((pair, i) => {
      const items = list(pair, `${at}.pairs[${i}]`);
      if (items.length !== 2) fail(`${at}.pairs[${i}]`, 'expected [keyA, keyB]');
      return [str(items[0], `${at}.pairs[${i}][0]`), str(items[1], `${at}.pairs[${i}][1]`)] as [string, string];
    });
  }
  if (c.within !== undefined) {
    if (c.within !== 'group') fail(`${at}.within`, `expected "group", got ${describe(c.within)}`);
    if (!hasGroup) fail(`${at}.within`, `needs window.partition.group (the field that puts each key in a group)`);
    o.withinGroups = true;
  }
  if (c.between !== undefined) {
    if (c.between !== 'key') fail(`${at}.between`, `expected "key" (two facts of the same key), got ${describe(c.between)}`);
    o.sameKey = true;
  }
  return o;
}

function startOffset(v: unknown, at: string): 'beginning' | 'end' | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, at);
  const d = o.default_starting_offset ?? o['default-starting-offset'];
  if (d === undefined) return undefined;
  const here = `${at}.default_starting_offset`;
  const dd = obj(d, here);
  const position = str(dd.position, `${here}.position`).toLowerCase();
  if (dd.value !== undefined && dd.value !== 0) fail(`${here}.value`, 'only 0 is supported (the first or the last record)');
  if (position === 'beginning') return 'beginning';
  if (position === 'end') return 'end';
  fail(`${here}.position`, `expected Beginning or End, got "${String(dd.position)}"`);
}

function converterOf(v: unknown, at: string): 'json' | 'raw' | undefined {
  if (v === undefined) return undefined;
  const c = str(v, at);
  if (c !== 'json' && c !== 'raw') fail(at, `expected json or raw, got "${c}"`);
  return c;
}

/** Compiles dataflow YAML text. */
export async function parseDataflowYaml(text: string, options: LoadOptions = {}): Promise<DataflowSpec> {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new DataflowYamlError('', `invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const root = obj(doc.toJS(), '(top level)');
  known(root, '', ['apiVersion', 'meta', 'config', 'types', 'topics', 'services', 'imports', 'dev', 'schedule']);
  if ('schedule' in root) fail('schedule', 'schedule sources are not supported yet');
  if ('imports' in root) fail('imports', 'package imports are not supported; use module: + function: or uses: in operators');
  const apiVersion = str(root.apiVersion, 'apiVersion');
  if (!['0.5.0', '0.6.0'].includes(apiVersion)) fail('apiVersion', `expected 0.5.0 or 0.6.0, got "${apiVersion}"`);
  const meta = obj(root.meta, 'meta');
  known(meta, 'meta', ['name', 'version', 'namespace']);
  const name = str(meta.name, 'meta.name');
  const version = meta.version === undefined ? '0.1.0' : str(meta.version, 'meta.version');

  const config = root.config === undefined ? {} : obj(root.config, 'config');
  known(config, 'config', ['converter', 'consumer', 'producer', 'checkpoint']);
  const defaultConverter = converterOf(config.converter, 'config.converter') ?? 'json';
  const defaultOffset = startOffset(config.consumer, 'config.consumer') ?? 'end';
  const checkpoint = { ...DEFAULT_CHECKPOINT };
  if (config.checkpoint !== undefined) {
    const c = obj(config.checkpoint, 'config.checkpoint');
    known(c, 'config.checkpoint', ['interval', 'records']);
    if (c.interval !== undefined) checkpoint.intervalMs = duration(c.interval, 'config.checkpoint.interval');
    if (c.records !== undefined) checkpoint.records = int(c.records, 'config.checkpoint.records', 1);
  }

  const types = root.types === undefined ? {} : obj(root.types, 'types');
  const schemas = new SchemaCompiler(types, apiVersion);
  const topicDefs = new Map<string, { name: string; partitions: number; converter?: 'json' | 'raw'; offset?: 'beginning' | 'end'; schema?: SourceSpec['schema'] }>();
  for (const [id, def] of Object.entries(obj(root.topics, 'topics'))) {
    const at = `topics.${id}`;
    const t = def === null ? {} : obj(def, at);
    known(t, at, ['name', 'schema', 'consumer', 'producer', 'partitions', 'remote_cluster_profile']);
    if (t.remote_cluster_profile !== undefined) fail(`${at}.remote_cluster_profile`, 'remote clusters are not supported');
    const schemaDef = t.schema === undefined ? {} : obj(t.schema, `${at}.schema`);
    const value = schemaDef.value === undefined ? {} : obj(schemaDef.value, `${at}.schema.value`);
    let schema: SourceSpec['schema'];
    if (value.type !== undefined) {
      try {
        schema = { type: str(value.type, `${at}.schema.value.type`), check: schemas.compile(value, `${at}.schema.value`) };
      } catch (err) {
        if (err instanceof SchemaError) fail(err.path, err.message.slice(err.path.length + 2));
        throw err;
      }
    }
    topicDefs.set(id, {
      name: t.name === undefined ? id : str(t.name, `${at}.name`),
      partitions: t.partitions === undefined ? 1 : int(t.partitions, `${at}.partitions`, 1),
      converter: converterOf(value.converter, `${at}.schema.value.converter`),
      offset: startOffset(t.consumer, `${at}.consumer`),
      ...(schema ? { schema } : {}),
    });
  }
  const topicName = (v: unknown, at: string): string => {
    const id = str(v, at);
    const def = topicDefs.get(id);
    if (!def) fail(at, `no topic "${id}" in topics (defined: ${[...topicDefs.keys()].join(', ') || 'none'})`);
    return def.name;
  };

  const compiler = new Compiler(options.baseDir ?? process.cwd());
  const services: ServiceSpec[] = [];
  for (const [serviceName, def] of Object.entries(obj(root.services, 'services'))) {
    const at = `services.${serviceName}`;
    const s = obj(def, at);
    known(s, at, ['sources', 'states', 'transforms', 'window', 'partition', 'series', 'correlations', 'time-steps', 'retire-after', 'limits', 'sinks', 'history']);
    if (s.states !== undefined) fail(`${at}.states`, 'declare what to keep with window.partition.aggregate (states are not supported)');
    if (s.partition !== undefined) fail(`${at}.partition`, 'keyed state without a window is not supported; use window.partition');
    const sources: SourceSpec[] = [];
    const sourceList = list(s.sources, `${at}.sources`);
    if (sourceList.length === 0) fail(`${at}.sources`, 'at least one source is needed');
    for (let i = 0; i < sourceList.length; i++) {
      const here = `${at}.sources[${i}]`;
      const src = obj(sourceList[i], here);
      known(src, here, ['type', 'id', 'transforms']);
      if (src.type !== undefined && src.type !== 'topic') fail(`${here}.type`, `only topic sources are supported, got "${String(src.type)}"`);
      const id = str(src.id, `${here}.id`);
      const topic = topicName(id, `${here}.id`);
      const tdef = topicDefs.get(id)!;
      const converter = tdef.converter ?? defaultConverter;
      sources.push({
        topic,
        offset: tdef.offset ?? defaultOffset,
        converter,
        ...(tdef.schema && converter === 'json' ? { schema: tdef.schema } : {}),
        transforms: await compiler.operators(src.transforms, `${here}.transforms`),
      });
    }
    const service: ServiceSpec = {
      ...newService(serviceName),
      sources,
      transforms: await compiler.operators(s.transforms, `${at}.transforms`),
      history: s.history === undefined ? DEFAULT_HISTORY : int(s.history, `${at}.history`, 1),
    };
    if (s.window !== undefined) {
      const wat = `${at}.window`;
      const w = obj(s.window, wat);
      known(w, wat, ['tumbling', 'sliding', 'watermark', 'late', 'assign-timestamp', 'transforms', 'partition', 'flush']);
      if (w.flush !== undefined) fail(`${wat}.flush`, 'flush functions are not supported; a closed window emits its aggregates (see series: for more)');
      let size: number;
      let slide: number;
      let kind: 'tumbling' | 'sliding';
      if (w.tumbling !== undefined && w.sliding !== undefined) fail(wat, 'give one of tumbling or sliding, not both');
      if (w.tumbling !== undefined) {
        const t = obj(w.tumbling, `${wat}.tumbling`);
        known(t, `${wat}.tumbling`, ['duration']);
        kind = 'tumbling';
        size = slide = duration(t.duration, `${wat}.tumbling.duration`);
      } else if (w.sliding !== undefined) {
        const t = obj(w.sliding, `${wat}.sliding`);
        known(t, `${wat}.sliding`, ['duration', 'slide']);
        kind = 'sliding';
        size = duration(t.duration, `${wat}.sliding.duration`);
        slide = duration(t.slide, `${wat}.sliding.slide`);
        if (slide <= 0 || slide > size) fail(`${wat}.sliding.slide`, 'must be > 0 and ≤ the duration');
      } else fail(wat, 'expected tumbling: { duration } or sliding: { duration, slide }');
      if (size <= 0) fail(`${wat}.${kind}.duration`, 'must be > 0');
      const wm = w.watermark === undefined ? {} : obj(w.watermark, `${wat}.watermark`);
      known(wm, `${wat}.watermark`, ['grace-period', 'idleness']);
      let late: LatePolicy = { policy: 'drop' };
      if (w.late !== undefined) {
        const l = obj(w.late, `${wat}.late`);
        known(l, `${wat}.late`, ['policy', 'topic']);
        const policy = l.policy === undefined ? (l.topic !== undefined ? 'side-output' : 'drop') : str(l.policy, `${wat}.late.policy`);
        if (policy === 'side-output') late = { policy, topic: topicName(l.topic, `${wat}.late.topic`) };
        else if (policy !== 'drop') fail(`${wat}.late.policy`, `expected drop or side-output, got "${policy}"`);
      }
      service.window = {
        kind,
        size,
        slide,
        grace: wm['grace-period'] === undefined ? 0 : duration(wm['grace-period'], `${wat}.watermark.grace-period`),
        ...(wm.idleness !== undefined ? { idleness: duration(wm.idleness, `${wat}.watermark.idleness`) } : {}),
        late,
      };
      if (w['assign-timestamp'] !== undefined) {
        const { fn, label } = await compiler.fnRef(w['assign-timestamp'], `${wat}.assign-timestamp`);
        service.transforms.push({ kind: 'assign-timestamp', fn, label });
      }
      service.transforms.push(...(await compiler.operators(w.transforms, `${wat}.transforms`)));
      const pat = `${wat}.partition`;
      const p = w.partition === undefined ? {} : obj(w.partition, pat);
      known(p, pat, ['assign-key', 'group', 'transforms', 'aggregate', 'update-state']);
      if (p['update-state'] !== undefined) fail(`${pat}.update-state`, 'update-state functions are not supported; declare aggregate: { name: count | { sum|min|max|mean|last|distinct: <field> } }');
      if (p['assign-key'] !== undefined) {
        const { fn, label } = await compiler.fnRef(p['assign-key'], `${pat}.assign-key`);
        service.transforms.push({ kind: 'assign-key', fn, label });
      }
      service.transforms.push(...(await compiler.operators(p.transforms, `${pat}.transforms`)));
      if (p.group !== undefined) service.group = (await compiler.fnRef(p.group, `${pat}.group`)).fn;
      service.aggregates = p.aggregate === undefined ? [] : await compiler.aggregates(p.aggregate, `${pat}.aggregate`);
    }
    if (s.series !== undefined) {
      const sat = `${at}.series`;
      if (!service.window) fail(sat, 'series need a window');
      const entries = Array.isArray(s.series) ? s.series.map((e, i) => [e, `${sat}[${i}]`] as const) : [[s.series, sat] as const];
      for (const [entry, here] of entries) {
        const o = obj(entry, here);
        known(o, here, ['of', 'delta', 'pct-change', 'rolling-mean', 'correlation']);
        const series: SeriesSpec = {
          of: o.of === undefined ? (service.aggregates[0]?.name ?? 'count') : str(o.of, `${here}.of`),
          delta: o.delta === undefined ? false : bool(o.delta, `${here}.delta`),
          pctChange: o['pct-change'] === undefined ? false : bool(o['pct-change'], `${here}.pct-change`),
        };
        if (o['rolling-mean'] !== undefined) {
          const r = o['rolling-mean'];
          if (isObj(r)) {
            known(r, `${here}.rolling-mean`, ['windows']);
            series.rollingMean = int(r.windows, `${here}.rolling-mean.windows`, 1);
          } else series.rollingMean = int(r, `${here}.rolling-mean`, 1);
        }
        service.series.push(series);
        if (o.correlation !== undefined) service.correlations.push(correlationSpec(correlation(o.correlation, `${here}.correlation`, series.of, !!service.group)));
      }
    }
    if (s.correlations !== undefined) {
      const cat = `${at}.correlations`;
      if (!service.window) fail(cat, 'correlations need a window');
      list(s.correlations, cat).forEach((c, i) => service.correlations.push(correlationSpec(correlation(c, `${cat}[${i}]`, undefined, !!service.group))));
    }
    if (s['time-steps'] !== undefined) {
      const mode = str(s['time-steps'], `${at}.time-steps`);
      if (mode !== 'dense' && mode !== 'sparse') fail(`${at}.time-steps`, `expected dense or sparse, got "${mode}"`);
      service.timeSteps = mode;
    }
    if (s['retire-after'] !== undefined) {
      const r = s['retire-after'];
      const here = `${at}.retire-after`;
      if (!service.window) fail(here, 'retire-after needs a window');
      // Steps, or a span of event time: the steps it covers, rounded up.
      service.retireAfter = typeof r === 'number' ? int(r, here, 1) : Math.max(1, Math.ceil(duration(r, here) / service.window.slide));
    }
    if (s.limits !== undefined) {
      const lat = `${at}.limits`;
      const l = obj(s.limits, lat);
      known(l, lat, ['max-keys', 'max-groups', 'max-pairs']);
      if (l['max-keys'] !== undefined) service.limits.maxKeys = int(l['max-keys'], `${lat}.max-keys`, 1);
      if (l['max-groups'] !== undefined) service.limits.maxGroups = int(l['max-groups'], `${lat}.max-groups`, 1);
      if (l['max-pairs'] !== undefined) service.limits.maxPairs = int(l['max-pairs'], `${lat}.max-pairs`, 1);
    }
    if (s.sinks !== undefined) {
      const sinkList = list(s.sinks, `${at}.sinks`);
      for (let i = 0; i < sinkList.length; i++) {
        const here = `${at}.sinks[${i}]`;
        const k = obj(sinkList[i], here);
        known(k, here, ['type', 'id', 'emit', 'transforms']);
        if (k.type !== undefined && k.type !== 'topic') fail(`${here}.type`, `only topic sinks are supported, got "${String(k.type)}"`);
        if (k.transforms !== undefined) fail(`${here}.transforms`, 'per-sink transforms are not supported; use emit: to choose what goes to each sink');
        const sink: SinkSpec = { topic: topicName(k.id, `${here}.id`) };
        if (k.emit !== undefined) {
          sink.emit = list(k.emit, `${here}.emit`).map((e, j) => {
            const kind = str(e, `${here}.emit[${j}]`) as EmitKind;
            if (!EMITS.includes(kind)) fail(`${here}.emit[${j}]`, `expected one of ${EMITS.join(', ')}`);
            return kind;
          });
        }
        service.sinks.push(sink);
      }
    }
    services.push(service);
  }
  const spec: DataflowSpec = {
    apiVersion,
    name,
    version,
    services,
    checkpoint,
    topics: new Map([...topicDefs.values()].map((t) => [t.name, { name: t.name, partitions: t.partitions }])),
  };
  try {
    validateSpec(spec);
  } catch (err) {
    if (err instanceof DataflowSpecError && !(err instanceof DataflowYamlError)) throw new DataflowYamlError('', err.message);
    throw err;
  }
  return spec;
}
