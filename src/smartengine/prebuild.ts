// `npm run build:builtins` (also run by `npm run build` and by the `prepare`
// script of `npm install` / `npm ci`): compiles the built-in SmartModules
// into sdk/builtins/build/<source hash>, so that no stream waits for the
// AssemblyScript compiler when it first names one.

import { buildBuiltins } from './builtins.js';
import { stopCompiler } from './sdk/asc.js';

const started = performance.now();
try {
  const { dir, files } = await buildBuiltins();
  process.stdout.write(`built-in SmartModules ready in ${dir} (${files.join(', ')}) after ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
} finally {
  await stopCompiler();
}
