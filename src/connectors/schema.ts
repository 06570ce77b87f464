// Validation helpers shared by the runtime and every connector's `parse`:
// zod schemas for the value types Fluvio's configs use (humantime
// durations, byte sizes, `Name: value` headers), and `parseSection`, which
// turns zod's issues into one ConfigError naming each key path and what was
// expected.
//
// Unknown keys: Fluvio ignores them (so a misspelled key silently does
// nothing). Freshet keeps configs that Fluvio accepts running, but says so:
// schemas are strict, and a key no schema knows becomes a warning ("... is
// not a known key; did you mean ...?") that the runtime logs and the CLI
// prints, instead of an error.

import { z } from 'zod';
import { ConfigError } from './errors.js';
import { BYTE_SIZE_EXPECTED, DURATION_EXPECTED, parseByteSize, parseHumantime } from './units.js';

/** A humantime string (`500ms`, `10s`, `1h 30m`) → milliseconds. */
export const duration = () =>
  z.string({ error: `expected ${DURATION_EXPECTED}` }).transform((text, ctx) => {
    const ms = parseHumantime(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${DURATION_EXPECTED}, got "${text}"` });
      return z.NEVER;
    }
    return ms;
  });

/** A byte size (`16384`, `"64 KB"`, `1 MiB`) → bytes. */
export const byteSize = () =>
  z.union([z.string(), z.number()], { error: `expected ${BYTE_SIZE_EXPECTED}` }).transform((value, ctx) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${BYTE_SIZE_EXPECTED}, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return bytes;
  });

/** `{secs, nanos}` (a serde Duration, as in flush-period and mqtt timeout) → milliseconds. */
export const serdeDuration = () =>
  z
    .object({ secs: z.number().int().nonnegative(), nanos: z.number().int().nonnegative().default(0) }, { error: 'expected a map {secs: N, nanos: M}' })
    .strict()
    .transform(({ secs, nanos }) => secs * 1000 + nanos / 1e6);

/** HTTP headers as Fluvio lists them: `"Name: value"`, split at the first `:` (value trimmed). */
export const headerList = () =>
  z.array(z.string({ error: 'expected a "Name: value" string' }), { error: 'expected a list of "Name: value" strings' }).transform((items, ctx) => {
    const headers: [string, string][] = [];
    items.forEach((item, index) => {
      const colon = item.indexOf(':');
      const name = colon > 0 ? item.slice(0, colon).trim() : '';
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        ctx.addIssue({ code: 'custom', path: [index], message: `expected "Name: value", got "${item}"` });
        return;
      }
      headers.push([name, item.slice(colon + 1).trim()]);
    });
    return headers;
  });

/** A URL with one of the given schemes. */
export const url = (schemes: readonly string[]) =>
  z.string({ error: `expected a URL (${schemes.join(', ')})` }).superRefine((text, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a URL (${schemes.join(', ')}), got "${text}"` });
      return;
    }
    if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
      ctx.addIssue({ code: 'custom', message: `expected a ${schemes.join(' or ')} URL, got "${text}"` });
    }
  });

/** Hidden list of warnings carried by a parsed config object. */
const WARNINGS = Symbol.for('freshet.config.warnings');

/** Warnings `parseSection` found while parsing `config` (unknown keys, ignored fields). */
export function configWarnings(config: unknown): string[] {
  if (typeof config !== 'object' || config === null) return [];
  return ((config as Record<symbol, unknown>)[WARNINGS] as string[] | undefined) ?? [];
}

/** Adds warnings to a parsed config object (not enumerable: JSON and spreads don't see them). */
export function attachWarnings<T>(config: T, warnings: readonly string[]): T {
  if (warnings.length === 0 || typeof config !== 'object' || config === null) return config;
  const existing = configWarnings(config);
  Object.defineProperty(config, WARNINGS, { value: [...existing, ...warnings], enumerable: false, configurable: true });
  return config;
}

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(top level)';
}

function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, '');
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** The closest of `known` to `key`, when it is close enough to be a likely typo. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const exact = known.find((candidate) => normalize(candidate) === normalize(key));
  if (exact) return exact;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(normalize(key), normalize(candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 4)) ? best : undefined;
}

interface ZodInternals {
  _zod: { def: { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; element?: z.ZodType; options?: z.ZodType[] } };
}

