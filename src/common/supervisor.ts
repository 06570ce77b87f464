// Keeps named units (managed connectors, managed dataflows, a connector run
// in the foreground) in the state they are meant to be in. Each unit has a
// desired state, running or stopped; the supervisor starts and stops it to
// match, one change at a time per unit, and starts it again with the
// common backoff after it fails to start or crashes — unless the error is
// permanent (a bad config), which leaves it `failed` until asked again.
//
// A stop asked while the unit is starting aborts the start's signal, so a
// start that waits (on a node that does not answer) gives up at once.

import { backoffDelay, type BackoffRange } from './backoff.js';
import { SerialQueue } from './serial-queue.js';

export type DesiredState = 'running' | 'stopped';

/** `backoff`: failed, a restart is scheduled; `failed`: failed for good (permanent error). */
export type UnitState = 'starting' | 'running' | 'backoff' | 'failed' | 'stopping' | 'stopped';

export interface UnitStatus {
  state: UnitState;
  /** Restarts after failures since the unit was last asked to run. */
  restarts: number;
  lastError?: string;
  lastErrorAt?: string;
  /** When the unit entered its state (ISO time). */
  since: string;
  /** When it last began running. */
  startedAt?: string;
  /** In state backoff: when the next start is due. */
  nextRestartAt?: string;
}

export interface RunningUnit<T> {
  readonly value: T;
  /** Settles when the unit ends: rejects with why it crashed; whatever it does after stop() is ignored. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface Unit<T> {
  /** Resolves once the unit runs; rejects when it cannot start. `signal` aborts when the start is no longer wanted. */
  start(signal: AbortSignal): Promise<RunningUnit<T>>;
}

export interface SupervisorOptions {
  backoff: BackoffRange;
  /** A run that lasted this long starts the backoff over from minMs. Default 30 s. */
  healthyAfterMs?: number;
  /** Errors a restart cannot cure (invalid config): the unit becomes `failed` and stays so. */
  isPermanent?: (err: Error) => boolean;
  onStatus?: (name: string, status: Readonly<UnitStatus>) => void;
}

interface Slot<T> {
  readonly name: string;
  readonly unit: Unit<T>;
  desired: DesiredState;
  status: UnitStatus;
  current: RunningUnit<T> | undefined;
  /** Aborts the start in progress. */
  starting: AbortController | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  /** Exponent of the next backoff. */
  attempt: number;
  readonly changes: SerialQueue;
}

export class UnitExistsError extends Error {
  override readonly name = 'UnitExistsError';
}

