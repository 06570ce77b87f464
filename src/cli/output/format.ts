// `-O table|json` for lists and single objects: a table (or key/value lines)
// for people, one JSON object per line for scripts. Data goes to stdout;
// "nothing found" notes go to stderr so a pipe sees only data.

import { InvalidArgumentError, Option } from 'commander';
import { styleFor } from './colour.js';
import { renderPairs, renderTable } from './table.js';
import { stdoutWriter } from './writer.js';

export type ListFormat = 'table' | 'json';

export function parseListFormat(text: string): ListFormat {
  const format = text.toLowerCase();
  if (format === 'table' || format === 'json') return format;
  if (format === 'yaml' || format === 'toml') throw new InvalidArgumentError(`${text} output is not supported by freshet; use table or json`);
  throw new InvalidArgumentError('expected table or json');
}

export function listFormatOption(): Option {
  return new Option('-O, --output <type>', 'output: table, or json (one JSON object per line)').argParser(parseListFormat).default('table');
}

export function jsonLine(value: unknown): string {
  return JSON.stringify(value) + '\n';
}

export interface ListSpec<T> {
  header: string[];
  row(item: T): string[];
  /** Said on stderr when there is nothing to show (table output). */
  empty: string;
  /** Right-aligned columns. */
  right?: number[];
  /** The JSON object of an item (default: the item). */
  json?(item: T): unknown;
}

/** Prints a list as a table or as JSON lines. */
export async function printList<T>(items: readonly T[], format: ListFormat, spec: ListSpec<T>): Promise<void> {
  const out = stdoutWriter();
  if (format === 'json') {
    for (const item of items) await out.write(jsonLine(spec.json ? spec.json(item) : item));
  } else if (items.length === 0) {
    process.stderr.write(`${spec.empty}\n`);
  } else {
    await out.write(renderTable(spec.header, items.map(spec.row), { right: spec.right, style: styleFor(process.stdout) }));
  }
  await out.flush();
}

/** Prints one object as key/value lines or as one JSON line. */
export async function printObject(pairs: [string, string][], json: unknown, format: ListFormat): Promise<void> {
  const out = stdoutWriter();
  await out.write(format === 'json' ? jsonLine(json) : renderPairs(pairs, { style: styleFor(process.stdout) }));
  await out.flush();
}

/** A result line for people (`topic "t" created`) on stdout. */
export async function printLine(text: string): Promise<void> {
  const out = stdoutWriter();
  await out.write(text + '\n');
  await out.flush();
}

/** A note for people on stderr (never mixed into data). */
export function note(text: string): void {
  process.stderr.write(text + '\n');
}

/** `Examples:` after a command's help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => (line.startsWith('#') ? `  ${line}` : `  $ ${line}`)).join('\n')}`;
}
