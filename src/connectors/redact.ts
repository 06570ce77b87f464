// A connector's secret values never leave the node in what it says: its log
// lines (kept for `connector logs` and written to the node's log), and the
// last error and warning shown by `connector list|describe` and the console.
// The values are the ones its config uses, refreshed at every start (a
// rotated secret is redacted too); each occurrence becomes `***`, raw or
// JSON-escaped (as it appears inside a pino line).

const MASK = '***';
/** Shorter values are not masked: they would blank ordinary words and digits. */
export const MIN_REDACTED_LENGTH = 4;

export class SecretRedactor {
  private patterns: string[] = [];

  /** The values to mask from now on (undefined ones — unset secrets — are skipped). */
  update(values: Iterable<string | undefined>): void {
    const patterns = new Set<string>();
    for (const value of values) {
      if (value === undefined || value.length < MIN_REDACTED_LENGTH) continue;
      patterns.add(value);
      patterns.add(JSON.stringify(value).slice(1, -1));
      patterns.add(encodeURIComponent(value));
    }
    // Longest first, so a secret that contains another is masked whole.
    this.patterns = [...patterns].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const pattern of this.patterns) if (out.includes(pattern)) out = out.split(pattern).join(MASK);
    return out;
  }

  redactOptional(text: string | undefined): string | undefined {
    return text === undefined ? undefined : this.redact(text);
  }
}
