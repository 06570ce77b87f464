// Colour only for people: when the stream is a terminal, never with NO_COLOR
// (https://no-color.org: set and not empty) or TERM=dumb.

export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const sgr = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const identity = (text: string) => text;

export function makeStyle(enabled: boolean): Style {
  const pick = (open: number, close: number) => (enabled ? sgr(open, close) : identity);
  return {
    enabled,
    bold: pick(1, 22),
    dim: pick(2, 22),
    red: pick(31, 39),
    green: pick(32, 39),
    yellow: pick(33, 39),
    cyan: pick(36, 39),
  };
}

/** The style for a stream (process.stdout or process.stderr). */
export function styleFor(stream: { isTTY?: boolean }): Style {
  return makeStyle(colourEnabled(stream));
}
