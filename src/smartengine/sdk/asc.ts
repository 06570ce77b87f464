// Compiling AssemblyScript SmartModules with the AssemblyScript compiler's
// JS API (`assemblyscript/asc`), in memory: the entry is a generated source
// that never touches the disk, `@freshet/smartmodule` resolves to this
// repository's SDK (sdk/smartmodule/assembly), and the .wasm comes back as
// bytes. The compiler is loaded on first use (about half a second).

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The SDK's package name, as user sources import it. */
export const SDK_PACKAGE = '@freshet/smartmodule';

/** sdk/smartmodule in this installation. */
export const SDK_DIR = fileURLToPath(new URL('../../../sdk/smartmodule/', import.meta.url));
/** sdk/smartmodule/assembly: the AssemblyScript sources of the SDK. */
export const SDK_ASSEMBLY_DIR = path.join(SDK_DIR, 'assembly');

/** Name of the generated entry (in the base directory, never written). */
export const ENTRY_FILE = '__freshet_entry__.ts';
/** The function the generated entry defines for `abort` (a trap: Fluvio offers no env.abort). */
export const ABORT_FUNCTION = '__freshet_abort';

export interface AscBuildOptions {
  /** 0–3, default 2 (3 compiles about twice as long for little gain here). */
  optimizeLevel?: number;
  /** 0–2, default 0. */
  shrinkLevel?: number;
  /** Drop assert() checks (default false). */
  noAssert?: boolean;
  /** Keep debug names (default false). */
  debug?: boolean;
  /** AssemblyScript runtime: incremental (default), minimal or stub. */
  runtime?: 'incremental' | 'minimal' | 'stub';
}

export interface AscCompileInput {
  /** Directory the entry sits in: relative imports in the entry resolve from here. */
  baseDir: string;
  /** Source of the entry file. */
  entrySource: string;
  options?: AscBuildOptions;
}

export interface AscCompileResult {
  wasm: Uint8Array;
  /** Warnings the compiler printed (may be empty). */
  warnings: string;
  /** Milliseconds spent in the compiler. */
  compileMs: number;
}

/** The compiler refused the sources; `diagnostics` is its report (file, line, message). */
export class AscCompileError extends Error {
  override name = 'AscCompileError';
  constructor(
    message: string,
    readonly diagnostics: string,
  ) {
    super(diagnostics ? `${message}\n${diagnostics}` : message);
  }
}

// The compiler runs in a worker thread started without the parent's
// execArgv: under tsx (the CLI, the tests) importing asc and binaryen in the
// main thread would first push ~10 MB of JavaScript through tsx's transform
// (tens of seconds); a plain worker loads them in about a second, and stays
// (unref'd) for the next compile.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
let asc;
parentPort.on('message', async (job) => {
  try {
    asc ??= await import(job.ascUrl);
    const outputs = new Map();
    const stderr = asc.createMemoryStream();
    const stdout = asc.createMemoryStream();
    const sdkImport = /[\\/]node_modules[\\/]@freshet[\\/]smartmodule[\\/](.*)$/;
    const started = performance.now();
    const { error } = await asc.main(job.args, {
      stdout,
      stderr,
      readFile(filename, dir) {
        const full = path.resolve(dir, filename);
        if (full === job.entryPath) return job.entrySource;
        if (path.basename(full) === 'asconfig.json') return null;
        const sdk = sdkImport.exec(full);
        const file = sdk ? path.join(job.sdkDir, sdk[1]) : full;
        try { return fs.readFileSync(file, 'utf8'); } catch { return null; }
      },
      writeFile(filename, contents) {
        outputs.set(path.basename(filename), typeof contents === 'string' ? Buffer.from(contents) : contents);
      },
      listFiles() { return []; },
    });
    const wasm = outputs.get('module.wasm');
    parentPort.postMessage({ id: job.id, error: error ? error.message : null, stderr: stderr.toString(), wasm: wasm ? new Uint8Array(wasm) : null, ms: performance.now() - started });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String(err && err.stack || err), stderr: '', wasm: null, ms: 0 });
  }
});
`;

interface WorkerReply {
  id: number;
  error: string | null;
  stderr: string;
  wasm: Uint8Array | null;
  ms: number;
}

let worker: Worker | undefined;
let nextJob = 1;
const pending = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (err: Error) => void }>();

function compilerWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  w.unref();
  w.on('message', (reply: WorkerReply) => {
    const job = pending.get(reply.id);
    if (!job) return;
    pending.delete(reply.id);
    if (pending.size === 0) w.unref();
    job.resolve(reply);
  });
  const fail = (err: Error) => {
    if (worker === w) worker = undefined;
    for (const job of pending.values()) job.reject(err);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the AssemblyScript compiler worker exited (code ${code})`)));
  worker = w;
  return w;
}

function runInWorker(job: { args: string[]; entryPath: string; entrySource: string }): Promise<WorkerReply> {
  const w = compilerWorker();
  const id = nextJob++;
  const ascUrl = import.meta.resolve('assemblyscript/asc');
  return new Promise<WorkerReply>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, ascUrl, sdkDir: SDK_ASSEMBLY_DIR, ...job });
  });
}

/** How many compilations this process has started. */
export function compilationsStarted(): number {
  return nextJob - 1;
}

/** Stops the compiler worker (it is started again when needed). */
export async function stopCompiler(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await w.terminate();
}

/** The AssemblyScript compiler's version (from its package.json). */
export function ascVersion(): string {
  const pkg = fileURLToPath(new URL('../../../node_modules/assemblyscript/package.json', import.meta.url));
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** sha256 over the SDK's AssemblyScript sources (for caches keyed by what a build depends on). */
export function sdkSourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(SDK_ASSEMBLY_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    hash.update(file).update('\0').update(readFileSync(path.join(SDK_ASSEMBLY_DIR, file))).update('\0');
  }
  return hash.digest('hex');
}


/** asc's stderr text without colours. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').trim();
}

/**
 * Compiles an entry source to wasm with the settings every SmartModule
 * needs: runtime incremental (freed output buffers, a GC for managed
 * objects), `abort` redirected to a trap in the entry (no env.abort
 * import), memory exported as "memory".
 */
export async function compileEntry(input: AscCompileInput): Promise<AscCompileResult> {
  const opts = input.options ?? {};
  const baseDir = path.resolve(input.baseDir);
  const entryPath = path.join(baseDir, ENTRY_FILE);
  const args = [
    ENTRY_FILE,
    '--outFile',
    'module.wasm',
    '--runtime',
    opts.runtime ?? 'incremental',
    '--use',
    `abort=${ENTRY_FILE.replace(/\.ts$/, '')}/${ABORT_FUNCTION}`,
    '--optimizeLevel',
    String(opts.optimizeLevel ?? 2),
    '--shrinkLevel',
    String(opts.shrinkLevel ?? 0),
    // SIMD (the SDK's byte scans use it): on by default in Fluvio's wasmtime too
    '--enable',
    'simd',
    '--noColors',
    '--baseDir',
    baseDir,
  ];
  if (opts.noAssert) args.push('--noAssert');
  if (opts.debug) args.push('--debug');
  const reply = await runInWorker({ args, entryPath, entrySource: input.entrySource });
  const report = plain(reply.stderr);
  if (reply.error) throw new AscCompileError(`AssemblyScript compilation failed: ${reply.error}`, report);
  if (!reply.wasm) throw new AscCompileError('AssemblyScript compilation produced no module', report);
  return { wasm: new Uint8Array(reply.wasm), warnings: report, compileMs: reply.ms };
}
