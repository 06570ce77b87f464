import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip as gzipCallback } from 'node:zlib';
import type { SmartModuleMetadata, SmartModuleSpec } from '../../protocol/index.js';
import { readJsonIfExists, SerialQueue, writeFileAtomic, writeJsonAtomic } from '../../common/index.js';

/** A refusal the client sees as a Fluvio error code with a message. */
export class SmartModuleRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const SMARTMODULE_ERROR = {
  notFound: 6001,
  invalid: 6002,
  alreadyExists: 2002,
} as const;

export const SMARTMODULE_LIMITS = {
  maxNameLength: 255,
  /** Compressed module size; the SC frame limit bounds it too. */
  maxWasmBytes: 32 * 1024 * 1024,
  maxSmartModules: 1000,
} as const;

const gzip = promisify(gzipCallback);

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** How a registered module is kept: its metadata in the index, its bytes in a content-addressed file. */
export interface StoredSmartModule {
  name: string;
  meta?: {
    package: SmartModuleMetadata['package'];
    params: Record<string, { description?: string; optional: boolean }>;
  };
  format: number;
  /** sha256 of the gzipped payload as stored. */
  digest: string;
  /** Bytes of the gzipped payload. */
  payloadLength: number;
  createdAt: string;
}

export type SmartModuleEvent = { kind: 'created' | 'deleted'; module: StoredSmartModule };

/** Package ids (`group/name@version`) are valid names, as on Fluvio's hub. */
export function validateSmartModuleName(name: string): void {
  if (name.length === 0 || name.length > SMARTMODULE_LIMITS.maxNameLength || !/^[a-z0-9]([a-z0-9._@/-]*[a-z0-9])?$/.test(name)) {
    throw new SmartModuleRequestError(
      SMARTMODULE_ERROR.invalid,
      `invalid SmartModule name "${name}": use lowercase letters, digits and . _ - / @ (at most ${SMARTMODULE_LIMITS.maxNameLength})`,
    );
  }
}

/** Registered modules arrive gzipped (Fluvio's CLI compresses them); raw wasm is accepted too and stored gzipped. */
function wasmOf(payload: Buffer): Buffer {
  if (payload.subarray(0, 2).equals(GZIP_MAGIC)) {
    let wasm: Buffer;
    try {
      wasm = gunzipSync(payload, { maxOutputLength: 8 * SMARTMODULE_LIMITS.maxWasmBytes });
    } catch (err) {
      throw new SmartModuleRequestError(SMARTMODULE_ERROR.invalid, `SmartModule payload is not valid gzip: ${(err as Error).message}`);
    }
    if (!wasm.subarray(0, 4).equals(WASM_MAGIC)) {
      throw new SmartModuleRequestError(SMARTMODULE_ERROR.invalid, 'SmartModule payload is not a WebAssembly module');
    }
    return wasm;
  }
  if (payload.subarray(0, 4).equals(WASM_MAGIC)) return payload;
  throw new SmartModuleRequestError(SMARTMODULE_ERROR.invalid, 'SmartModule payload is neither gzipped nor raw WebAssembly');
}

/**
 * The SC's SmartModule objects, persisted in `<dataDir>/metadata/smartmodules.json`
 * with the module bytes beside it, so that consumers, producers, topics and
 * connectors can name them and they survive restarts.
 */
export class SmartModuleRegistry extends EventEmitter<{ change: [SmartModuleEvent] }> {
  private readonly modules = new Map<string, StoredSmartModule>();
  private readonly wasmCache = new Map<string, Buffer>();
  private readonly queue = new SerialQueue();
  private readonly indexFile: string;
  private readonly blobDir: string;

  private constructor(dataDir: string) {
    super();
    this.indexFile = path.join(dataDir, 'metadata', 'smartmodules.json');
    this.blobDir = path.join(dataDir, 'metadata', 'smartmodules');
  }

