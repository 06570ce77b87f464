// The Freshet nodes sharing one NATS cluster: each node keeps a key in a KV
// bucket whose entries expire (the bucket's max age), rewriting it every
// heartbeat, so the keys present are the live nodes and their SPU addresses.
// A watch on the bucket adds a joining node and drops a cleanly stopped one
// at once; a crashed node drops out when its entry expires.

import type { KV } from '@nats-io/kv';
import type { SpuIdentity } from '../../server/sc/objects.js';
import type { LeaseHolder } from './partition-lease.js';

function nodeKey(spuId: number): string {
  return `spu-${spuId}`;
}

function address(spu: SpuIdentity): string {
  return `${spu.host}:${spu.port}`;
}

export class NodeMembership {
  private known = new Map<number, SpuIdentity>();
  private timer: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    readonly self: SpuIdentity,
    private readonly heartbeatMs: number,
    /** How long a silent node's entry lives (the bucket's max age). */
    private readonly expiryMs: number,
  ) {
    this.known.set(self.id, self);
  }

  get holder(): LeaseHolder {
    return { spuId: this.self.id, spu: address(this.self) };
  }

  /** Registers this node; refuses an SPU id another live node uses. */
  async start(): Promise<void> {
    const existing = await this.kv.get(nodeKey(this.self.id));
    if (existing?.operation === 'PUT') {
      const other = existing.json<SpuIdentity>();
      if (address(other) !== address(this.self)) {
        throw new Error(
          `SPU id ${this.self.id} is already used by the node at ${address(other)}: give each node its own --spu-id (or wait ${Math.ceil(this.expiryMs / 1000)} s if that node is gone)`,
        );
      }
    }
    await this.beat();
    const watch = await this.kv.watch();
    this.stopWatch = () => watch.stop();
    void (async () => {
      for await (const entry of watch) {
        const id = Number(entry.key.slice('spu-'.length));
        if (entry.operation === 'PUT') this.known.set(id, entry.json<SpuIdentity>());
        else if (id !== this.self.id) this.known.delete(id);
      }
    })().catch(() => {});
    this.timer = setInterval(() => void this.beat().catch(() => {}), this.heartbeatMs);
    this.timer.unref();
  }

  /** The live nodes, by SPU id (this one always among them). */
  live(): SpuIdentity[] {
    return [...this.known.values()].sort((a, b) => a.id - b.id);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopWatch?.();
    await this.kv.delete(nodeKey(this.self.id)).catch(() => {});
  }

  private async beat(): Promise<void> {
    await this.kv.put(nodeKey(this.self.id), JSON.stringify(this.self));
    const known = new Map<number, SpuIdentity>([[this.self.id, this.self]]);
    for await (const key of await this.kv.keys()) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') {
        const spu = entry.json<SpuIdentity>();
        known.set(spu.id, spu);
      }
    }
    this.known = known;
  }
}
