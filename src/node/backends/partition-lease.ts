// Leadership of one partition: a key in a JetStream KV bucket, held by the
// node that last wrote it. The holder renews it every heartbeat with a
// compare-and-set on the revision it last wrote; a node that wants the
// partition takes the key over with a compare-and-set on the revision it saw
// once that revision has stayed unchanged for a whole lease period by its own
// clock (no clock comparison between machines). Two nodes cannot both win a
// CAS on one revision, and the partition store fences appends by sequence, so
// a holder that paused past its lease cannot write even before it notices.

import type { KV } from '@nats-io/kv';
import { JetStreamApiError } from '@nats-io/jetstream';

export interface LeaseHolder {
  /** SPU id of the holding node. */
  spuId: number;
  /** `host:port` of its SPU, where clients are sent. */
  spu: string;
}

export interface LeaseTiming {
  /** How often the holder renews; 0: only when renew() is called. */
  heartbeatMs: number;
  /** How long an unchanged revision means the holder is gone. Several heartbeats. */
  leaseMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { heartbeatMs: 1000, leaseMs: 5000 };

const WRONG_LAST_SEQUENCE = 10071;

function isCasRefusal(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE;
}

export function leaseKey(topic: string, partition: number): string {
  return `${topic}.${partition}`;
}

export type LeaseState = { held: true; revision: number } | { held: false; holder: LeaseHolder | undefined };

/**
 * One node's claim on one partition. `tryAcquire` is called by the node's
 * lease loop; `lost` fires when a renewal finds the key taken over.
 */
export class PartitionLease {
  private revision: number | undefined;
  private observed: { revision: number; since: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kv: KV,
    readonly key: string,
    private readonly self: LeaseHolder,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    private readonly onLost: () => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    if (!(timing.leaseMs > 0 && timing.leaseMs >= 2 * timing.heartbeatMs)) throw new Error(`lease ${timing.leaseMs} ms must last at least two heartbeats of ${timing.heartbeatMs} ms`);
  }

  get held(): boolean {
    return this.revision !== undefined;
  }

  /**
   * Takes the lease when its holder has not renewed it for a whole lease
   * period, or when nobody holds it: at once with `takeFree` (this node is
   * the partition's preferred leader), else after a lease period, so that
   * partitions spread over the nodes. Returns who holds it afterwards.
   */
  async tryAcquire(takeFree = true): Promise<LeaseState> {
    if (this.revision !== undefined) return { held: true, revision: this.revision };
    const value = JSON.stringify(this.self);
    const entry = await this.kv.get(this.key);
    const free = !entry || entry.operation !== 'PUT';
    const holder = free ? undefined : entry.json<LeaseHolder>();
    const revision = entry?.revision ?? 0;
    if (!free || !takeFree) {
      if (this.observed?.revision !== revision) this.observed = { revision, since: this.now() };
      if (this.now() - this.observed.since < this.timing.leaseMs) return { held: false, holder };
    }
    try {
      this.revision = entry ? await this.kv.update(this.key, value, entry.revision) : await this.kv.create(this.key, value);
    } catch (err) {
      if (!isCasRefusal(err)) throw err;
      return { held: false, holder: undefined };
    }
    this.observed = undefined;
    this.startHeartbeat();
    return { held: true, revision: this.revision };
  }

  /** Renews once (the heartbeat does this by itself); false when the lease was lost. */
  async renew(): Promise<boolean> {
    if (this.revision === undefined) return false;
    try {
      this.revision = await this.kv.update(this.key, JSON.stringify(this.self), this.revision);
      return true;
    } catch (err) {
      if (!isCasRefusal(err)) return true; // NATS unreachable: keep trying until the CAS says otherwise
      this.drop();
      this.onLost();
      return false;
    }
  }

  /** Gives the lease up (a clean stop), so that another node takes it at once. */
  async release(): Promise<void> {
    const revision = this.revision;
    this.drop();
    if (revision === undefined) return;
    await this.kv.delete(this.key, { previousSeq: revision }).catch((err: unknown) => {
      if (!isCasRefusal(err)) throw err;
    });
  }

  /** Stops renewing without touching the key (as a crash would). */
  abandon(): void {
    this.drop();
  }

  private startHeartbeat(): void {
    if (this.timing.heartbeatMs === 0) return;
    this.timer = setInterval(() => void this.renew(), this.timing.heartbeatMs);
    this.timer.unref();
  }

  private drop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.revision = undefined;
  }
}
