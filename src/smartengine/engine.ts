// SmartEngine: compiles SmartModules once (cache keyed by the sha256 of the
// wasm bytes), builds chains of instances with limits, and accounts the
// memory of every live instance against one budget, so that modules that
// leak (every Rust SDK module leaks its output buffers, smartmodule-abi.md
// §2) fail their own stream with SmartModuleMemoryLimitExceeded instead of
// taking the node down.

import { totalmem } from 'node:os';
import { ErrorCode } from '../protocol/index.js';
import { DEFAULT_SMARTENGINE_VERSION, SMARTMODULE_TIMESTAMPS_VERSION, type Lookback } from './abi.js';
import { SmartChain } from './chain.js';
import { moduleLabel, SmartModuleError } from './errors.js';
import { SmartModuleInstance, type InstanceLimits, type MemoryBudget, type TraceHook } from './instance.js';
import { compileSmartModule, sha256Hex, type CompiledSmartModule } from './module.js';
import type { WasiOutput } from './wasi.js';

/** SmartModule kinds as an invocation declares them (informational except for the aggregate accumulator). */
export type SmartModuleKindName =
  | 'filter'
  | 'map'
  | 'filter-map'
  | 'array-map'
  | 'aggregate'
  | 'join'
  | 'join-stream'
  | 'generic';

export interface ChainModuleConfig {
  /** The raw wasm (not gzipped; see invocation.ts for wire payloads). */
  wasm: Uint8Array;
  /** For messages and metrics. */
  name: string;
  /** Declared kind. Like Fluvio, the engine picks the transform from the exports, not from this. */
  kind?: SmartModuleKindName;
  /** Params passed to init (`with:` values / SmartModuleInvocation.params). */
  params?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** Initial aggregate accumulator. */
  accumulator?: Uint8Array;
  /** Look-back: records the SPU feeds to look_back before the first batch. */
  lookback?: Lookback;
  /**
   * Whether init also sees `lookback` in its params (default true: the SPU
   * passes SmartModuleInvocation.params, which carry it; a chain built from
   * a transformation step passes it to the engine only).
   */
  lookbackInInit?: boolean;
  /** ABI version the module gets (default 22; the SPU passes the request's api_version). */
  version?: number;
}

export interface SmartEngineLimits {
  /**
   * Fuel per invocation (one call of init, look_back or the transform,
   * including its alloc): one unit per function call and per loop
   * iteration, one per 64 bytes of memory.copy/fill/init. Measured
   * (bench/smartengine.ts, 2-core EPYC): 0.4–1 billion units per second, so
   * the default of 10^9 stops a runaway call after 1–2.5 s of CPU, while a
   * real module needs ~600 units per record (a 64 MiB batch of 100-byte JSON
   * records: ~0.4 × 10^9).
   */
  fuel: number;
  /** Linear memory of one instance, bytes (Fluvio's store_max_memory, default 1,000,000,000). */
  maxMemoryBytes: number;
  /** Linear memory of all live instances of this engine together (default: a quarter of RAM, at most 8 GiB). */
  maxTotalMemoryBytes: number;
}

export const DEFAULT_FUEL = 1_000_000_000;
export const DEFAULT_MAX_MEMORY_BYTES = 1_000_000_000;

export function defaultLimits(): SmartEngineLimits {
  return {
    fuel: DEFAULT_FUEL,
    maxMemoryBytes: DEFAULT_MAX_MEMORY_BYTES,
    maxTotalMemoryBytes: Math.min(8 * 1024 ** 3, Math.floor(totalmem() / 4)),
  };
}

export interface SmartEngineOptions {
  limits?: Partial<SmartEngineLimits>;
  /** Compiled modules kept in the cache (least recently used go first). Default 64. */
  cacheSize?: number;
  /** Where WASI modules' stdout/stderr go (default: the process's own, as in Fluvio). */
  wasiOutput?: WasiOutput;
  /** Called after every wasm call with its exact input and output bytes (debugging, tests; costs a copy). */
  trace?: TraceHook;
  /**
   * Run 2022-era modules at input version 22 (default true): such a module
   * fails to decode a version >= 23 input that carries a timestamp (-11,
   * also in Fluvio); the engine then retries the batch at 22 and, when that
   * decodes, keeps giving the module 22 (remembered by sha256, logged once).
   * false: exactly Fluvio's behaviour (the -11 ends the batch).
   */
  eraFallback?: boolean;
  /** Where the engine says what it decided about a module (default: one line on stderr). */
  logger?: EngineLogger;
}

