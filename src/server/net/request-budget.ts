import assert from 'node:assert/strict';

/** A connection that stopped reading for the budget; resumed once there is room (or its turn). */
export interface BudgetReader {
  resumeReading(): void;
}

/**
 * The request bytes the node holds in memory, across every connection of
 * every listener that shares it: bytes read from a socket count from the
 * moment they arrive (a partial frame too) until their request is answered,
 * or dropped with its connection.
 *
 * A connection that finds the budget spent stops reading until requests
 * being served release bytes; waiting connections resume in the order they
 * stopped. When nothing being served could release anything (only partial
 * frames are held), one waiting connection at a time, the runner, reads on
 * until its frame is complete, so a request larger than what is left still
 * goes through and nobody waits forever.
 *
 * The bound is what is held when reading stops: the limit, plus what one
 * socket read brings on each connection that was reading, plus the runner's
 * frame (at most maxFrameBytes).
 */
export class RequestByteBudget {
  private held = 0;
  /** Held bytes of requests being served: what will be released without anyone reading more. */
  private serving = 0;
  private peak = 0;
  private readonly waiting: BudgetReader[] = [];
  private runner: BudgetReader | undefined;

  constructor(readonly limit: number) {
    assert.ok(Number.isSafeInteger(limit) && limit > 0, `request byte budget must be a positive integer, got ${limit}`);
  }

  /** Bytes held now (a gauge). */
  get heldBytes(): number {
    return this.held;
  }

  /** The most bytes held at once since the budget was made (a gauge for tests and benchmarks). */
  get peakHeldBytes(): number {
    return this.peak;
  }

  /** Connections waiting for room. */
  get waitingReaders(): number {
    return this.waiting.length;
  }

  /** Bytes just read from a socket. */
  receive(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
  }

  /** A complete frame of `bytes` (received before) is being served by `reader`; `served` releases it. */
  serve(bytes: number, reader: BudgetReader): void {
    this.serving += bytes;
    if (this.runner === reader) this.runner = undefined;
  }

  served(bytes: number): void {
    this.serving -= bytes;
    this.release(bytes);
    assert.ok(this.serving >= 0, 'more request bytes served than were being served');
  }

  /** Bytes received by `reader` that will not be served (its connection closed); it reads no more. */
  drop(bytes: number, reader: BudgetReader): void {
    const index = this.waiting.indexOf(reader);
    if (index >= 0) this.waiting.splice(index, 1);
    if (this.runner === reader) this.runner = undefined;
    this.release(bytes);
  }

  /** Whether `reader` may read on now; if not, it is resumed through resumeReading() later. */
  mayRead(reader: BudgetReader): boolean {
    if (this.held < this.limit || this.runner === reader) return true;
    if (this.serving === 0 && this.runner === undefined && this.waiting.length === 0) {
      this.runner = reader;
      return true;
    }
    this.waiting.push(reader);
    return false;
  }

  private release(bytes: number): void {
    this.held -= bytes;
    assert.ok(this.held >= 0, 'more request bytes released than were held');
    while (this.waiting.length > 0) {
      if (this.held >= this.limit) {
        if (this.serving > 0 || this.runner !== undefined) return;
        this.runner = this.waiting[0];
      }
      this.waiting.shift()!.resumeReading();
    }
  }
}
