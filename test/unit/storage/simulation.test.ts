/**
 * Seeded simulation of one partition, in TigerBeetle's spirit: a PRNG drives
 * appends (varied batch sizes and record counts, several in flight), reads at
 * random offsets, retention runs, clean restarts and crashes at storage's
 * mutation hooks, and every outcome is checked against an in-memory model of
 * what was acknowledged.
 *
 * A crash kills the store at one mutation (a write is torn at a random byte);
 * nothing after it reaches the disk. With flush 'always' a crash may also be a
 * power loss: each log file then loses a random part of what was written after
 * its last fsync. After reopening, every acknowledged batch must read back
 * byte for byte at its offsets; past them, only whole batches of appends in
 * flight at the crash may appear, in order; offsets continue from there.
 *
 * Prints `seed=…`; FRESHET_SIM_SEED=… replays a run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import type { FilePartitionStore, FlushPolicy, StorageConfig, StorageHooks, StorageMutation } from '../../../src/storage/index.js';
import { baseOffsetOf, lastOffsetOf, makeBatch, openStore, partitionDir, removeDir } from './helpers.js';

const seed = process.env.FRESHET_SIM_SEED !== undefined ? Number(process.env.FRESHET_SIM_SEED) : Math.floor(Math.random() * 2 ** 31);
assert.ok(Number.isSafeInteger(seed), `FRESHET_SIM_SEED must be an integer, got ${process.env.FRESHET_SIM_SEED}`);
console.log(`seed=${seed}`);

/** Random steps per flush policy in the random phase. */
const RANDOM_STEPS = 2000;
/** Every crash kind the runs must have injected at least once. */
const REQUIRED_CRASH_KINDS: ReadonlyArray<StorageMutation['kind']> = ['write', 'write-file', 'fsync', 'truncate', 'unlink', 'create'];

/**
 * The injector models what fsync makes durable, so the disk's own fsync adds
 * only time: runs go to memory (/dev/shm) where there is one.
 */
async function simDir(): Promise<string> {
  const shm = '/dev/shm';
  const base = await fs.access(shm, fs.constants.W_OK).then(() => shm, () => os.tmpdir());
  return fs.mkdtemp(path.join(base, 'freshet-sim-'));
}

/** splitmix32: small, fast, and the same sequence for the same seed everywhere. */
class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

class Crash extends Error {
  override name = 'Crash';
}

/**
 * The hooks that kill the store at its n-th mutation, and remember how much
 * of each log file an fsync made durable (what a power loss keeps).
 */
class CrashInjector {
  private seen = 0;
  private crashAt = Infinity;
  private tornBytes: number | undefined;
  dead = false;
  crashedAt: StorageMutation | undefined;
  readonly durableSize = new Map<string, number>();
  readonly crashedKinds = new Set<StorageMutation['kind']>();

  constructor(private readonly rng: Rng) {}

  private paused = false;

  readonly hooks: StorageHooks = {
    beforeMutation: async (op) => {
      if (this.dead) throw new Crash(`store is dead (after a crash at ${this.crashedAt?.kind})`);
      if (this.paused) return;
      this.seen++;
      if (this.seen === this.crashAt) {
        this.dead = true;
        this.crashedAt = op;
        this.crashedKinds.add(op.kind);
        if (op.kind === 'write' && op.bytes > 0) {
          this.tornBytes = this.rng.int(0, op.bytes - 1);
          return; // beforeWrite tears it
        }
        if (op.kind === 'write-file' && this.rng.chance(0.5)) {
          // Died between open(O_TRUNC) and the write.
          await fs.truncate(op.path, 0).catch(() => undefined);
        }
        throw new Crash(`crash at ${op.kind} ${path.basename(op.path)}`);
      }
      if (!op.path.endsWith('.log')) return;
      if (op.kind === 'fsync') this.durableSize.set(op.path, (await fs.stat(op.path)).size);
      else if (op.kind === 'create' || op.kind === 'unlink') this.durableSize.delete(op.path);
      else if (op.kind === 'truncate') this.durableSize.set(op.path, Math.min(this.durableSize.get(op.path) ?? 0, op.length));
    },
    beforeWrite: () => {
      const torn = this.tornBytes;
      this.tornBytes = undefined;
      return torn;
    },
  };

