// Which code a SmartModule name runs, the same everywhere (the SPU's chains,
// dataflow operators, connector transforms, `freshet sm test`): a module
// registered under that name first, else the Freshet built-in of that name.
// Registered ones win so that a user can replace a built-in by registering
// the real Hub module under its name; the same name never runs different
// code in two places.
//
// Where "registered" is looked up is the caller's: the node's registry on
// the node, the cluster through the client elsewhere.

import { builtinSmartModule, resolveBuiltin } from './builtins.js';

/** The module registered under a name (exact, or `group/name` without version as the registry resolves it), if any. */
export type RegisteredLookup = (name: string) => Promise<Uint8Array | undefined>;

export interface ResolvedSmartModule {
  wasm: Uint8Array;
  source: 'registered' | 'builtin';
  /** The name it runs under: as asked for a registered module, the canonical name of a built-in (`infinyon/jolt`). */
  name: string;
}

/** The module a name runs: registered first, then built-in; undefined when it is neither. */
export async function resolveSmartModule(name: string, registered: RegisteredLookup): Promise<ResolvedSmartModule | undefined> {
  const found = await registered(name);
  if (found) return { wasm: found, source: 'registered', name };
  const builtin = resolveBuiltin(name);
  const wasm = builtin ? await builtinSmartModule(name) : undefined;
  return builtin && wasm ? { wasm, source: 'builtin', name: builtin.name } : undefined;
}

/** resolveSmartModule as a plain name → bytes lookup (what the SPU's SmartModule service takes). */
export function smartModuleLookup(registered: RegisteredLookup): (name: string) => Promise<Uint8Array | undefined> {
  return async (name) => (await resolveSmartModule(name, registered))?.wasm;
}