export class UnknownUnitError extends Error {
  override readonly name = 'UnknownUnitError';
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class Supervisor<T> {
  private readonly slots = new Map<string, Slot<T>>();
  private closed = false;

  constructor(private readonly options: SupervisorOptions) {
    backoffDelay(0, options.backoff);
  }

  /**
   * Adds a unit and brings it to `desired`. Resolves with its status after
   * the first start (whether it runs or failed), at once when stopped.
   */
  add(name: string, unit: Unit<T>, desired: DesiredState): Promise<UnitStatus> {
    if (this.closed) return Promise.reject(new Error('the supervisor is closed'));
    if (this.slots.has(name)) return Promise.reject(new UnitExistsError(`a unit named "${name}" exists`));
    const slot: Slot<T> = {
      name,
      unit,
      desired,
      status: { state: 'stopped', restarts: 0, since: new Date().toISOString() },
      current: undefined,
      starting: undefined,
      restartTimer: undefined,
      attempt: 0,
      changes: new SerialQueue(),
    };
    this.slots.set(name, slot);
    return slot.changes.run(async () => {
      await this.reconcile(slot, true);
      return this.status(name)!;
    });
  }

  /**
   * Sets the desired state. Asked to run, a unit that is not running starts
   * now, its restart count and backoff reset; asked to stop, it stops (a
   * start in progress is aborted, a scheduled restart cancelled). Resolves
   * with the status once the change is made.
   */
  setDesired(name: string, desired: DesiredState): Promise<UnitStatus> {
    const slot = this.slot(name);
    slot.desired = desired;
    if (desired === 'stopped') this.cancelStart(slot);
    return slot.changes.run(async () => {
      await this.reconcile(slot, desired === 'running');
      return this.status(name)!;
    });
  }

  /** Stops the unit and forgets it. */
  async remove(name: string): Promise<void> {
    const slot = this.slot(name);
    slot.desired = 'stopped';
    this.cancelStart(slot);
    await slot.changes.run(() => this.reconcile(slot, false));
    if (this.slots.get(name) === slot) this.slots.delete(name);
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  status(name: string): UnitStatus | undefined {
    const slot = this.slots.get(name);
    return slot ? { ...slot.status } : undefined;
  }

  desired(name: string): DesiredState | undefined {
    return this.slots.get(name)?.desired;
  }

  /** What the running unit's start gave, if it runs. */
  running(name: string): T | undefined {
    return this.slots.get(name)?.current?.value;
  }

  /** Stops every unit; later changes are refused. Desired states are left as they were (for whoever persists them). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(
      [...this.slots.values()].map((slot) => {
        this.cancelStart(slot);
        return slot.changes.run(() => this.reconcile(slot, false));
      }),
    );
  }

  private slot(name: string): Slot<T> {
    const slot = this.slots.get(name);
    if (!slot) throw new UnknownUnitError(`no unit named "${name}"`);
    return slot;
  }

  private wantsRunning(slot: Slot<T>): boolean {
    return !this.closed && slot.desired === 'running' && this.slots.get(slot.name) === slot;
  }

  private report(slot: Slot<T>, changes: Partial<UnitStatus>): void {
    const next = { ...slot.status, ...changes };
    if (changes.state !== undefined && changes.state !== slot.status.state) next.since = new Date().toISOString();
    if (next.state !== 'backoff') delete next.nextRestartAt;
    slot.status = next;
    this.options.onStatus?.(slot.name, { ...next });
  }

  private cancelStart(slot: Slot<T>): void {
    slot.starting?.abort();
  }

  private cancelRestart(slot: Slot<T>): void {
    clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
  }

  /**
   * Brings the unit to its desired state; runs on the unit's queue. `fresh`:
   * asked to run now — a failed unit or one waiting for its restart starts
   * at once, its restart count and backoff reset.
   */
  private async reconcile(slot: Slot<T>, fresh: boolean): Promise<void> {
    if (this.wantsRunning(slot)) {
      if (slot.current || (!fresh && (slot.status.state === 'failed' || slot.restartTimer))) return;
      if (fresh) {
        this.cancelRestart(slot);
        slot.attempt = 0;
        slot.status = { ...slot.status, restarts: 0 };
      }
      await this.start(slot);
      return;
    }
    this.cancelRestart(slot);
    const run = slot.current;
    slot.current = undefined;
    if (run) {
      this.report(slot, { state: 'stopping' });
      await run.stop().catch(() => {});
    }
    this.report(slot, { state: 'stopped' });
  }

  private async start(slot: Slot<T>): Promise<void> {
    const abort = new AbortController();
    slot.starting = abort;
    this.report(slot, { state: 'starting' });
    let run: RunningUnit<T>;
    try {
      run = await slot.unit.start(abort.signal);
    } catch (err) {
      if (abort.signal.aborted || !this.wantsRunning(slot)) this.report(slot, { state: 'stopped' });
      else this.failed(slot, asError(err), Date.now());
      return;
    } finally {
      slot.starting = undefined;
    }
    if (abort.signal.aborted || !this.wantsRunning(slot)) {
      this.report(slot, { state: 'stopping' });
      await run.stop().catch(() => {});
      this.report(slot, { state: 'stopped' });
      return;
    }
    const startedAt = Date.now();
    slot.current = run;
    this.report(slot, { state: 'running', startedAt: new Date(startedAt).toISOString() });
    run.done.then(
      () => this.ended(slot, run, new Error('it stopped by itself'), startedAt),
      (err: unknown) => this.ended(slot, run, asError(err), startedAt),
    );
  }

  private ended(slot: Slot<T>, run: RunningUnit<T>, err: Error, startedAt: number): void {
    void slot.changes.run(async () => {
      if (slot.current !== run) return;
      slot.current = undefined;
      // What is left of it (a runtime that failed part way) is released before a new one starts.
      await run.stop().catch(() => {});
      if (this.wantsRunning(slot)) this.failed(slot, err, startedAt);
      else this.report(slot, { state: 'stopped' });
    });
  }

  private failed(slot: Slot<T>, err: Error, startedAt: number): void {
    const failure = { lastError: err.message, lastErrorAt: new Date().toISOString() };
    if (this.options.isPermanent?.(err)) {
      this.report(slot, { state: 'failed', ...failure });
      return;
    }
    if (Date.now() - startedAt >= (this.options.healthyAfterMs ?? 30_000)) slot.attempt = 0;
    const wait = backoffDelay(slot.attempt++, this.options.backoff);
    this.report(slot, { state: 'backoff', ...failure, restarts: slot.status.restarts + 1, nextRestartAt: new Date(Date.now() + wait).toISOString() });
    const timer = setTimeout(() => {
      void slot.changes.run(async () => {
        if (slot.restartTimer !== timer) return;
        slot.restartTimer = undefined;
        if (this.wantsRunning(slot) && !slot.current) await this.start(slot);
      });
    }, wait);
    slot.restartTimer = timer;
  }
}