  /** Runs `fn` with no crash injected (its mutations are not counted). */
  async withoutCrashes<T>(fn: () => Promise<T>): Promise<T> {
    this.paused = true;
    try {
      return await fn();
    } finally {
      this.paused = false;
    }
  }

  /** Mutations seen so far. */
  get count(): number {
    return this.seen;
  }

  /** Crash at the mutation `after` mutations from now. */
  arm(after: number): void {
    this.crashAt = this.seen + after;
  }

  disarm(): void {
    this.crashAt = Infinity;
    this.dead = false;
    this.crashedAt = undefined;
    this.tornBytes = undefined;
  }

  get armed(): boolean {
    return this.crashAt !== Infinity;
  }

  /**
   * What survives a power loss: each log file keeps what an fsync made
   * durable; of the rest, it keeps a random prefix, or all of it with a random
   * range zeroed (pages written back out of order).
   */
  async losePower(dir: string): Promise<void> {
    // Sorted: the PRNG must be drawn in the same order on every replay.
    for (const name of (await fs.readdir(dir)).sort()) {
      if (!name.endsWith('.log')) continue;
      const file = path.join(dir, name);
      const size = (await fs.stat(file)).size;
      const durable = Math.min(this.durableSize.get(file) ?? 0, size);
      if (size === durable) continue;
      if (this.rng.chance(0.6)) {
        await fs.truncate(file, this.rng.int(durable, size));
        continue;
      }
      const from = this.rng.int(durable, size - 1);
      const zeros = Buffer.alloc(this.rng.int(1, size - from));
      const fh = await fs.open(file, 'r+');
      try {
        await fh.write(zeros, 0, zeros.length, from);
      } finally {
        await fh.close();
      }
    }
  }

}

interface StoredBatch {
  base: number;
  last: number;
  bytes: Buffer;
}

/** One simulated partition: the store, the injector, and the model of what it acknowledged. */
class Simulation {
  private store: FilePartitionStore | undefined;
  readonly injector: CrashInjector;
  /** Every acknowledged batch still expected to be stored, by offset order. */
  private model: StoredBatch[] = [];
  /** Where the model starts (moves with retention). */
  private modelStart = 0;
  /** Batches of appends that had not settled successfully when the store died, in append order. */
  private inFlight: Buffer[] = [];
  private clock = 1_000_000;
  private retentionRunning = false;
  crashes = 0;
  restarts = 0;

  constructor(
    private readonly rng: Rng,
    private readonly dataDir: string,
    private readonly config: Partial<StorageConfig>,
    private readonly powerLoss: boolean,
  ) {
    this.injector = new CrashInjector(rng);
  }

  private get open(): FilePartitionStore {
    assert.ok(this.store !== undefined, 'store is open');
    return this.store;
  }

  private get modelEnd(): number {
    return this.model.length === 0 ? this.modelStart : this.model[this.model.length - 1].last + 1;
  }

  /** Opens the store; a crash while opening is recovered from by opening again. */
  async start(): Promise<void> {
    for (;;) {
      try {
        this.store = await openStore(this.dataDir, this.config, { hooks: this.injector.hooks });
        return;
      } catch (err) {
        if (!this.injector.dead) throw err;
        this.crashes++;
        if (this.powerLoss && this.rng.chance(0.5)) await this.injector.losePower(partitionDir(this.dataDir));
        this.injector.disarm();
      }
    }
  }

