// How `consume` prints a record (-O, -k, -F), after fluvio's formats:
//   dynamic  text, or a hex dump when the value looks binary (has a NUL byte)
//   text     text; binary values show as `binary: (N bytes)`
//   binary   hex dump
//   json     the value as compact JSON, one per line (with -k: {"key":..,"value":..})
//   raw      the value as it is
//   table    JSON objects as rows of an aligned table, header from the first record
//   -F       a template with {{key}} {{value}} {{offset}} {{partition}} {{time}}
// Records a format cannot show are skipped with a note on stderr (none with
// --suppress-unknown), so stdout carries only data.

import { columnWidths, tableLine } from './table.js';
import { usageError } from './errors.js';

export interface PrintableRecord {
  partition: number;
  offset: number;
  /** ms since the epoch; negative when the producer set none. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
}

export const RECORD_FORMATS = ['dynamic', 'text', 'binary', 'json', 'raw', 'table'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

export interface RecordPrinterOptions {
  format: RecordFormat;
  keyValue?: boolean;
  template?: string;
  suppressUnknown?: boolean;
  /** table: rows held back to align them (0 prints each row at once, for live streams). */
  tableBufferRows?: number;
  warn?: (text: string) => void;
}

export interface RecordPrinter {
  /** Text for stdout ('' when nothing is printed yet). */
  print(record: PrintableRecord): string;
  /** Whatever is still held back. */
  end(): string;
}

const isBinary = (value: Buffer) => value.includes(0);
const keyText = (key: Buffer | null) => (key === null ? 'null' : key.toString('utf8'));

export function hexDump(value: Buffer): string {
  const lines: string[] = [];
  for (let at = 0; at < value.length; at += 16) {
    const bytes = [...value.subarray(at, at + 16)];
    const hex = bytes.map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ').padEnd(23);
    const right = hex.slice(8).join(' ').padEnd(23);
    const ascii = bytes.map((b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : b === 0x0a ? '.' : ' ')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${left}  ${right}  |${ascii}|`);
  }
  return `${lines.join('\n')}\n${'-'.repeat(78)}`;
}

const TEMPLATE_VARIABLES: { [name: string]: (r: PrintableRecord) => string } = {
  key: (r) => keyText(r.key),
  value: (r) => r.value.toString('utf8'),
  offset: (r) => String(r.offset),
  partition: (r) => String(r.partition),
  time: (r) => (r.timestamp < 0 ? 'NA' : new Date(r.timestamp).toISOString()),
};

/** A handlebars-style template (no HTML escaping); unknown names print nothing, as handlebars does. */
export function compileTemplate(template: string): (record: PrintableRecord) => string {
  const parts: ((record: PrintableRecord) => string)[] = [];
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf('{{', at);
    if (open < 0) {
      const text = template.slice(at);
      parts.push(() => text);
      break;
    }
    const literal = template.slice(at, open);
    if (literal) parts.push(() => literal);
    const triple = template.startsWith('{{{', open);
    const closing = triple ? '}}}' : '}}';
    const close = template.indexOf(closing, open);
    if (close < 0) throw usageError(`the --format template has an unclosed "${triple ? '{{{' : '{{'}" at character ${open + 1}`);
    const name = template.slice(open + closing.length, close).trim();
    if (!/^[A-Za-z_][\w.]*$/.test(name)) throw usageError(`the --format template has an invalid expression "{{${name}}}"; use {{key}}, {{value}}, {{offset}}, {{partition}} or {{time}}`);
    const variable = TEMPLATE_VARIABLES[name];
    parts.push(variable ?? (() => ''));
    at = close + closing.length;
  }
  return (record) => parts.map((part) => part(record)).join('');
}

function tablePrinter(options: RecordPrinterOptions, skip: (record: PrintableRecord, why: string) => void): RecordPrinter {
  let header: string[] | undefined;
  let widths: number[] | undefined;
  let held: string[][] = [];
  const limit = options.tableBufferRows ?? 0;
  const release = (): string => {
    if (!header || held.length === 0) return '';
    const rows = held;
    held = [];
    let text = '';
    if (!widths) {
      widths = columnWidths(header, rows);
      text += tableLine(header, widths) + '\n';
    }
    for (const row of rows) {
      widths = widths.map((w, i) => Math.max(w, row[i]?.length ?? 0));
      text += tableLine(row, widths) + '\n';
    }
    return text;
  };
  return {
    print(record) {
      let object: unknown;
      try {
        object = JSON.parse(record.value.toString('utf8'));
      } catch (err) {
        skip(record, `it is not JSON (${(err as Error).message})`);
        return '';
      }
      if (object === null || typeof object !== 'object' || Array.isArray(object)) {
        skip(record, 'it is not a JSON object');
        return '';
      }
      const entries = object as { [key: string]: unknown };
      header ??= Object.keys(entries);
      held.push(header.map((key) => (typeof entries[key] === 'string' ? (entries[key] as string) : (JSON.stringify(entries[key]) ?? ''))));
      return held.length > limit ? release() : '';
    },
    end: release,
  };
}

export function recordPrinter(options: RecordPrinterOptions): RecordPrinter {
  const warn = options.warn ?? ((text: string) => process.stderr.write(text + '\n'));
  const skip = (record: PrintableRecord, why: string) => {
    if (!options.suppressUnknown) warn(`record ${record.partition}/${record.offset} skipped: ${why} (-O ${options.format}; --suppress-unknown hides this)`);
  };
  const prefix = (record: PrintableRecord) => (options.keyValue ? `[${keyText(record.key)}] ` : '');
  if (options.template !== undefined) {
    const render = compileTemplate(options.template);
    return { print: (record) => render(record) + '\n', end: () => '' };
  }
  if (options.format === 'table') return tablePrinter(options, skip);
  const line = (record: PrintableRecord): string | undefined => {
    const value = record.value;
    switch (options.format) {
      case 'binary':
        return prefix(record) + hexDump(value);
      case 'dynamic':
        return prefix(record) + (isBinary(value) ? hexDump(value) : value.toString('utf8'));
      case 'text':
        if (isBinary(value) && !options.suppressUnknown) return `${prefix(record)}binary: (${value.length} bytes)`;
        return prefix(record) + value.toString('utf8');
      case 'raw':
        return prefix(record) + value.toString('utf8');
      case 'json': {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value.toString('utf8'));
        } catch (err) {
          skip(record, `it is not JSON (${(err as Error).message})`);
          return undefined;
        }
        return JSON.stringify(options.keyValue ? { key: record.key === null ? null : record.key.toString('utf8'), value: parsed } : parsed);
      }
    }
  };
  return {
    print(record) {
      const text = line(record);
      return text === undefined ? '' : text + '\n';
    },
    end: () => '',
  };
}
