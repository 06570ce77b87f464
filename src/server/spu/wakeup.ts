/**
 * A level-triggered wake-up: `notify` releases the current waiter, or the
 * next one if nobody waits yet. Streams sleep on it instead of polling.
 */
export class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  notify = (): void => {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter();
    } else {
      this.pending = true;
    }
  };

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}