/** The part of a pino logger the engine uses. */
export interface EngineLogger {
  info(details: object, message: string): void;
}

const STDERR_LOGGER: EngineLogger = {
  info: (details, message) => process.stderr.write(`freshet smartengine: ${message} ${JSON.stringify(details)}\n`),
};

export interface BuildChainOptions {
  /** Overrides of the engine's limits for this chain's instances. */
  limits?: Partial<Pick<SmartEngineLimits, 'fuel' | 'maxMemoryBytes'>>;
}

export interface SmartEngineStats {
  compiles: number;
  cacheHits: number;
  cachedModules: number;
  instancesCreated: number;
  liveInstances: number;
  liveChains: number;
  memoryInUseBytes: number;
}

export class SmartEngine {
  readonly limits: Readonly<SmartEngineLimits>;
  private readonly cache = new Map<string, Promise<CompiledSmartModule>>();
  private readonly cacheSize: number;
  private readonly wasiOutput: WasiOutput;
  private readonly trace: TraceHook | undefined;
  private readonly chains = new Set<SmartChain>();
  private memoryInUse = 0;
  private counters = { compiles: 0, cacheHits: 0, instancesCreated: 0, liveInstances: 0 };
  private readonly budget: MemoryBudget;
  private readonly logger: EngineLogger;
  /** sha256 of the modules found to be of the 2022 era: they get input version 22 whatever is asked. */
  private readonly legacyInput = new Set<string>();
  private readonly eraFallback: boolean;

