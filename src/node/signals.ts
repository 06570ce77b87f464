// How a foreground node ends on Ctrl-C or SIGTERM: it stops its parts
// (flushing partitions, last checkpoints) and exits 0. A stop that cannot
// finish — its data dir removed underneath it, a part that hangs — must not
// keep the process alive: after the grace period, or on a second signal,
// it exits 1 at once, saying why.

export interface StopOnSignalsOptions {
  /** What is being stopped, for the messages ("the node", "the example"). */
  what: string;
  /** How long a stop may take before the process exits anyway (default 10 s). */
  graceMs?: number;
  /** Said after "<signal> received, stopping": what the stop does. */
  doing?: string;
  write?: (text: string) => void;
  exit?: (code: number) => void;
}

export const DEFAULT_STOP_GRACE_MS = 10_000;

export function stopOnSignals(stop: () => Promise<void>, options: StopOnSignalsOptions): void {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const graceMs = options.graceMs ?? DEFAULT_STOP_GRACE_MS;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      write(`${signal} received again: exiting without waiting for ${options.what} to stop\n`);
      exit(1);
      return;
    }
    stopping = true;
    write(`\n${signal} received, stopping ${options.what}${options.doing ? ` (${options.doing})` : ''}...\n`);
    const deadline = setTimeout(() => {
      write(`${options.what} did not stop within ${graceMs / 1000} s; exiting anyway (appends not yet flushed may be lost; acknowledged ones are on disk)\n`);
      exit(1);
    }, graceMs);
    deadline.unref();
    stop().then(
      () => {
        clearTimeout(deadline);
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        write(`error while stopping ${options.what}: ${(err as Error).message}\n`);
        exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
