// Building SDK modules from inline sources for the tests, with a disk cache
// (os.tmpdir()/freshet-sdk-test-cache, keyed by the source, the SDK sources,
// the entry generator, the options and the assemblyscript version) so that
// only the first run pays for asc; and replaying reference vectors.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ascVersion, compileEntry, entrySource, sdkSourcesHash, sourceExports, type AscBuildOptions, type SdkKind } from '../../../src/smartengine/sdk/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const vectorsDir = path.resolve(here, '../../../../shared/reference/smartmodule-vectors');
const entryGenerator = readFileSync(path.resolve(here, '../../../src/smartengine/sdk/entry.ts'), 'utf8');

const TEST_OPTIONS: AscBuildOptions = { optimizeLevel: 1, shrinkLevel: 0 };
const memo = new Map<string, Promise<Buffer>>();

/** Compiles an SDK module from its source text (cached in memory and on disk). */
export function buildSdkModule(source: string, kind?: SdkKind, options: AscBuildOptions = TEST_OPTIONS): Promise<Buffer> {
  const key = createHash('sha256')
    .update(`${ascVersion()}\0${sdkSourcesHash()}\0${JSON.stringify(options)}\0${kind ?? ''}\0`)
    .update(entryGenerator)
    .update(source)
    .digest('hex')
    .slice(0, 24);
  let pending = memo.get(key);
  if (!pending) {
    pending = (async () => {
      const cacheDir = path.join(os.tmpdir(), 'freshet-sdk-test-cache');
      const cached = path.join(cacheDir, `${key}.wasm`);
      if (existsSync(cached)) return readFileSync(cached);
      const dir = path.join(cacheDir, key);
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'module.ts');
      writeFileSync(file, source);
      const { wasm } = await compileEntry({ baseDir: dir, entrySource: entrySource(dir, file, sourceExports(source, 'module.ts', kind)), options });
      const tmp = `${cached}.${process.pid}.tmp`;
      writeFileSync(tmp, wasm);
      renameSync(tmp, cached);
      return Buffer.from(wasm);
    })();
    memo.set(key, pending);
  }
  return pending;
}

export interface Vector {
  name: string;
  fn: string;
  version: number;
  input_hex: string;
  rc: number;
  output_hex: string;
}

export function loadVectors(file: string): Vector[] {
  return (JSON.parse(readFileSync(path.join(vectorsDir, file), 'utf8')) as { vectors: Vector[] }).vectors;
}

/** Groups of consecutive calls on one instance: `x/init` + `x`, `x#0`, `x#1`, ... */
export function vectorGroups(vectors: Vector[]): Vector[][] {
  const groups = new Map<string, Vector[]>();
  for (const v of vectors) {
    const base = v.name.replace(/\/init$/, '').replace(/#\d+$/, '');
    const list = groups.get(base) ?? [];
    list.push(v);
    groups.set(base, list);
  }
  return [...groups.values()];
}

/** Runs the calls of a group on one fresh instance, as the engine would; returns [rc, output hex] per call. */
export async function replayGroup(wasm: Buffer, group: Vector[]): Promise<{ rc: number; output: string }[]> {
  const state: { last: [number, number] | null } = { last: null };
  const module = await WebAssembly.compile(new Uint8Array(wasm));
  const instance = await WebAssembly.instantiate(module, {
    env: {
      copy_records(ptr: number, len: number) {
        state.last = [ptr, len];
      },
    },
  });
  const exports = instance.exports as Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };
  const out: { rc: number; output: string }[] = [];
  for (const v of group) {
    state.last = null;
    const input = Buffer.from(v.input_hex, 'hex');
    const ptr = exports.alloc(input.length);
    new Uint8Array(exports.memory.buffer).set(input, ptr);
    const rc = exports[v.fn](ptr, input.length, v.version);
    const copied = state.last;
    const output = copied ? Buffer.from(new Uint8Array(exports.memory.buffer, copied[0], copied[1])).toString('hex') : '';
    out.push({ rc, output });
  }
  return out;
}