  constructor(opts: SmartEngineOptions = {}) {
    const limits = { ...defaultLimits(), ...stripUndefined(opts.limits ?? {}) };
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`SmartEngine limit ${key} must be a positive integer, got ${value}`);
    }
    this.limits = Object.freeze(limits);
    this.cacheSize = opts.cacheSize ?? 64;
    this.wasiOutput = opts.wasiOutput ?? 'inherit';
    this.trace = opts.trace;
    this.logger = opts.logger ?? STDERR_LOGGER;
    this.eraFallback = opts.eraFallback ?? true;
    this.budget = {
      maxBytes: limits.maxTotalMemoryBytes,
      available: () => limits.maxTotalMemoryBytes - this.memoryInUse,
      add: (delta: number) => {
        this.memoryInUse += delta;
      },
    };
  }

  /**
   * The compiled module for these bytes: from the cache (by sha256) or
   * compiled and metered now. Concurrent calls for the same bytes share one
   * compilation. Throws SmartModuleError (6005) for an unusable module.
   */
  async compile(wasm: Uint8Array, name = 'smartmodule'): Promise<CompiledSmartModule> {
    const hash = sha256Hex(wasm);
    const cached = this.cache.get(hash);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      this.cache.delete(hash);
      this.cache.set(hash, cached);
      return cached;
    }
    this.counters.compiles++;
    const pending = compileSmartModule(wasm, name, hash);
    this.cache.set(hash, pending);
    pending.catch(() => {
      if (this.cache.get(hash) === pending) this.cache.delete(hash);
    });
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    return pending;
  }

  /**
   * Compiles (or takes from the cache) and instantiates each module, calls
   * init with its params, and returns the chain. Throws SmartModuleError with
   * the Fluvio error the SPU sends: 6005 SmartModuleChainInitError, or 6008
   * SmartModuleMemoryLimitExceeded. Look-back is a separate step
   * (SmartChain.lookBack), as in the SPU.
   */
  async buildChain(configs: readonly ChainModuleConfig[], opts: BuildChainOptions = {}): Promise<SmartChain> {
    const limits: InstanceLimits = {
      fuel: opts.limits?.fuel ?? this.limits.fuel,
      maxMemoryBytes: opts.limits?.maxMemoryBytes ?? this.limits.maxMemoryBytes,
    };
    const instances: SmartModuleInstance[] = [];
    try {
      for (let index = 0; index < configs.length; index++) {
        const cfg = configs[index];
        let compiled: CompiledSmartModule;
        try {
          compiled = await this.compile(cfg.wasm, cfg.name);
        } catch (err) {
          if (!(err instanceof SmartModuleError)) throw err;
          // The cached failure may carry another name for the same bytes.
          throw new SmartModuleError({
            moduleName: cfg.name,
            moduleIndex: index,
            kind: err.kind,
            message: err.message.replace(moduleLabel(err.moduleName), moduleLabel(cfg.name)),
            fluvioError: { code: ErrorCode.SmartModuleChainInitError, message: err.message.replace(moduleLabel(err.moduleName), moduleLabel(cfg.name)) },
            cause: err.cause,
          });
        }
        const requested = cfg.version ?? DEFAULT_SMARTENGINE_VERSION;
        const legacy = this.legacyInput.has(compiled.sha256) && requested > SMARTMODULE_TIMESTAMPS_VERSION;
        const instance = await SmartModuleInstance.create(compiled, {
          name: cfg.name,
          index,
          version: legacy ? SMARTMODULE_TIMESTAMPS_VERSION : requested,
          ...(this.eraFallback ? { onLegacyInput: (from: number) => this.rememberLegacyInput(compiled.sha256, cfg.name, from) } : {}),
          limits,
          budget: this.budget,
          wasiOutput: this.wasiOutput,
          ...(this.trace === undefined ? {} : { trace: this.trace }),
          ...(cfg.accumulator === undefined ? {} : { accumulator: cfg.accumulator }),
        });
        this.counters.instancesCreated++;
        this.counters.liveInstances++;
        instances.push(instance);
        const params = toParamMap(cfg.params);
        instance.callInit(params, cfg.lookbackInInit === false ? undefined : cfg.lookback);
      }
    } catch (err) {
      for (const inst of instances) inst.dispose();
      this.counters.liveInstances -= instances.length;
      if (err instanceof SmartModuleError && err.fluvioError.code !== ErrorCode.SmartModuleMemoryLimitExceeded) {
        err.fluvioError = { code: ErrorCode.SmartModuleChainInitError, message: err.message };
      }
      throw err;
    }
    const chain = new SmartChain(
      instances,
      configs.map((c) => c.lookback),
      (closed) => {
        this.chains.delete(closed);
        this.counters.liveInstances -= instances.length;
      },
    );
    this.chains.add(chain);
    return chain;
  }

  /** Whether a module (by sha256) was found to be of the 2022 era: it then gets input version 22. */
  isLegacyInput(sha256: string): boolean {
    return this.legacyInput.has(sha256);
  }

  private rememberLegacyInput(sha256: string, name: string, requested: number): void {
    if (this.legacyInput.has(sha256)) return;
    this.legacyInput.add(sha256);
    this.logger.info(
      { module: name, sha256, requestedVersion: requested, version: SMARTMODULE_TIMESTAMPS_VERSION },
      `SmartModule ${name} is of the 2022 era (it cannot decode input version ${requested} with timestamps, and decodes version ${SMARTMODULE_TIMESTAMPS_VERSION}): it runs at version ${SMARTMODULE_TIMESTAMPS_VERSION} from now on`,
    );
  }

  stats(): SmartEngineStats {
    return {
      compiles: this.counters.compiles,
      cacheHits: this.counters.cacheHits,
      cachedModules: this.cache.size,
      instancesCreated: this.counters.instancesCreated,
      liveInstances: this.counters.liveInstances,
      liveChains: this.chains.size,
      memoryInUseBytes: this.memoryInUse,
    };
  }

  /** Closes every live chain and empties the cache. */
  close(): void {
    for (const chain of [...this.chains]) chain.close();
    this.cache.clear();
  }
}

function toParamMap(params: ChainModuleConfig['params']): Map<string, string> {
  if (params === undefined) return new Map();
  if (params instanceof Map) return new Map(params);
  return new Map(Object.entries(params as Readonly<Record<string, string>>));
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
