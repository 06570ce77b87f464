// Topic deduplication, as Fluvio's SPU does it: a topic created with a
// deduplication section runs its filter SmartModule (by default the built-in
// fluvio/dedup-bloom-filter) over every produced batch before it is stored.
// The filter gets the bounds as params (`count`, `age` in ms, plus the
// topic's `with` entries) and a look-back of the same bounds, so its window
// is seeded from the partition's stored records when the chain starts. One
// long-lived chain per partition holds the window between requests; it ends
// with the partition.

import type { SmartModuleInvocation } from '../../protocol/index.js';
import type { SmartChain } from '../../smartengine/index.js';
import type { PartitionStore } from '../../storage/index.js';
import type { TopicDeduplication } from '../sc/topic-registry.js';
import { partitionKey, type ReplicaManager } from './replica-manager.js';
import type { SmartModuleService } from './smartmodules.js';

/** The filter invocation of a topic's deduplication section. */
export function dedupInvocation(dedup: TopicDeduplication): SmartModuleInvocation {
  const params = new Map(Object.entries(dedup.params ?? {}));
  params.set('count', String(dedup.count));
  if (dedup.ageMs !== undefined) params.set('age', String(dedup.ageMs));
  const age = dedup.ageMs === undefined ? undefined : { seconds: Math.floor(dedup.ageMs / 1000), nanos: (dedup.ageMs % 1000) * 1e6 };
  return {
    wasm: { type: 'Predefined', name: dedup.filter },
    kind: { type: 'Filter' },
    params: { params, lookback: { last: dedup.count, ...(age ? { age } : {}) } },
  };
}

export class DedupFilters {
  private readonly chains = new Map<string, Promise<SmartChain>>();

  constructor(
    private readonly service: SmartModuleService,
    replicas: ReplicaManager,
  ) {
    replicas.on('removed', (topic, partition) => this.close(partitionKey(topic, partition)));
  }

  /**
   * The running filter of a partition (started, with its look-back, on first
   * use). Throws SmartModuleError when it cannot start; the next call tries again.
   */
  chainFor(dedup: TopicDeduplication, store: PartitionStore, version: number): Promise<SmartChain> {
    const key = partitionKey(store.topic, store.partition);
    let chain = this.chains.get(key);
    if (!chain) {
      chain = this.service.startChain([dedupInvocation(dedup)], version, store);
      this.chains.set(key, chain);
      chain.catch(() => {
        if (this.chains.get(key) === chain) this.chains.delete(key);
      });
    }
    return chain;
  }

  /** Drops a partition's chain (it failed, or the partition is gone): the next batch starts a new one. */
  close(key: string): void {
    const chain = this.chains.get(key);
    this.chains.delete(key);
    chain?.then((c) => c.close()).catch(() => undefined);
  }
}
