// SmartModules as dataflow operators (`uses: <name>` in YAML,
// `smartmodule(...)` in the TypeScript API). The dataflow runs them itself,
// in process, on the SmartModule engine — one record at a time, so a
// checkpoint always falls between two input records — rather than on the
// SPU: a transform on the SPU would run before our offsets are counted, and
// an aggregate there would keep state outside our checkpoints.
//
// The module gets the value as bytes (a string as UTF-8, anything else as
// JSON) and the key; what it outputs is decoded again (JSON when it parses,
// else the text) and goes on with the key the module set. A module error
// fails that record (counted, skipped), as any operator error does.
//
// A name resolves as everywhere else (smartengine/resolver.ts): a module
// registered on the node first, else a built-in; a `.wasm` path is a file.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SmartEngine, type SmartChain } from '../smartengine/index.js';
import { resolveSmartModule, type RegisteredLookup } from '../smartengine/index.js';
import { OperatorError, type SmartModuleOutput } from './engine.js';
import type { DataflowSpec, Operator } from './spec.js';

function encode(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value) ?? 'null', 'utf8');
}

function decode(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Binds every SmartModule operator of the dataflow; returns what releases them. */
export async function bindSmartModules(
  spec: DataflowSpec,
  options: { loadRegistered: RegisteredLookup; baseDir?: string; engine?: SmartEngine },
): Promise<() => void> {
  const ops: Operator[] = [];
  for (const service of spec.services) {
    for (const op of [...service.sources.flatMap((s) => s.transforms), ...service.transforms]) if (op.smartmodule) ops.push(op);
  }
  if (ops.length === 0) return () => {};
  const engine = options.engine ?? new SmartEngine({ wasiOutput: 'discard' });
  const chains: SmartChain[] = [];
  try {
    for (const op of ops) {
      const ref = op.smartmodule!;
      let wasm: Uint8Array | undefined;
      if (ref.uses.endsWith('.wasm')) {
        wasm = await readFile(path.resolve(options.baseDir ?? process.cwd(), ref.uses));
      } else {
        wasm = (await resolveSmartModule(ref.uses, options.loadRegistered))?.wasm;
        if (!wasm) throw new OperatorError(`${op.label}: no SmartModule "${ref.uses}" is registered on the node (freshet smartmodule list), nor is it a built-in`);
      }
      const chain = await engine.buildChain([{ wasm, name: ref.uses, params: ref.params ?? {} }]);
      if (chain.modules()[0].transform === 'aggregate') {
        chain.close();
        throw new OperatorError(`${op.label}: "${ref.uses}" is an aggregate SmartModule; use the window's aggregates instead (its state would escape checkpoints)`);
      }
      chains.push(chain);
      op.fn = (value, meta): SmartModuleOutput[] => {
        const out = chain.process(
          [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: meta.key === null ? null : Buffer.from(meta.key, 'utf8'), value: encode(value), headers: 0 }],
          { baseOffset: meta.offset, baseTimestamp: meta.timestamp },
        );
        if (out.error) throw new OperatorError(`${op.label}: SmartModule ${ref.uses} failed: ${out.error.message}`);
        return out.records.map((r) => ({ key: r.key === null ? null : r.key.toString('utf8'), value: decode(r.value) }));
      };
    }
  } catch (err) {
    for (const chain of chains) chain.close();
    throw err;
  }
  return () => {
    for (const chain of chains) chain.close();
    if (!options.engine) engine.close();
  };
}
