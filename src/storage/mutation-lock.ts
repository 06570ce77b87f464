/**
 * The partition's one mutation lock: append groups, rolls, retention and
 * close run one at a time, in the order they asked.
 */
export class MutationLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
