// The last closed steps of one key: for each step its window start and the
// value of every fact (NaN: null), in a fixed ring, so a key's series memory
// is bounded by the longest look-back any series or correlation needs.

export class StepRing {
  /** One buffer per key (typed arrays cost ~100 bytes each before their data): slot i holds its start at i·(facts + 1), its facts after it. */
  private readonly slots: Float64Array;
  private readonly stride: number;
  /** Slot of the newest step; -1 while empty. */
  private head = -1;
  private size = 0;

  constructor(
    readonly capacity: number,
    readonly facts: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || !Number.isInteger(facts) || facts < 1) throw new Error(`step ring: bad capacity ${capacity} × ${facts}`);
    this.stride = facts + 1;
    this.slots = new Float64Array(capacity * this.stride);
  }

  private start(slot: number): number {
    return this.slots[slot * this.stride];
  }

  private value(slot: number, fact: number): number {
    return this.slots[slot * this.stride + 1 + fact];
  }

  get length(): number {
    return this.size;
  }

  get newestStart(): number | undefined {
    return this.head < 0 ? undefined : this.start(this.head);
  }

  /** The newest step's value of a fact (null for NaN); undefined while empty. */
  newestValue(fact: number): number | null | undefined {
    if (this.head < 0) return undefined;
    const v = this.value(this.head, fact);
    return v !== v ? null : v;
  }

  /** Appends a step (starts must increase). */
  push(start: number, values: readonly (number | null)[]): void {
    if (this.head >= 0 && !(start > this.start(this.head))) throw new Error(`step ring: step ${start} after ${this.start(this.head)}`);
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    const base = this.head * this.stride;
    this.slots[base] = start;
    for (let f = 0; f < this.facts; f++) this.slots[base + 1 + f] = values[f] ?? NaN;
  }

  /** Calls fn for each stored step, newest first, until it returns false. */
  private eachNewestFirst(fn: (slot: number, start: number) => boolean): void {
    for (let i = 0, slot = this.head; i < this.size; i++, slot = (slot - 1 + this.capacity) % this.capacity) {
      if (!fn(slot, this.start(slot))) return;
    }
  }

  /** Numbers of a fact at starts ≥ from (newest first order does not matter for a mean). */
  valuesSince(from: number, fact: number): number[] {
    const out: number[] = [];
    this.eachNewestFirst((slot, start) => {
      if (start < from) return false;
      const v = this.value(slot, fact);
      if (v === v) out.push(v);
      return true;
    });
    return out;
  }

  /** out[offset + i] = the fact at start from + i·step for i < length (NaN where the key has no number). */
  extract(from: number, step: number, length: number, fact: number, out: Float64Array, offset: number): void {
    out.fill(NaN, offset, offset + length);
    this.eachNewestFirst((slot, start) => {
      if (start < from) return false;
      const i = (start - from) / step;
      if (i < length && Number.isInteger(i)) out[offset + i] = this.value(slot, fact);
      return true;
    });
  }

  toJSON(): [number, ...(number | null)[]][] {
    const rows: [number, ...(number | null)[]][] = [];
    this.eachNewestFirst((slot, start) => {
      const row: [number, ...(number | null)[]] = [start];
      for (let f = 0; f < this.facts; f++) {
        const v = this.value(slot, f);
        row.push(v !== v ? null : v);
      }
      rows.unshift(row);
      return true;
    });
    return rows;
  }

  static fromJSON(rows: readonly (readonly (number | null)[])[], capacity: number, facts: number): StepRing {
    const ring = new StepRing(capacity, facts);
    for (const [start, ...values] of rows.slice(-capacity)) ring.push(start as number, values);
    return ring;
  }
}
