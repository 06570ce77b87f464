// The node's parts start in order and stop in reverse order, as fastify's
// onClose hooks do: each step that started something registers how to undo
// it, so a failed start-up step releases exactly what started before it and
// a stop releases everything, without a hand-written copy of either path.

import type { Logger } from 'pino';

interface Closer {
  readonly part: string;
  readonly close: () => Promise<void> | void;
}

export class Lifecycle {
  readonly #closers: Closer[] = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Names of the parts started so far, in start order. */
  get parts(): string[] {
    return this.#closers.map((c) => c.part);
  }

  /**
   * Starts one part: `open` runs now; when it succeeds, `close` is what
   * undoes it at stop. Refused once the lifecycle is closing, so a part
   * cannot start behind a stop that already passed it.
   */
  async start<T>(part: string, open: () => Promise<T> | T, close: (started: T) => Promise<void> | void): Promise<T> {
    if (this.#closing) throw new Error(`cannot start ${part}: the node is stopping`);
    const started = await open();
    this.#closers.push({ part, close: () => close(started) });
    return started;
  }

  /** Registers how to undo something already done (a part with no separate start step). */
  onClose(part: string, close: () => Promise<void> | void): void {
    if (this.#closing) throw new Error(`cannot register ${part}: the node is stopping`);
    this.#closers.push({ part, close });
  }

  /**
   * Closes every part in reverse start order. A part that fails to close is
   * logged and the others still close; the first failure is rethrown at the
   * end. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      let firstError: unknown;
      while (this.#closers.length > 0) {
        const closer = this.#closers.pop()!;
        try {
          await closer.close();
        } catch (err) {
          this.log.error({ err, part: closer.part }, 'part failed to stop');
          firstError ??= err;
        }
      }
      if (firstError !== undefined) throw firstError;
    })();
    return this.#closing;
  }

  /**
   * Runs the start-up steps in `compose`; if one throws, closes what started
   * before it (reverse order) and rethrows the start-up error.
   */
  async compose<T>(compose: () => Promise<T>): Promise<T> {
    try {
      return await compose();
    } catch (err) {
      await this.close().catch(() => {});
      throw err;
    }
  }
}
