// The built-in SmartModules: what Fluvio users reach for most on the Hub,
// written in AssemblyScript with the Freshet SDK (sdk/builtins/*.ts) and
// available on every node without registration, under the names Fluvio
// users write (`infinyon/jolt`, `infinyon/jolt@0.4.1`, ...).
//
// A built-in is compiled ahead of time: `npm run build` and the `prepare`
// script that `npm install` / `npm ci` run write them to
// sdk/builtins/build/<hash>/ (not committed), the hash covering the SDK and
// built-in sources, the compiler version and the build settings; so a node
// finds them ready at first use. Without that (a stale or read-only
// installation) a built-in is compiled on first use (asc, 10–30 s) and
// cached there, or under os.tmpdir()/freshet-builtins-<hash> when the
// package directory is not writable.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ascVersion, compileEntry, sdkSourcesHash, type AscBuildOptions } from './sdk/asc.js';
import { entrySource, sourceExports, type SdkKind } from './sdk/entry.js';

/** sdk/builtins in this installation. */
export const BUILTINS_DIR = fileURLToPath(new URL('../../sdk/builtins/', import.meta.url));
/** Where the built-ins are built ahead of time: one directory per source hash. */
export const PREBUILT_DIR = path.join(BUILTINS_DIR, 'build');

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
  {
    name: 'fluvio/dedup-bloom-filter',
    version: '0.1.0',
    kind: 'filter',
    file: 'dedup-filter.ts',
    aliases: ['infinyon/dedup-bloom-filter', 'fluvio/dedup-filter'],
    params: [
      { name: 'count', required: true, description: 'records in the window (the topic\'s deduplication count bound)' },
      { name: 'age', required: false, description: 'window age in ms (the topic\'s deduplication age bound)' },
    ],
    description: 'drops records whose key was seen among the last count records or within age (topic deduplication)',
  },
];

/** Canonical names of the built-ins. */
export const BUILTIN_NAMES: readonly string[] = BUILTINS.map((b) => b.name);

/** Build settings of the built-ins (part of the cache key). */
// The minimal runtime collects garbage once per call, at its start (abi.ts
// begin), instead of the incremental collector's barriers on every store:
// 30–50 % less time per record; a call's garbage stays until the next call.
const BUILD_OPTIONS: AscBuildOptions = { optimizeLevel: 2, shrinkLevel: 0, runtime: 'minimal' };
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

let keyPromise: Promise<string> | undefined;
const memory = new Map<string, Promise<Uint8Array>>();

/** Hash of what the binaries depend on: sources, compiler version, build settings. */
function builtinsKey(): Promise<string> {
  keyPromise ??= (async () => {
    const hash = createHash('sha256');
    hash.update(`epoch ${BUILD_EPOCH}\0asc ${ascVersion()}\0${JSON.stringify(BUILD_OPTIONS)}\0sdk ${sdkSourcesHash()}\0`);
    hash.update(readFileSync(fileURLToPath(new URL('./sdk/entry.ts', import.meta.url))));
    for (const b of BUILTINS) hash.update(b.file).update('\0').update(await readFile(path.join(BUILTINS_DIR, b.file)));
    return hash.digest('hex').slice(0, 16);
  })();
  return keyPromise;
}

/** sdk/builtins/build/<hash>: where the built-ins of these sources are built ahead. */
export async function builtinsCacheDir(): Promise<string> {
  return path.join(PREBUILT_DIR, await builtinsKey());
}

/** os.tmpdir()/freshet-builtins-<hash>: the cache of a read-only installation. */
async function fallbackCacheDir(): Promise<string> {
  return path.join(os.tmpdir(), `freshet-builtins-${await builtinsKey()}`);
}

async function readValid(file: string): Promise<Uint8Array | undefined> {
  try {
    const cached = new Uint8Array(await readFile(file));
    // a truncated or damaged file (a crash mid-write elsewhere) is rebuilt
    return WebAssembly.validate(cached) ? cached : undefined;
  } catch {
    return undefined; // not built yet
  }
}

async function writeAtomically(dir: string, file: string, wasm: Uint8Array): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true });
    const target = path.join(dir, file);
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, wasm);
    await rename(tmp, target);
    return true;
  } catch {
    return false;
  }
}

function wasmFile(builtin: BuiltinSmartModule): string {
  return `${builtin.file.replace(/\.ts$/, '')}.wasm`;
}

async function loadOrBuild(builtin: BuiltinSmartModule): Promise<Uint8Array> {
  const file = wasmFile(builtin);
  const dirs = [await builtinsCacheDir(), await fallbackCacheDir()];
  for (const dir of dirs) {
    const cached = await readValid(path.join(dir, file));
    if (cached) return cached;
  }
  const source = path.join(BUILTINS_DIR, builtin.file);
  const text = await readFile(source, 'utf8');
  const exports = sourceExports(text, source, builtin.kind);
  const { wasm } = await compileEntry({ baseDir: BUILTINS_DIR, entrySource: entrySource(BUILTINS_DIR, source, exports), options: BUILD_OPTIONS });
  // a read-only or full disk only costs the next process a compile
  for (const dir of dirs) if (await writeAtomically(dir, file, wasm)) break;
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
 * other, so that the first consumer naming one does not wait for asc.
 * Failures are left to the first use.
 */
export async function prepareBuiltins(): Promise<void> {
  for (const b of BUILTINS) await builtinSmartModule(b.name).catch(() => undefined);
}

/**
 * Builds every built-in into sdk/builtins/build/<hash> (what `npm run build`
 * and `npm install` run) and removes the builds of older sources. Throws
 * when one does not compile.
 */
export async function buildBuiltins(): Promise<{ dir: string; files: string[] }> {
  const dir = await builtinsCacheDir();
  const files: string[] = [];
  for (const b of BUILTINS) {
    const wasm = (await builtinSmartModule(b.name)) as Uint8Array;
    const file = wasmFile(b);
    // found in the fallback cache: copied here, where installations look first
    if (!(await readValid(path.join(dir, file))) && !(await writeAtomically(dir, file, wasm))) {
      throw new Error(`cannot write the built-in ${b.name} to ${dir}`);
    }
    files.push(file);
  }
  for (const entry of await readdir(PREBUILT_DIR)) {
    if (entry !== path.basename(dir)) await rm(path.join(PREBUILT_DIR, entry), { recursive: true, force: true });
  }
  return { dir, files };
}
