// The built-in SmartModules: what Fluvio users reach for most on the Hub,
// written in AssemblyScript with the Freshet SDK (sdk/builtins/*.ts) and
// available on every node without registration, under the names Fluvio
// users write (`infinyon/jolt`, `infinyon/jolt@0.4.1`, ...).
//
// A built-in is compiled on first use (asc, a few seconds) and cached: in
// memory, and on disk under os.tmpdir()/freshet-builtins-<hash>, the hash
// covering the SDK and built-in sources, the compiler version and the build
// settings, so the next process (or node) loads it without compiling. No
// .wasm is committed.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ascVersion, compileEntry, sdkSourcesHash, type AscBuildOptions } from './sdk/asc.js';
import { entrySource, sourceExports, type SdkKind } from './sdk/entry.js';

/** sdk/builtins in this installation. */
export const BUILTINS_DIR = fileURLToPath(new URL('../../sdk/builtins/', import.meta.url));

export interface BuiltinSmartModule {
  /** Canonical name (`infinyon/jolt`). */
  name: string;
  /** The Hub version whose behaviour it follows. */
  version: string;
  kind: SdkKind;
  /** Source file in sdk/builtins. */
  file: string;
  /** Other group/name spellings that resolve to it. */
  aliases: string[];
  /** `with` parameters. */
  params: { name: string; required: boolean; description: string }[];
  description: string;
}

export const BUILTINS: readonly BuiltinSmartModule[] = [
  {
    name: 'infinyon/jolt',
    version: '0.4.1',
    kind: 'map',
    file: 'jolt.ts',
    aliases: ['infinyon-labs/jolt'],
    params: [{ name: 'spec', required: true, description: 'list of shift / default / remove operations (JSON, or a YAML list under with.spec)' }],
    description: 'JSON to JSON transformation driven by a Jolt spec',
  },
  {
    name: 'infinyon/regex-filter',
    version: '0.2.0',
    kind: 'filter',
    file: 'regex-filter.ts',
    aliases: ['infinyon-labs/regex-filter', 'fluvio/regex-filter'],
    params: [{ name: 'regex', required: true, description: 'Rust regex syntax, matched anywhere in the value' }],
    description: 'keeps records whose value matches a regular expression',
  },
  {
    name: 'infinyon/array-map-json',
    version: '0.1.1',
    kind: 'array-map',
    file: 'array-map-json.ts',
    aliases: ['infinyon-labs/array-map-json', 'fluvio/array-map-json'],
    params: [],
    description: 'one record per element of a JSON array',
  },
  {
    name: 'infinyon/json-sql',
    version: '0.2.1',
    kind: 'map',
    file: 'json-sql.ts',
    aliases: ['infinyon-labs/json-sql'],
    params: [{ name: 'mapping', required: true, description: 'table, operation, unique-columns and map-columns (JSON, or a YAML map under with.mapping)' }],
    description: 'JSON records to the SQL model the SQL sink executes',
  },
];

/** Canonical names of the built-ins. */
export const BUILTIN_NAMES: readonly string[] = BUILTINS.map((b) => b.name);

/** Build settings of the built-ins (part of the cache key). */
const BUILD_OPTIONS: AscBuildOptions = { optimizeLevel: 2, shrinkLevel: 0 };
/** Bump when the way built-ins are built changes without their sources changing. */
const BUILD_EPOCH = 1;

/** The built-in a name refers to (`infinyon/jolt`, `infinyon-labs/jolt@0.4.1`, ...), or undefined. */
export function resolveBuiltin(name: string): BuiltinSmartModule | undefined {
  const at = name.indexOf('@');
  const bare = (at >= 0 ? name.slice(0, at) : name).trim().toLowerCase();
  if (at >= 0 && !/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(name.slice(at + 1))) return undefined;
  return BUILTINS.find((b) => b.name === bare || b.aliases.includes(bare));
}

/** Whether a name (with or without @version) is a built-in. */
export function isBuiltinName(name: string): boolean {
  return resolveBuiltin(name) !== undefined;
}

let cacheDirPromise: Promise<string> | undefined;
const memory = new Map<string, Promise<Uint8Array>>();

/** os.tmpdir()/freshet-builtins-<hash of what the binaries depend on>. */
export function builtinsCacheDir(): Promise<string> {
  cacheDirPromise ??= (async () => {
    const hash = createHash('sha256');
    hash.update(`epoch ${BUILD_EPOCH}\0asc ${ascVersion()}\0${JSON.stringify(BUILD_OPTIONS)}\0sdk ${sdkSourcesHash()}\0`);
    hash.update(readFileSync(fileURLToPath(new URL('./sdk/entry.ts', import.meta.url))));
    for (const b of BUILTINS) hash.update(b.file).update('\0').update(await readFile(path.join(BUILTINS_DIR, b.file)));
    return path.join(os.tmpdir(), `freshet-builtins-${hash.digest('hex').slice(0, 16)}`);
  })();
  return cacheDirPromise;
}

async function loadOrBuild(builtin: BuiltinSmartModule): Promise<Uint8Array> {
  const dir = await builtinsCacheDir();
  const file = path.join(dir, `${builtin.file.replace(/\.ts$/, '')}.wasm`);
  try {
    const cached = new Uint8Array(await readFile(file));
    // a truncated or damaged file (a crash mid-write elsewhere) is rebuilt
    if (WebAssembly.validate(cached)) return cached;
  } catch {
    // not built yet
  }
  const source = path.join(BUILTINS_DIR, builtin.file);
  const text = await readFile(source, 'utf8');
  const exports = sourceExports(text, source, builtin.kind);
  const { wasm } = await compileEntry({ baseDir: BUILTINS_DIR, entrySource: entrySource(BUILTINS_DIR, source, exports), options: BUILD_OPTIONS });
  try {
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, wasm);
    await rename(tmp, file);
  } catch {
    // a read-only or full tmpdir only costs the next process a compile
  }
  return wasm;
}

/**
 * The wasm of a built-in SmartModule by any of its names, with or without
 * `@version`; undefined when the name is not a built-in. Compiles on first
 * use (cached in memory and on disk). Throws if compiling fails.
 */
export async function builtinSmartModule(name: string): Promise<Uint8Array | undefined> {
  const builtin = resolveBuiltin(name);
  if (!builtin) return undefined;
  let pending = memory.get(builtin.name);
  if (!pending) {
    pending = loadOrBuild(builtin);
    memory.set(builtin.name, pending);
    pending.catch(() => memory.delete(builtin.name));
  }
  return pending;
}

/**
 * Compiles (or loads from the disk cache) every built-in, one after the
 * other, so that the first consumer naming one does not wait for asc. For a
 * node to call in the background at start; failures are left to the first use.
 */
export async function prepareBuiltins(): Promise<void> {
  for (const b of BUILTINS) await builtinSmartModule(b.name).catch(() => undefined);
}
