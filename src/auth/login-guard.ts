// Failed logins slow their source down: after a few failures from one peer
// address (or against one user name), further attempts are refused until a
// lockout passes, doubling with each failure up to a maximum. The tables are
// bounded: the oldest entries go first, so thousands of failed logins from
// thousands of addresses cost a fixed amount of memory.

export interface LoginGuardLimits {
  /** Failures allowed before lockouts start. */
  freeFailures: number;
  /** First lockout; doubles with each further failure. */
  baseLockoutMs: number;
  maxLockoutMs: number;
  /** Entries kept per table (peer addresses, user names). */
  maxEntries: number;
}

export const DEFAULT_LOGIN_GUARD_LIMITS: LoginGuardLimits = {
  freeFailures: 5,
  baseLockoutMs: 1_000,
  maxLockoutMs: 60_000,
  maxEntries: 10_000,
};

interface Failures {
  count: number;
  lockedUntil: number;
}

class BoundedFailures {
  private readonly entries = new Map<string, Failures>();
  constructor(private readonly limits: LoginGuardLimits) {}

  lockedFor(key: string, now: number): number {
    const entry = this.entries.get(key);
    return entry ? Math.max(0, entry.lockedUntil - now) : 0;
  }

  fail(key: string, now: number): void {
    const entry = this.entries.get(key) ?? { count: 0, lockedUntil: 0 };
    this.entries.delete(key);
    entry.count++;
    const over = entry.count - this.limits.freeFailures;
    if (over > 0) entry.lockedUntil = now + Math.min(this.limits.maxLockoutMs, this.limits.baseLockoutMs * 2 ** Math.min(over - 1, 30));
    this.entries.set(key, entry);
    if (this.entries.size > this.limits.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

export class LoginGuard {
  private readonly peers: BoundedFailures;
  private readonly users: BoundedFailures;
  /** Attempts refused because of a lockout. */
  refused = 0;
  failed = 0;

  constructor(
    limits: Partial<LoginGuardLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    const resolved = { ...DEFAULT_LOGIN_GUARD_LIMITS, ...limits };
    this.peers = new BoundedFailures(resolved);
    this.users = new BoundedFailures(resolved);
  }

  /** Milliseconds this attempt must wait before it may be tried (0: go ahead). */
  lockedFor(peerAddress: string, user: string): number {
    const now = this.now();
    const wait = Math.max(this.peers.lockedFor(peerAddress, now), this.users.lockedFor(user, now));
    if (wait > 0) this.refused++;
    return wait;
  }

  failure(peerAddress: string, user: string): void {
    const now = this.now();
    this.failed++;
    this.peers.fail(peerAddress, now);
    this.users.fail(user, now);
  }

  success(peerAddress: string, user: string): void {
    this.peers.succeed(peerAddress);
    this.users.succeed(user);
  }

  /** Entries held (for tests and metrics: bounded by maxEntries per table). */
  get entries(): number {
    return this.peers.size + this.users.size;
  }
}
