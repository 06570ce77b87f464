// The directory of the freshet package: found by walking up from this module,
// so it is right whether the CLI runs from src/ (tsx) or from the bundle
// bin/freshet.js builds under node_modules/.cache/.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): { root: string; version: string } {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'freshet') return { root: dir, version: pkg.version ?? '0.0.0' };
    } catch {
      // no package.json here
    }
    if (path.dirname(dir) === dir) throw new Error('cannot find the freshet package.json above the CLI');
  }
}

const found = findRoot();
export const PACKAGE_ROOT = found.root;
export const CLI_VERSION = found.version;
