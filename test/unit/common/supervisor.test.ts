import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Supervisor, UnitExistsError, UnknownUnitError, type RunningUnit, type Unit, type UnitState, type UnitStatus } from '../../../src/common/index.js';

class PermanentError extends Error {}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A run of the fake unit: crash() ends it with an error; stop() is recorded. */
class FakeRun implements RunningUnit<number> {
  private readonly ended = deferred<void>();
  readonly done = this.ended.promise;
  stops = 0;
  constructor(
    readonly value: number,
    private readonly unit: FakeUnit,
  ) {}
  crash(message: string): void {
    this.ended.reject(new Error(message));
  }
  async stop(): Promise<void> {
    this.unit.enter();
    this.stops++;
    await new Promise((resolve) => setImmediate(resolve));
    this.ended.resolve();
    this.unit.leave();
  }
}

/**
 * Each start takes the next planned outcome: 'ok', an Error, or a Deferred
 * the test settles (the start waits on it, and on its signal).
 */
class FakeUnit implements Unit<number> {
  readonly runs: FakeRun[] = [];
  readonly signals: AbortSignal[] = [];
  starts = 0;
  private busy = 0;
  constructor(private readonly plan: (Error | 'ok' | Deferred<void>)[] = []) {}
  enter(): void {
    assert.equal(++this.busy, 1, 'starts and stops of a unit never overlap');
  }
  leave(): void {
    this.busy--;
  }
  async start(signal: AbortSignal): Promise<FakeRun> {
    this.enter();
    try {
      this.signals.push(signal);
      const outcome = this.plan[this.starts++] ?? 'ok';
      if (outcome instanceof Error) throw outcome;
      if (outcome !== 'ok') await outcome.promise;
      const run = new FakeRun(this.starts, this);
      this.runs.push(run);
      return run;
    } finally {
      this.leave();
    }
  }
}

