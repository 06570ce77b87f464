// The compiler side of asc.ts, run in a plain `node` child process: loading
// assemblyscript through tsx's module hooks costs ~30 s of CPU, against ~1.5 s
// without them. Reads the build plans (JSON) on stdin, compiles each one with
// assemblyscript's JS API and writes the binary to its cache path (atomically).

import { Buffer } from 'node:buffer';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import asc from 'assemblyscript/asc';

/** @type {{ entry: string; files: Record<string, string>; flags: string[]; cachePath: string }[]} */
const plans = JSON.parse(readFileSync(0, 'utf8'));

for (const p of plans) {
  const unexpected = [];
  /** @type {Uint8Array | null} */
  let binary = null;
  let stderr = '';
  const result = await asc.main([path.basename(p.entry), ...p.flags, '--outFile', 'module.wasm'], {
    readFile: (name) => {
      const text = p.files[name.split(path.sep).join('/')];
      if (text !== undefined) return text;
      // asc probes asconfig.json and alternative import paths; anything it does find must be in the cache key.
      if (!name.endsWith('asconfig.json') && existsSync(path.resolve(path.dirname(p.entry), name))) unexpected.push(name);
      return null;
    },
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = typeof contents === 'string' ? Buffer.from(contents) : contents;
    },
    listFiles: () => [],
    stdout: { write: () => true, toString: () => '' },
    stderr: {
      write: (chunk) => {
        stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
        return true;
      },
      toString: () => stderr,
    },
  });
  if (result.error !== null) fail(`asc ${p.entry}: ${result.error.message}\n${stderr}`);
  if (unexpected.length > 0) fail(`asc ${p.entry}: imports files the cache key misses: ${unexpected.join(', ')}`);
  if (binary === null) fail(`asc ${p.entry}: no binary emitted\n${stderr}`);
  const tmp = `${p.cachePath}.${process.pid}.tmp`;
  writeFileSync(tmp, binary);
  renameSync(tmp, p.cachePath); // atomic: readers see the whole file or none
}

/** @param {string} message */
function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
