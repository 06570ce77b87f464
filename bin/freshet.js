#!/usr/bin/env node
// The CLI is TypeScript and needs no build step. To start fast it runs from a
// bundle of src/cli that esbuild (tsx's compiler) writes to
// node_modules/.cache/freshet/ on the first run after the sources changed:
// the bundle is named by a hash of every file under src/ (and package.json),
// so an edit is picked up by the next run and a stale bundle is never used.
// Each module keeps its own import.meta.url (the source file's), so code
// that finds files next to itself behaves as it does under tsx.
// When no bundle can be built or written (read-only install, no esbuild),
// or with FRESHET_CLI_TSX=1, tsx compiles the sources on load instead.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src', 'cli', 'main.ts');
const cacheDir = path.join(root, 'node_modules', '.cache', 'freshet');

function sourceHash() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const item of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(dir, item.name);
      if (item.isDirectory()) walk(file);
      else if (item.name.endsWith('.ts')) hash.update(`${file}\0`).update(readFileSync(file));
    }
  };
  walk(path.join(root, 'src'));
  hash.update(readFileSync(path.join(root, 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

/** Keeps import.meta.url pointing at each source file inside the bundle. */
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href)),
      loader: 'ts',
    }));
  },
};

/** Removes bundles of other source versions that nobody can still be starting from. */
function pruneOldBundles(keep) {
  for (const name of readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, name);
    if (name !== keep && Date.now() - statSync(dir).mtimeMs > 10 * 60_000) rmSync(dir, { recursive: true, force: true });
  }
}

async function bundle() {
  if (process.env.FRESHET_CLI_TSX === '1') return undefined;
  const dir = path.join(cacheDir, `cli-${sourceHash()}`);
  const main = path.join(dir, 'main.mjs');
  if (existsSync(main)) return main;
  const require = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  const esbuild = require('esbuild');
  const staging = `${dir}.tmp-${process.pid}`;
  await esbuild.build({
    entryPoints: { main: entry },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: [sourceUrls],
  });
  try {
    renameSync(staging, dir);
  } catch {
    // Another process built the same sources at the same time: use its bundle.
    rmSync(staging, { recursive: true, force: true });
  }
  pruneOldBundles(path.basename(dir));
  return main;
}

let main;
try {
  mkdirSync(cacheDir, { recursive: true });
  main = await bundle();
} catch {
  main = undefined;
}
if (main) {
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}