  /** One random step. */
  async step(): Promise<void> {
    if (!this.injector.armed && this.rng.chance(0.1)) this.injector.arm(this.rng.int(1, 30));
    const roll = this.rng.next();
    if (roll < 0.6) await this.guarded(() => this.appendSome());
    else if (roll < 0.85) await this.guarded(() => this.readSome());
    else if (roll < 0.95) await this.guarded(() => this.retention(-this.rng.int(0, 3000)));
    else await this.guarded(() => this.restart());
  }

  /** Runs one action; when the store died in it, recovers and verifies. */
  async guarded(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      if (!this.injector.dead) throw err;
    }
    if (this.injector.dead) await this.afterCrash();
  }

  async appendSome(): Promise<void> {
    const calls = this.rng.int(1, 4);
    const sent: Buffer[][] = [];
    const settled: Array<Promise<PromiseSettledResult<unknown>>> = [];
    for (let c = 0; c < calls; c++) {
      const batches: Buffer[] = [];
      for (let b = this.rng.int(1, 3); b > 0; b--) {
        this.clock += this.rng.int(0, 40);
        batches.push(
          makeBatch({
            records: this.rng.int(1, 6),
            payloadBytes: this.rng.chance(0.1) ? this.rng.int(1500, 3000) : this.rng.int(4, 400),
            timestamp: this.clock,
            fill: this.rng.int(0, 255),
          }),
        );
      }
      sent.push(batches);
      const p = this.open.append(batches);
      settled.push(p.then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const));
    }
    const outcomes = await Promise.all(settled);
    let failedFrom = outcomes.length;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      if (outcome.status === 'rejected') {
        if (!this.injector.dead) throw outcome.reason;
        failedFrom = Math.min(failedFrom, i);
        continue;
      }
      assert.ok(i < failedFrom, 'appends are acknowledged in order: none after a failed one');
      const { baseOffset, lastOffset } = outcome.value as { baseOffset: number; lastOffset: number };
      assert.equal(baseOffset, this.modelEnd, 'offsets continue from the last acknowledged one');
      for (const batch of sent[i]) this.acknowledge(Buffer.from(batch));
      assert.equal(lastOffset, this.modelEnd - 1);
    }
    for (let i = failedFrom; i < sent.length; i++) this.inFlight.push(...sent[i].map((b) => Buffer.from(b)));
  }

  private acknowledge(bytes: Buffer): void {
    assert.equal(baseOffsetOf(bytes), this.modelEnd, 'acknowledged batch starts where the model ends');
    this.model.push({ base: baseOffsetOf(bytes), last: lastOffsetOf(bytes), bytes });
  }

  async readSome(): Promise<void> {
    const store = this.open;
    const lso = store.logStartOffset();
    const hw = store.highWatermark();
    assert.equal(hw, this.modelEnd, 'high watermark = end of what was acknowledged');
    assert.equal(lso, this.modelStart, 'log start = start of the model');
    const offset = this.rng.int(lso, hw);
    const maxBytes = this.rng.int(1, 8000);
    const r = await store.read(offset, maxBytes);
    assert.equal(r.highWatermark, hw);
    if (offset === hw) {
      assert.equal(r.chunks.length, 0);
      return;
    }
    assert.ok(r.chunks.length >= 1, 'a read below the high watermark returns a batch');
    let i = this.model.findIndex((b) => b.base <= offset && offset <= b.last);
    assert.ok(i >= 0, `offset ${offset} is in the model`);
    let bytes = 0;
    for (const chunk of r.chunks) {
      assert.ok(i < this.model.length, 'read returned no more batches than acknowledged');
      assert.deepEqual(chunk, this.model[i].bytes, `batch at ${this.model[i].base} reads back byte for byte`);
      bytes += chunk.length;
      i++;
    }
    assert.equal(r.bytes, bytes);
    assert.ok(r.chunks.length === 1 || bytes <= maxBytes, 'more than one batch only within maxBytes');
  }

  /** A retention pass at the simulated clock + `shift` ms. */
  async retention(shift: number): Promise<void> {
    this.retentionRunning = true;
    await this.open.enforceRetention(this.clock + shift);
    // A crash in the pass (a file it could not unlink is only logged) may bring removed segments back.
    if (this.injector.dead) return;
    this.retentionRunning = false;
    this.dropModelBelow(this.open.logStartOffset());
  }

  private dropModelBelow(start: number): void {
    assert.ok(start >= this.modelStart, `log start ${start} does not move back from ${this.modelStart}`);
    if (start === this.modelStart) return;
    const keep = this.model.findIndex((b) => b.base === start);
    assert.ok(keep >= 0 || start === this.modelEnd, `log start ${start} is a batch boundary`);
    this.model = keep < 0 ? [] : this.model.slice(keep);
    this.modelStart = start;
  }

  async restart(): Promise<void> {
    await this.open.close();
    this.store = undefined;
    this.restarts++;
    await this.start();
    await this.verifyRecovered(false);
  }

  /** The store died: close what is left of it, maybe lose power, reopen (maybe crashing again) and verify. */
  private async afterCrash(): Promise<void> {
    this.crashes++;
    await this.store?.close().catch(() => undefined);
    this.store = undefined;
    if (this.powerLoss && this.rng.chance(0.5)) await this.injector.losePower(partitionDir(this.dataDir));
    const duringRetention = this.retentionRunning;
    this.retentionRunning = false;
    this.injector.disarm();
    if (this.rng.chance(0.25)) this.injector.arm(this.rng.int(1, 4));
    await this.start();
    this.injector.disarm();
    await this.verifyRecovered(duringRetention);
  }

  /** After reopening: every acknowledged batch is there byte for byte; past them only whole in-flight batches. */
  private verifyRecovered(retentionInterrupted: boolean): Promise<void> {
    return this.injector.withoutCrashes(() => this.compareWithModel(retentionInterrupted));
  }

  private async compareWithModel(retentionInterrupted: boolean): Promise<void> {
    const store = this.open;
    const lso = store.logStartOffset();
    // Segments an interrupted retention pass removed may be gone or back: either way the log starts at a batch.
    if (retentionInterrupted) this.dropModelBelow(lso);
    assert.equal(lso, this.modelStart, 'log start after reopening');
    const stored: Buffer[] = [];
    let offset = lso;
    while (offset < store.highWatermark()) {
      const r = await store.read(offset, this.rng.int(1, 20_000));
      stored.push(...r.chunks);
      offset = lastOffsetOf(r.chunks[r.chunks.length - 1]) + 1;
    }
    assert.ok(stored.length >= this.model.length, `${stored.length} batches stored, ${this.model.length} acknowledged`);
    for (let i = 0; i < this.model.length; i++) {
      assert.deepEqual(stored[i], this.model[i].bytes, `acknowledged batch at ${this.model[i].base} survives byte for byte`);
    }
    const extra = stored.slice(this.model.length);
    assert.ok(extra.length <= this.inFlight.length, `${extra.length} unacknowledged batches appeared, ${this.inFlight.length} were in flight`);
    for (let i = 0; i < extra.length; i++) {
      assert.equal(baseOffsetOf(extra[i]), this.modelEnd, 'a recovered unacknowledged batch continues the offsets');
      assert.deepEqual(extra[i].subarray(8), this.inFlight[i].subarray(8), 'a recovered unacknowledged batch is one that was in flight, whole');
      this.acknowledge(Buffer.from(extra[i]));
    }
    this.inFlight = [];
    assert.equal(store.highWatermark(), this.modelEnd, 'offsets continue after the last stored batch');
  }

  /** A last clean restart and check, then close. */
  async finish(): Promise<void> {
    this.injector.disarm();
    await this.restart();
    await this.open.close();
    this.store = undefined;
  }
}

