// Where connector types are registered with the runtime. Each built-in
// connector module exports its ConnectorType; builtins.ts registers them all
// (one line per connector). Tests and embedders may register their own.

import type { ConnectorType } from './connector.js';

const types = new Map<string, ConnectorType<unknown>>();

/** Makes a connector type available under its `meta.type`; a second type with the same name is refused. */
export function registerConnector<Config>(type: ConnectorType<Config>): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(type.type)) throw new Error(`connector type "${type.type}" must be lowercase letters, digits and dashes`);
  if ((type.kind === 'source') !== (type.createSource !== undefined) || (type.kind === 'sink') !== (type.createSink !== undefined)) {
    throw new Error(`connector type "${type.type}" is a ${type.kind}: it must define create${type.kind === 'source' ? 'Source' : 'Sink'} (only)`);
  }
  const existing = types.get(type.type);
  if (existing && existing !== type) throw new Error(`connector type "${type.type}" is already registered`);
  types.set(type.type, type as ConnectorType<unknown>);
}

/** Removes a type (tests). */
export function unregisterConnector(type: string): void {
  types.delete(type);
}

/** The type registered under `meta.type`, if any. */
export function connectorType(type: string): ConnectorType<unknown> | undefined {
  return types.get(type);
}

/** Every registered type, sorted by name. */
export function connectorTypes(): ConnectorType<unknown>[] {
  return [...types.values()].sort((a, b) => a.type.localeCompare(b.type));
}
