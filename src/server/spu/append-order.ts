import assert from 'node:assert/strict';

/**
 * One line per partition for the produce requests that append to it, so the
 * node stores them in the order they arrived, whatever each one does before
 * its append (a SmartModule chain reads the registry, compiles, reads
 * look-back records). A request takes its place as it arrives, waits for
 * its turn, hands its batches to the store (which keeps call order) and
 * leaves; the next one in line goes on. A request alone in its partition's
 * line goes on at once, without waiting for a turn of the event loop.
 */
export class AppendOrder {
  /** Per partition with a request at its turn: the resumers of the requests waiting behind it, in arrival order. */
  private readonly lines = new Map<string, (() => void)[]>();

  /**
   * Takes the next place in `partition`'s line. Undefined: it is this
   * request's turn now; else the promise resolves at its turn. Every enter
   * is followed by exactly one leave, once the append was handed to the store
   * (or given up).
   */
  enter(partition: string): Promise<void> | undefined {
    const waiting = this.lines.get(partition);
    if (waiting === undefined) {
      this.lines.set(partition, []);
      return undefined;
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  leave(partition: string): void {
    const waiting = this.lines.get(partition);
    if (waiting === undefined) assert.fail(`leave without enter for partition ${partition}`);
    const next = waiting.shift();
    if (next === undefined) this.lines.delete(partition);
    else next();
  }

  /** Partitions with a request at its turn (a gauge for tests: zero when the node is idle). */
  get busyPartitions(): number {
    return this.lines.size;
  }
}
