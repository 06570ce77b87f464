// Builds the AssemblyScript SmartModules the tests and the bench run (our
// own sources in test/fixtures/smartmodules, and the reference filter in
// ../shared/reference/smartmodule-vectors), with assemblyscript's JS API, at
// test time: no .wasm is committed.
//
// Builds are cached on disk under os.tmpdir()/freshet-asc-cache, keyed by a
// sha256 of the sources (the entry file and every file it imports), the
// compiler flags and the assemblyscript version, and memoized per process.
// A cache hit does not start the compiler at all. The compiler runs in a
// plain node child process (asc-build.mjs), away from tsx's module hooks.
// Starting it costs a few seconds, and each module ~1–2 s. So on a miss for
// one of the known modules, every known module that is missing is built,
// by one child per core. This runs under a lock file, so that parallel test processes do
// not each start the compiler and build the same modules: they wait for the
// lock, then read the cache.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const fixturesDir = path.resolve(here, '../../fixtures/smartmodules');
export const referenceFilterSource = path.resolve(here, '../../../../shared/reference/smartmodule-vectors/assemblyscript-filter.ts');
const cacheDir = path.join(os.tmpdir(), 'freshet-asc-cache');

const ASC_VERSION = (createRequire(import.meta.url)('assemblyscript/package.json') as { version: string }).version;

/**
 * Our AssemblyScript SmartModules (test/fixtures/smartmodules/<name>.ts;
 * see the README there). The twins implement the logic of the Fluvio-built
 * modules that recorded the reference vectors.
 */
export const AS_MODULES = [
  'filter-on-a', // twin of py-filter-on-a
  'filter-param', // twin of py-filter-param (fluvio examples/filter_with_param)
  'filter-template', // twin of fluvio-smdk-filter-template (2022 SDK input decoding)
  'map-upper', // twin of py-map
  'map-upper-leaky', // map-upper leaking every output, as Rust SDK modules do
  'filter-map', // twin of py-filter-map
  'array-map', // twin of py-array-map
  'aggregate-concat', // twin of py-aggregate
  'wasi-filter', // filter-on-a with WASI imports (fd_write, environ_sizes_get, proc_exit)
  'lookback-filter', // look_back + filter
] as const;
export type AsModuleName = (typeof AS_MODULES)[number] | 'assemblyscript-filter';

function entryOf(name: AsModuleName): string {
  return name === 'assemblyscript-filter' ? referenceFilterSource : path.join(fixturesDir, `${name}.ts`);
}

/** Builds (or takes from the cache) one of our modules, or the reference 'assemblyscript-filter'. */
export function asModule(name: AsModuleName): Promise<Buffer<ArrayBuffer>> {
  return buildAssemblyScript(entryOf(name));
}

/** Builds several. */
export async function asModules<N extends AsModuleName>(names: readonly N[]): Promise<Record<N, Buffer<ArrayBuffer>>> {
  const out = {} as Record<N, Buffer<ArrayBuffer>>;
  for (const name of names) out[name] = await asModule(name);
  return out;
}

interface Plan {
  entry: string;
  /** Sources by path relative to the entry's directory ('/'-separated). */
  files: Map<string, string>;
  flags: string[];
  cachePath: string;
}

/** The entry file and every file it imports (relative imports only), with their contents. */
function sources(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    const text = readFileSync(file, 'utf8');
    files.set(file, text);
    for (const m of text.matchAll(/\bfrom\s+["'](\.{1,2}\/[^"']+)["']/g)) {
      visit(path.resolve(path.dirname(file), m[1].endsWith('.ts') ? m[1] : `${m[1]}.ts`));
    }
  };
  visit(entry);
  return files;
}

