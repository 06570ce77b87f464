// Aligned tables as fluvio prints them: header in capitals, no borders,
// columns two spaces apart, every line indented by one space.

import { makeStyle, type Style } from './colour.js';

export interface TableOptions {
  /** Columns to right-align (numbers), by index. */
  right?: readonly number[];
  /** Spaces before every line; default 1. */
  indent?: number;
  style?: Style;
}

/** Width on screen: code points, not UTF-16 units. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const _ of text) width++;
  return width;
}

function pad(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

/** Column widths that fit the header and every row. */
export function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  return header.map((title, i) => Math.max(displayWidth(title), ...rows.map((row) => displayWidth(row[i] ?? ''))));
}

/** One line of a table with the given column widths (no trailing spaces). */
export function tableLine(cells: readonly string[], widths: readonly number[], options: TableOptions = {}): string {
  const right = new Set(options.right ?? []);
  const indent = ' '.repeat(options.indent ?? 1);
  const line = widths.map((width, i) => pad(cells[i] ?? '', width, right.has(i))).join('  ');
  return (indent + line).trimEnd();
}

/** The whole table, one string ending with a newline. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const style = options.style ?? makeStyle(false);
  const widths = columnWidths(header, rows);
  const lines = [style.bold(tableLine(header, widths, options)), ...rows.map((row) => tableLine(row, widths, options))];
  return lines.join('\n') + '\n';
}

/** Key/value lines with the keys padded to one width (`topic describe`, `version`). */
export function renderPairs(pairs: readonly (readonly [string, string])[], options: { indent?: number; style?: Style } = {}): string {
  const style = options.style ?? makeStyle(false);
  const width = Math.max(0, ...pairs.map(([key]) => displayWidth(key)));
  const indent = ' '.repeat(options.indent ?? 1);
  return pairs.map(([key, value]) => `${indent}${style.bold(pad(key, width, false))} : ${value}`.trimEnd()).join('\n') + '\n';
}
