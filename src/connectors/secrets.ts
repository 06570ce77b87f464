// Connector secrets, as Fluvio's connectors take them: declared by name in
// `meta.secrets`, their values supplied at run time by a secrets file
// (`NAME=value` lines; the first `=` splits; name and value trimmed; `#`
// comments and blank lines skipped) or, without one, by the environment.
// Never from the YAML itself.
//
// Two ways to use one:
// - `${{ secrets.NAME }}` anywhere in the file (the text is rendered before
//   it is parsed; only declared names are defined; an undefined one is an
//   error naming its line); `${# ... #}` comments are removed;
// - a typed reference `{ secret: { name: NAME } }` in place of a string
//   value of the connector's section (Fluvio's SecretString fields).

import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

export interface SecretStore {
  /** The value, or undefined when the store has no such secret. */
  get(name: string): string | undefined;
  /** Where values come from, for messages ("secrets file s.env", "the environment"). */
  readonly description: string;
}

/** Parses `NAME=value` lines. */
export function parseSecretsText(text: string, source = 'secrets file'): Map<string, string> {
  const values = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source} line ${index + 1}: expected NAME=value`);
    const name = trimmed.slice(0, eq).trim();
    let value = trimmed.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    checkSecretName(name, `${source} line ${index + 1}`);
    values.set(name, value);
  });
  return values;
}

/** Re-reads the file on each lookup, as Fluvio's file store does (a rotated secret is picked up on restart). */
export function fileSecretStore(file: string): SecretStore {
  return {
    description: `secrets file ${file}`,
    get(name) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError(`cannot read the secrets file ${file}: ${(err as Error).message}`);
      }
      return parseSecretsText(text, file).get(name);
    },
  };
}

export function envSecretStore(env: NodeJS.ProcessEnv = process.env): SecretStore {
  return { description: 'the environment', get: (name) => env[name] };
}

export function mapSecretStore(values: Record<string, string> | Map<string, string>, description = 'given secrets'): SecretStore {
  const map = values instanceof Map ? values : new Map(Object.entries(values));
  return { description, get: (name) => map.get(name) };
}

/** Fluvio's rule: ASCII letters, digits and underscores, not starting with a digit. */
export function checkSecretName(name: string, where: string): void {
  if (name === '') throw new ConfigError(`${where}: a secret name must not be empty`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigError(
      /^[0-9]/.test(name)
        ? `${where}: secret name \`${name}\` must not start with a digit`
        : `${where}: secret name \`${name}\` can only contain alphanumeric ASCII characters and underscores`,
    );
  }
}

function lookup(store: SecretStore, name: string, where: string): string {
  const value = store.get(name);
  if (value === undefined) {
    throw new ConfigError(`${where}: secret ${name} has no value in ${store.description}`, `set it (NAME=value) in the secrets file given with --secrets, or in the environment`);
  }
  return value;
}

const TEMPLATE = /\$\{\{([\s\S]*?)\}\}|\$\{#[\s\S]*?#\}|\$\{%([\s\S]*?)%\}/g;

/**
 * Renders `${{ secrets.NAME }}` over the raw text. `declared` are the names
 * listed in meta.secrets (others are undefined, as in Fluvio).
 */
export function renderSecrets(text: string, declared: ReadonlySet<string>, store: SecretStore): string {
  return text.replace(TEMPLATE, (match: string, expression: string | undefined, block: string | undefined, offset: number) => {
    const line = text.slice(0, offset).split('\n').length;
    const lineText = text.split('\n')[line - 1].trim();
    if (block !== undefined) throw new ConfigError(`line ${line}: template blocks (\${% ... %}) are not supported: \`${lineText}\``);
    if (expression === undefined) return ''; // a ${# comment #}
    const ref = /^\s*secrets\.([A-Za-z0-9_]+)\s*$/.exec(expression);
    if (!ref) {
      throw new ConfigError(`line ${line}: undefined value \`${expression.trim()}\` in \`${lineText}\``, 'only ${{ secrets.NAME }} is defined in a connector config');
    }
    const name = ref[1];
    if (!declared.has(name)) {
      throw new ConfigError(`line ${line}: undefined value secrets.${name} in \`${lineText}\``, `declare it in meta.secrets: \`- name: ${name}\``);
    }
    return lookup(store, name, `line ${line}`);
  });
}

/** Whether the text uses any secret template (for messages). */
export function hasSecretTemplates(text: string): boolean {
  return /\$\{\{/.test(text);
}

function isSecretRef(value: unknown): value is { secret: { name: string } } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'secret') return false;
  const inner = (value as { secret: unknown }).secret;
  return typeof inner === 'object' && inner !== null && !Array.isArray(inner) && typeof (inner as { name?: unknown }).name === 'string';
}

/** Replaces every `{ secret: { name } }` in a section by the secret's value (a fresh copy; the input is not changed). */
export function resolveSecretRefs(value: unknown, store: SecretStore, path: string): unknown {
  if (isSecretRef(value)) {
    const name = value.secret.name;
    checkSecretName(name, `${path}.secret.name`);
    return lookup(store, name, path);
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveSecretRefs(item, store, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveSecretRefs(item, store, `${path}.${key}`)]));
  }
  return value;
}