function plan(entry: string): Plan {
  const baseDir = path.dirname(entry);
  const rel = (file: string): string => path.relative(baseDir, file).split(path.sep).join('/');
  const files = new Map([...sources(entry)].map(([file, text]) => [rel(file), text]));
  // Fluvio supplies no env.abort: aborts go to an onAbort that traps (the entry's own, else a library's).
  const abortFile = [...files].find(([, text]) => /\bfunction onAbort\s*\(/.test(text))?.[0];
  if (abortFile === undefined) throw new Error(`${entry}: no onAbort function in it or its imports`);
  const flags = ['--runtime', 'incremental', '--use', `abort=${abortFile.replace(/\.ts$/, '')}/onAbort`, '-O3', '--noAssert'];
  const key = createHash('sha256')
    .update(JSON.stringify({ asc: ASC_VERSION, flags, files: [...files] }))
    .digest('hex');
  return { entry, files, flags, cachePath: path.join(cacheDir, `${path.basename(entry, '.ts')}-${key.slice(0, 24)}.wasm`) };
}

function readCached(p: Plan): Buffer<ArrayBuffer> | null {
  if (!existsSync(p.cachePath)) return null;
  const bytes = readFileSync(p.cachePath);
  return WebAssembly.validate(bytes) ? bytes : null;
}

const memo = new Map<string, Promise<Buffer<ArrayBuffer>>>();

/**
 * Compiles an AssemblyScript SmartModule with the flags of
 * smartmodule-vectors/README.md (--runtime incremental, abort redirected to
 * an onAbort that traps, -O3 --noAssert); cached as described above.
 */
export function buildAssemblyScript(entry: string): Promise<Buffer<ArrayBuffer>> {
  const p = plan(entry);
  let pending = memo.get(p.cachePath);
  if (pending === undefined) {
    pending = (async () => {
      const hit = readCached(p);
      if (hit) return hit;
      const known = [...AS_MODULES, 'assemblyscript-filter' as const].map(entryOf);
      const batch = known.includes(entry) ? [p, ...known.filter((e) => e !== entry).map(plan)] : [p];
      return withBuildLock(p, () => buildMissing(batch));
    })();
    memo.set(p.cachePath, pending);
  }
  return pending;
}

/** Builds every plan whose binary is not cached yet (in a plain node process: asc-build.mjs); returns the first one's. */
async function buildMissing(plans: Plan[]): Promise<Buffer<ArrayBuffer>> {
  const missing = plans.filter((p) => readCached(p) === null);
  // One compiler per core (the other test processes wait for the lock meanwhile).
  const workers = Math.min(missing.length, Math.max(1, os.availableParallelism()));
  const shares = Array.from({ length: workers }, (_, w) => missing.filter((_p, i) => i % workers === w));
  await Promise.all(shares.map((share) => runCompiler(share)));
  const first = readCached(plans[0]);
  if (first === null) throw new Error(`asc ${plans[0].entry}: the built module is not in the cache`);
  return first;
}

function runCompiler(plans: Plan[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'asc-build.mjs')], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' }, // no tsx hooks in there
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`asc build failed (${signal ?? code}): ${stderr}`))));
    child.stdin.end(JSON.stringify(plans.map((p) => ({ ...p, files: Object.fromEntries(p.files) }))));
  });
}

/**
 * Runs `build` holding the cache's lock file (one build at a time on the
 * machine), unless `want` shows up in the cache while waiting. A lock whose
 * process is gone, or older than 15 minutes, is taken over.
 */
async function withBuildLock(want: Plan, build: () => Promise<Buffer<ArrayBuffer>>): Promise<Buffer<ArrayBuffer>> {
  mkdirSync(cacheDir, { recursive: true });
  const lock = path.join(cacheDir, 'build.lock');
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const hit = readCached(want);
    if (hit) return hit;
    if (lockIsStale(lock)) {
      try {
        unlinkSync(lock);
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    return await build();
  } finally {
    unlinkSync(lock);
  }
}

function lockIsStale(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) return true;
    const pid = Number(readFileSync(lock, 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written
    process.kill(pid, 0);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ESRCH'; // no such process; ENOENT: released meanwhile, EPERM: alive
  }
}