function configFor(rng: Rng, flush: FlushPolicy): Partial<StorageConfig> {
  const segmentSize = rng.int(2, 12) * 1024;
  return {
    flush,
    segmentSize,
    indexIntervalBytes: rng.int(0, 1024),
    maxOpenSegments: rng.int(1, 3),
    retentionMs: 5_000,
    maxPartitionSize: segmentSize * rng.int(2, 8),
  };
}

/** The fixed scenario every crash point of the exhaustive phase runs through (a crash in it is recovered from, then it goes on). */
async function scenario(sim: Simulation): Promise<void> {
  for (let i = 0; i < 7; i++) await sim.guarded(() => sim.appendSome());
  await sim.guarded(() => sim.readSome());
  await sim.guarded(() => sim.retention(6_000));
  await sim.guarded(() => sim.appendSome());
  await sim.guarded(() => sim.restart());
  await sim.guarded(() => sim.appendSome());
}

function exhaustiveConfig(): Partial<StorageConfig> {
  return { ...configFor(new Rng(seed), { kind: 'always' }), segmentSize: 2048 };
}

describe(`storage simulation (seed=${seed})`, () => {
  const allCrashKinds = new Set<StorageMutation['kind']>();

  it('crashes at every mutation of a fixed scenario (every other one losing power too) lose no acknowledged batch', async (t) => {
    // A dry run counts the scenario's mutations.
    const dryDir = await simDir();
    const dry = new Simulation(new Rng(seed), dryDir, exhaustiveConfig(), false);
    await dry.start();
    await scenario(dry);
    const points = dry.injector.count;
    t.diagnostic(`${points} mutations, a crash at each`);
    await dry.finish();
    await removeDir(dryDir);
    for (let point = 1; point <= points; point++) {
      const powerLoss = point % 2 === 0;
      const dir = await simDir();
      try {
        const sim = new Simulation(new Rng(seed), dir, exhaustiveConfig(), powerLoss);
        sim.injector.arm(point);
        await sim.start();
        await scenario(sim);
        assert.ok(sim.crashes >= 1, `the crash at mutation ${point} happened`);
        for (const kind of sim.injector.crashedKinds) allCrashKinds.add(kind);
        await sim.finish();
      } catch (err) {
        throw new Error(`crash point ${point} of ${points} (power loss: ${powerLoss}, seed=${seed}): ${String(err)}`, { cause: err });
      } finally {
        await removeDir(dir);
      }
    }
  });

  for (const flush of [{ kind: 'always' }, { kind: 'os' }] as FlushPolicy[]) {
    it(`random appends, reads, retention, restarts and crashes under flush '${flush.kind}' match the model`, async (t) => {
      const rng = new Rng(seed ^ (flush.kind === 'always' ? 0x5eed : 0xf00d));
      const dir = await simDir();
      const sim = new Simulation(rng, dir, configFor(rng, flush), flush.kind === 'always');
      let step = 0;
      try {
        await sim.start();
        for (; step < RANDOM_STEPS; step++) await sim.step();
        await sim.finish();
      } catch (err) {
        throw new Error(`step ${step} (seed=${seed}): ${String(err)}`, { cause: err });
      } finally {
        await removeDir(dir);
      }
      for (const kind of sim.injector.crashedKinds) allCrashKinds.add(kind);
      t.diagnostic(`${RANDOM_STEPS} steps, ${sim.crashes} crashes, ${sim.restarts} clean restarts, ${sim.injector.count} mutations`);
      assert.ok(sim.crashes >= 20, `${sim.crashes} crashes injected`);
      assert.ok(sim.restarts >= 10, `${sim.restarts} clean restarts`);
    });
  }

  it('injected a crash at every kind of mutation', () => {
    for (const kind of REQUIRED_CRASH_KINDS) assert.ok(allCrashKinds.has(kind), `a crash at a '${kind}' was injected`);
  });
});
