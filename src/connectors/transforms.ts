// `transforms:` of a connector config, run where Fluvio runs them:
// - sources: client-side, in the connector, before producing (a chain on a
//   SmartEngine of the connector's own);
// - sinks: on the SPU, as SmartModule invocations of the consumer's stream.
//
// `uses` names resolve as everywhere (src/smartengine/resolver.ts): a
// SmartModule registered on the cluster (by exact name, or `group/name`
// without version), else a Freshet built-in.

import type { Freshet, SmartModuleSpec } from '../client/index.js';
import { SmartEngine, type ChainError, type SmartChain, type SmartRecord } from '../smartengine/index.js';
import { resolveSmartModule, type ResolvedSmartModule } from '../smartengine/index.js';
import type { SourceRecord } from './connector.js';
import { ConfigError } from './errors.js';
import type { TransformStep } from './config.js';

/** The module a `uses` name runs: registered on the cluster, else built in. */
async function transformModule(client: Freshet, name: string): Promise<ResolvedSmartModule> {
  const resolved = await resolveSmartModule(name, (n) => client.admin.getSmartModule(n));
  if (resolved) return resolved;
  throw new ConfigError(
    `transforms: SmartModule "${name}" is neither registered on the cluster nor built in`,
    'register it with `freshet smartmodule create` (or `fluvio smartmodule create`), or use a built-in name',
  );
}

/** The consumer's `smartmodules` option for a sink: registered modules by name (the SPU has them), built-ins sent inline. */
export async function sinkSmartModules(client: Freshet, steps: readonly TransformStep[]): Promise<SmartModuleSpec[]> {
  const specs: SmartModuleSpec[] = [];
  for (const step of steps) {
    const { wasm, source } = await transformModule(client, step.uses);
    const spec: SmartModuleSpec = source === 'registered' ? { name: step.uses, params: step.params } : { wasm, params: step.params };
    if (step.lookback) spec.lookback = { last: step.lookback.last, ...(step.lookback.ageMs !== undefined ? { ageMs: step.lookback.ageMs } : {}) };
    specs.push(spec);
  }
  return specs;
}

/** A record a transform refused, with the error (the runtime sends it to the dead-letter topic). */
export interface TransformFailure {
  record: SourceRecord;
  error: string;
}

export interface TransformResult {
  records: SourceRecord[];
  failed: TransformFailure[];
}

function toBuffer(data: Buffer | string | null | undefined): Buffer | null {
  if (data === null || data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * The client-side chain of a source. `process` never drops a record
 * silently: a record a module fails on comes back in `failed` with the
 * error; a module that breaks (trap, out of fuel) is rebuilt.
 */
export class SourceTransforms {
  private chain: SmartChain | undefined;

  private constructor(
    private readonly engine: SmartEngine,
    private readonly modules: { name: string; wasm: Uint8Array; params: Record<string, string>; lookback?: TransformStep['lookback'] }[],
  ) {}

  static async create(client: Freshet, steps: readonly TransformStep[]): Promise<SourceTransforms | undefined> {
    if (steps.length === 0) return undefined;
    const modules = [];
    for (const step of steps) {
      const { wasm } = await transformModule(client, step.uses);
      modules.push({ name: step.uses, wasm, params: step.params, ...(step.lookback ? { lookback: step.lookback } : {}) });
    }
    const transforms = new SourceTransforms(new SmartEngine({ wasiOutput: 'discard' }), modules);
    await transforms.build();
    return transforms;
  }

  /** Whether a module asks for look-back records before the first batch. */
  get needsLookBack(): boolean {
    return this.chain?.needsLookBack ?? false;
  }

  /** Feeds look-back records (the last ones of the topic) to the modules that want them. */
  async lookBack(read: (last: number, ageMs: number | undefined) => Promise<SmartRecord[]>): Promise<void> {
    await this.chain?.lookBack((lookback) => {
      const ageMs = lookback.age ? lookback.age.seconds * 1000 + lookback.age.nanos / 1e6 : undefined;
      return read(Number(lookback.last), ageMs);
    });
  }

  private async build(): Promise<void> {
    this.chain?.close();
    this.chain = await this.engine.buildChain(
      this.modules.map((m) => ({
        wasm: m.wasm,
        name: m.name,
        params: m.params,
        lookbackInInit: false,
        ...(m.lookback ? { lookback: { last: m.lookback.last, ...(m.lookback.ageMs !== undefined ? { age: msDuration(m.lookback.ageMs) } : {}) } } : {}),
      })),
    );
  }

  async process(records: readonly SourceRecord[]): Promise<TransformResult> {
    const now = Date.now();
    const input: SmartRecord[] = records.map((record, i) => ({
      attributes: 0,
      timestampDelta: (record.timestamp ?? now) - now,
      offsetDelta: i,
      key: toBuffer(record.key),
      value: toBuffer(record.value) ?? Buffer.alloc(0),
      headers: 0,
    }));
    const chain = this.chain!;
    const out = chain.process(input, { baseOffset: 0, baseTimestamp: now });
    if (!out.error) return { records: out.records.map((r) => fromSmartRecord(r, now)), failed: [] };
    // Find the record(s) at fault: one at a time (rebuilding a broken chain), so the others still go through.
    const result: TransformResult = { records: [], failed: [] };
    if (out.error.kind !== 'runtime') await this.build();
    for (let i = 0; i < input.length; i++) {
      const single = this.chain!.process([{ ...input[i], offsetDelta: 0 }], { baseOffset: i, baseTimestamp: now });
      if (single.error) {
        result.failed.push({ record: records[i], error: describe(single.error) });
        if (single.error.kind !== 'runtime') await this.build();
      } else {
        result.records.push(...single.records.map((r) => fromSmartRecord(r, now)));
      }
    }
    return result;
  }

  close(): void {
    this.chain?.close();
    this.engine.close();
  }
}

function msDuration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) };
}

function fromSmartRecord(record: SmartRecord, baseTimestamp: number): SourceRecord {
  return { key: record.key, value: record.value, timestamp: baseTimestamp + record.timestampDelta };
}

function describe(error: ChainError): string {
  return `SmartModule ${error.moduleName}: ${error.message}`;
}