/** Known keys of the object schema(s) found at `path` in `schema` (best effort, for suggestions). */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const found = new Set<string>();
  const visit = (node: z.ZodType | undefined, rest: readonly PropertyKey[], depth: number): void => {
    if (!node || depth > 40) return;
    const def = (node as unknown as ZodInternals)._zod.def;
    switch (def.type) {
      case 'object':
        if (rest.length === 0) Object.keys(def.shape ?? {}).forEach((key) => found.add(key));
        else if (typeof rest[0] === 'string') visit(def.shape?.[rest[0]], rest.slice(1), depth + 1);
        return;
      case 'array':
        if (typeof rest[0] === 'number') visit(def.element, rest.slice(1), depth + 1);
        return;
      case 'optional':
      case 'default':
      case 'nullable':
      case 'prefault':
      case 'catch':
      case 'readonly':
        visit(def.innerType, rest, depth + 1);
        return;
      case 'pipe':
        visit(def.in, rest, depth + 1);
        return;
      case 'union':
        for (const option of def.options ?? []) visit(option, rest, depth + 1);
        return;
      default:
    }
  };
  visit(schema, path, 0);
  return [...found];
}

function deleteAt(root: unknown, path: readonly PropertyKey[], key: string): void {
  let node = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  if (typeof node === 'object' && node !== null) delete (node as Record<string, unknown>)[key];
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union') {
    // Say what the first alternative expected, unless a custom message was given.
    if (issue.message && issue.message !== 'Invalid input') return issue.message;
    const first = issue.errors[0]?.[0];
    return first ? issueMessage(first) : 'invalid value';
  }
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return issue.message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
}

/** Flattens union issues to the deepest path they point at (so "http.interval" rather than "http"). */
function leafIssues(issue: z.core.$ZodIssue, base: readonly PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path];
  if (issue.code === 'invalid_union' && (!issue.message || issue.message === 'Invalid input')) {
    // When exactly one alternative got past the type check, report its issues (the user meant that one).
    const deeper = issue.errors.filter((branch) => branch.some((i) => i.path.length > 0 || i.code !== 'invalid_type'));
    if (deeper.length === 1) return deeper[0].flatMap((i) => leafIssues(i, path));
  }
  return [{ path, message: issueMessage(issue) }];
}

/**
 * Validates `value` with a strict schema. Real problems throw one ConfigError
 * listing every key path and what was expected; unknown keys only warn (they
 * are dropped and the value parsed again). `prefix` is the path of `value` in
 * the file (e.g. `http`).
 */
export function parseSection<T extends z.ZodType>(schema: T, value: unknown, prefix: string): z.output<T> {
  const warnings: string[] = [];
  let input = value;
  for (let round = 0; round < 8; round++) {
    const result = schema.safeParse(input);
    if (result.success) return attachWarnings(result.data as z.output<T>, warnings);
    const unknown = result.error.issues.filter((issue): issue is z.core.$ZodIssueUnrecognizedKeys => issue.code === 'unrecognized_keys');
    const other = result.error.issues.filter((issue) => issue.code !== 'unrecognized_keys');
    if (other.length > 0) {
      const lines = other.flatMap((issue) => leafIssues(issue)).map(({ path, message }) => `${formatPath(prefix, path)}: ${message}`);
      const unique = [...new Set(lines)];
      const extra = unknown.flatMap((issue) => unknownKeyMessages(schema, prefix, issue));
      throw new ConfigError(unique.length === 1 ? unique[0] : `invalid config:\n  ${unique.join('\n  ')}`, extra.length > 0 ? extra.join('; ') : undefined);
    }
    if (round === 0) input = structuredClone(input);
    for (const issue of unknown) {
      warnings.push(...unknownKeyMessages(schema, prefix, issue));
      for (const key of issue.keys) deleteAt(input, issue.path, key);
    }
  }
  throw new ConfigError(`${prefix}: could not be validated`);
}

function unknownKeyMessages(schema: z.ZodType, prefix: string, issue: z.core.$ZodIssueUnrecognizedKeys): string[] {
  const known = knownKeysAt(schema, issue.path);
  return issue.keys.map((key) => {
    const suggestion = suggestKey(key, known);
    return `${formatPath(prefix, [...issue.path, key])} is not a known key and is ignored${suggestion ? `; did you mean ${suggestion}?` : ''}`;
  });
}