  static async open(dataDir: string): Promise<SmartModuleRegistry> {
    const registry = new SmartModuleRegistry(dataDir);
    const stored = await readJsonIfExists<{ smartmodules: StoredSmartModule[] }>(registry.indexFile);
    for (const module of stored?.smartmodules ?? []) registry.modules.set(module.name, module);
    return registry;
  }

  list(): StoredSmartModule[] {
    return [...this.modules.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Finds a module by its exact name, or a package name without `@version` (the newest one registered). */
  resolve(name: string): StoredSmartModule | undefined {
    const exact = this.modules.get(name);
    if (exact || name.includes('@')) return exact;
    return this.list()
      .filter((module) => module.name.startsWith(`${name}@`))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  }

  /** The gzipped payload as registered. */
  async payload(module: StoredSmartModule): Promise<Buffer> {
    return readFile(path.join(this.blobDir, `${module.digest}.wasm.gz`));
  }

  /** The module's WebAssembly bytes, for the engine. */
  async wasm(name: string): Promise<Buffer> {
    const module = this.resolve(name);
    if (!module) throw new SmartModuleRequestError(SMARTMODULE_ERROR.notFound, `SmartModule ${name} was not found`);
    const cached = this.wasmCache.get(module.digest);
    if (cached) return cached;
    const wasm = wasmOf(await this.payload(module));
    this.wasmCache.set(module.digest, wasm);
    return wasm;
  }

  create(name: string, spec: SmartModuleSpec, dryRun = false): Promise<void> {
    return this.queue.run(async () => {
      validateSmartModuleName(name);
      if (this.modules.has(name)) throw new SmartModuleRequestError(SMARTMODULE_ERROR.alreadyExists, `SmartModule ${name} already exists`);
      if (this.modules.size >= SMARTMODULE_LIMITS.maxSmartModules) {
        throw new SmartModuleRequestError(SMARTMODULE_ERROR.invalid, `this node holds the maximum of ${SMARTMODULE_LIMITS.maxSmartModules} SmartModules`);
      }
      if (spec.wasm.payload.length > SMARTMODULE_LIMITS.maxWasmBytes) {
        throw new SmartModuleRequestError(SMARTMODULE_ERROR.invalid, `SmartModule ${name} is larger than ${SMARTMODULE_LIMITS.maxWasmBytes} bytes`);
      }
      const wasm = wasmOf(spec.wasm.payload);
      if (dryRun) return;
      const payload = spec.wasm.payload.subarray(0, 2).equals(GZIP_MAGIC) ? spec.wasm.payload : await gzip(wasm);
      const digest = createHash('sha256').update(payload).digest('hex');
      await writeFileAtomic(path.join(this.blobDir, `${digest}.wasm.gz`), payload);
      const module: StoredSmartModule = {
        name,
        ...(spec.meta
          ? { meta: { package: spec.meta.package, params: Object.fromEntries(spec.meta.params) } }
          : {}),
        format: spec.wasm.format,
        digest,
        payloadLength: payload.length,
        createdAt: new Date().toISOString(),
      };
      this.modules.set(name, module);
      await this.persist();
      this.emit('change', { kind: 'created', module });
    });
  }

  delete(name: string): Promise<void> {
    return this.queue.run(async () => {
      const module = this.modules.get(name);
      if (!module) throw new SmartModuleRequestError(SMARTMODULE_ERROR.notFound, `SmartModule ${name} was not found`);
      this.modules.delete(name);
      await this.persist();
      if (![...this.modules.values()].some((other) => other.digest === module.digest)) {
        await rm(path.join(this.blobDir, `${module.digest}.wasm.gz`), { force: true });
        this.wasmCache.delete(module.digest);
      }
      this.emit('change', { kind: 'deleted', module });
    });
  }

  private persist(): Promise<void> {
    return writeJsonAtomic(this.indexFile, { smartmodules: this.list() });
  }
}
