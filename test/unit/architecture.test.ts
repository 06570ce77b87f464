// The layer map of ARCHITECTURE.md, checked on every import in src/:
// dependencies point downwards only, and a layer reaches another one through
// its index.ts (its public surface), except the node and the CLI, which
// compose the parts and may reach inside them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** What each layer may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  protocol: [],
  common: [],
  auth: ['common'],
  storage: ['protocol', 'common'],
  smartengine: ['protocol', 'common'],
  client: ['protocol', 'common'],
  server: ['protocol', 'storage', 'smartengine', 'auth', 'common'],
  dataflow: ['client', 'smartengine', 'protocol', 'common'],
  connectors: ['client', 'smartengine', 'protocol', 'auth', 'common'],
  console: ['connectors', 'dataflow', 'client', 'protocol', 'auth', 'common'],
  node: ['console', 'connectors', 'dataflow', 'server', 'client', 'smartengine', 'storage', 'auth', 'common', 'protocol'],
  cli: ['node', 'console', 'connectors', 'dataflow', 'server', 'client', 'smartengine', 'storage', 'auth', 'common', 'protocol'],
};
/** Layers that compose the others and may import their internals. */
const COMPOSERS = new Set(['node', 'cli']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

interface Import {
  from: string;
  fromLayer: string;
  target: string;
  targetLayer: string;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const fromLayer = path.relative(SRC, file).split(path.sep)[0]!;
  const found: Import[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.[^']+)'/g)) {
    const target = path.resolve(path.dirname(file), match[1]!);
    const relative = path.relative(SRC, target);
    if (relative.startsWith('..')) continue;
    found.push({ from: path.relative(SRC, file), fromLayer, target: relative, targetLayer: relative.split(path.sep)[0]! });
  }
  return found;
}

const imports = sourceFiles(SRC).flatMap(importsOf);

test('every folder of src/ is a known layer', () => {
  const layers = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.deepEqual(layers.filter((layer) => !(layer in ALLOWED)), []);
});

test('dependencies point downwards only', () => {
  const wrong = imports
    .filter((i) => i.fromLayer !== i.targetLayer && !ALLOWED[i.fromLayer]!.includes(i.targetLayer))
    .map((i) => `${i.from} imports ${i.target}`);
  assert.deepEqual(wrong, []);
});

test("a layer is reached through its index.ts, except by the node and the CLI", () => {
  const wrong = imports
    .filter((i) => i.fromLayer !== i.targetLayer && !COMPOSERS.has(i.fromLayer))
    .filter((i) => i.target !== path.join(i.targetLayer, 'index.js'))
    .map((i) => `${i.from} imports ${i.target}`);
  assert.deepEqual(wrong, []);
});

test('every layer that other layers import (besides the composers) has an index.ts', () => {
  const imported = new Set(imports.filter((i) => i.fromLayer !== i.targetLayer && !COMPOSERS.has(i.fromLayer)).map((i) => i.targetLayer));
  assert.deepEqual([...imported].filter((layer) => !existsSync(path.join(SRC, layer, 'index.ts'))), []);
});