/** A supervisor whose status changes can be awaited. */
function supervised(options: { minMs?: number; maxMs?: number } = {}) {
  const history = new Map<string, UnitStatus[]>();
  const waiters: { name: string; test: (s: UnitStatus) => boolean; resolve: (s: UnitStatus) => void }[] = [];
  const supervisor = new Supervisor<number>({
    backoff: { minMs: options.minMs ?? 1, maxMs: options.maxMs ?? 4 },
    isPermanent: (err) => err instanceof PermanentError,
    onStatus: (name, status) => {
      history.set(name, [...(history.get(name) ?? []), status]);
      for (const w of waiters.filter((w) => w.name === name && w.test(status))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(status);
      }
    },
  });
  const states = (name: string): UnitState[] => (history.get(name) ?? []).map((s) => s.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
  const until = (name: string, test: (s: UnitStatus) => boolean): Promise<UnitStatus> => {
    const now = supervisor.status(name);
    if (now && test(now)) return Promise.resolve(now);
    return new Promise((resolve) => waiters.push({ name, test, resolve }));
  };
  return { supervisor, states, until };
}

describe('Supervisor', () => {
  it('starts a unit asked to run, stops it when asked, and starts it again', async () => {
    const { supervisor, states } = supervised();
    const unit = new FakeUnit();
    const first = await supervisor.add('a', unit, 'running');
    assert.equal(first.state, 'running');
    assert.equal(first.restarts, 0);
    assert.ok(first.startedAt);
    assert.equal(supervisor.running('a'), 1);
    const stopped = await supervisor.setDesired('a', 'stopped');
    assert.equal(stopped.state, 'stopped');
    assert.equal(unit.runs[0].stops, 1);
    assert.equal(supervisor.running('a'), undefined);
    assert.equal(supervisor.desired('a'), 'stopped');
    assert.equal((await supervisor.setDesired('a', 'running')).state, 'running');
    assert.equal(supervisor.running('a'), 2);
    assert.deepEqual(states('a'), ['starting', 'running', 'stopping', 'stopped', 'starting', 'running']);
    await supervisor.close();
    assert.equal(unit.runs[1].stops, 1);
    assert.equal(supervisor.status('a')?.state, 'stopped');
  });

  it('a unit added stopped is not started', async () => {
    const { supervisor } = supervised();
    const unit = new FakeUnit();
    assert.equal((await supervisor.add('idle', unit, 'stopped')).state, 'stopped');
    assert.equal(unit.starts, 0);
  });

  it('a failing start is retried with backoff until it runs; status keeps the restarts and the last error', async () => {
    const { supervisor, states, until } = supervised();
    const unit = new FakeUnit([new Error('refused 1'), new Error('refused 2')]);
    const first = await supervisor.add('flaky', unit, 'running');
    assert.equal(first.state, 'backoff');
    assert.equal(first.lastError, 'refused 1');
    assert.ok(first.nextRestartAt);
    const running = await until('flaky', (s) => s.state === 'running');
    assert.equal(running.restarts, 2);
    assert.equal(running.lastError, 'refused 2');
    assert.ok(running.lastErrorAt);
    assert.equal(running.nextRestartAt, undefined);
    assert.equal(unit.starts, 3);
    assert.deepEqual(states('flaky'), ['starting', 'backoff', 'starting', 'backoff', 'starting', 'running']);
    await supervisor.close();
  });

  it('a unit that crashes while running is started again', async () => {
    const { supervisor, until } = supervised();
    const unit = new FakeUnit();
    await supervisor.add('crashy', unit, 'running');
    unit.runs[0].crash('lost the node');
    const again = await until('crashy', (s) => s.state === 'running' && s.restarts === 1);
    assert.equal(again.lastError, 'lost the node');
    assert.equal(supervisor.running('crashy'), 2);
    assert.equal(unit.runs[0].stops, 1, 'what was left of the crashed run is released');
    await supervisor.close();
  });

  it('a stop during the backoff cancels the restart; asked to run again, it starts at once with the count reset', async () => {
    const { supervisor } = supervised({ minMs: 3_600_000, maxMs: 3_600_000 });
    const unit = new FakeUnit([new Error('down')]);
    assert.equal((await supervisor.add('b', unit, 'running')).state, 'backoff');
    const stopped = await supervisor.setDesired('b', 'stopped');
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.nextRestartAt, undefined);
    assert.equal(stopped.lastError, 'down', 'the last error is kept');
    const running = await supervisor.setDesired('b', 'running');
    assert.equal(running.state, 'running');
    assert.equal(running.restarts, 0);
    assert.equal(unit.starts, 2);
    await supervisor.close();
  });

  it('asked to run while waiting for a restart, a unit starts at once', async () => {
    const { supervisor } = supervised({ minMs: 3_600_000, maxMs: 3_600_000 });
    const unit = new FakeUnit([new Error('down')]);
    assert.equal((await supervisor.add('c', unit, 'running')).state, 'backoff');
    assert.equal((await supervisor.setDesired('c', 'running')).state, 'running');
    assert.equal(unit.starts, 2);
    await supervisor.close();
  });

  /** Asks a unit to stop while its start waits on a gate, then lets the start end as `settle` says. */
  async function stopWhileStarting(settle: (gate: Deferred<void>) => void) {
    const { supervisor, until } = supervised();
    const gate = deferred<void>();
    const unit = new FakeUnit([gate]);
    const added = supervisor.add('slow', unit, 'running');
    await until('slow', (s) => s.state === 'starting');
    const stopping = supervisor.setDesired('slow', 'stopped');
    assert.equal(unit.signals[0].aborted, true, 'the start in progress is told to give up');
    settle(gate);
    assert.equal((await added).state, 'stopped');
    return { supervisor, unit, status: await stopping };
  }

  it('a stop asked while starting aborts the start; a start that ignores the abort is stopped once it runs', async () => {
    const { supervisor, unit, status } = await stopWhileStarting((gate) => gate.resolve());
    assert.equal(status.state, 'stopped');
    assert.equal(unit.runs[0].stops, 1, 'the run the start produced anyway is stopped');
    assert.equal(supervisor.running('slow'), undefined);
  });

  it('a start aborted by a stop that then fails leaves the unit stopped, not failed', async () => {
    const { status } = await stopWhileStarting((gate) => gate.reject(new Error('aborted')));
    assert.equal(status.state, 'stopped');
    assert.equal(status.lastError, undefined);
    assert.equal(status.restarts, 0);
  });

  it('stop then run, asked while starting, ends running', async () => {
    const { supervisor, until } = supervised();
    const gate = deferred<void>();
    const unit = new FakeUnit([gate]);
    void supervisor.add('flip', unit, 'running');
    await until('flip', (s) => s.state === 'starting');
    void supervisor.setDesired('flip', 'stopped');
    const running = supervisor.setDesired('flip', 'running');
    gate.resolve();
    assert.equal((await running).state, 'running');
    assert.equal(supervisor.running('flip'), 2);
    await supervisor.close();
  });

  it('a permanent error leaves the unit failed, without restarts, until asked to run again', async () => {
    const { supervisor } = supervised();
    const unit = new FakeUnit([new PermanentError('bad config')]);
    const failed = await supervisor.add('p', unit, 'running');
    assert.equal(failed.state, 'failed');
    assert.equal(failed.lastError, 'bad config');
    assert.equal(failed.restarts, 0);
    assert.equal(failed.nextRestartAt, undefined);
    assert.equal((await supervisor.setDesired('p', 'running')).state, 'running');
    await supervisor.close();
  });

  it('remove stops and forgets a unit; names are unique; a closed supervisor takes no new unit', async () => {
    const { supervisor } = supervised();
    const unit = new FakeUnit();
    await supervisor.add('r', unit, 'running');
    await assert.rejects(supervisor.add('r', new FakeUnit(), 'running'), UnitExistsError);
    await supervisor.remove('r');
    assert.equal(unit.runs[0].stops, 1);
    assert.equal(supervisor.has('r'), false);
    assert.equal(supervisor.status('r'), undefined);
    assert.throws(() => supervisor.setDesired('r', 'running'), UnknownUnitError);
    await supervisor.close();
    await assert.rejects(supervisor.add('late', new FakeUnit(), 'running'), /closed/);
  });

  it('a crash after close is not restarted', async () => {
    const { supervisor } = supervised();
    const unit = new FakeUnit();
    await supervisor.add('x', unit, 'running');
    const run = unit.runs[0];
    await supervisor.close();
    run.crash('late');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(unit.starts, 1);
    assert.equal(supervisor.status('x')?.state, 'stopped');
  });
});
