import path from 'node:path';
import { CoalescedJsonFile } from './durable-file.js';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

/**
 * Committed group offsets. The contract is small on purpose, so that a
 * replicated backend (a KV bucket) can stand in for the file.
 */
export interface GroupOffsetStore {
  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined;
  /** Every committed partition of a group: topic → partition → offset. */
  all(groupId: string): Map<string, Map<number, CommittedOffset>>;
  /** Stores the offsets; resolves once they are durable. */
  commit(groupId: string, entries: { topic: string; partition: number; committed: CommittedOffset }[]): Promise<void>;
  groups(): string[];
  /** Drops a deleted topic's offsets from every group. */
  forgetTopic(topic: string): Promise<void>;
}

type OffsetsFile = { groups: Record<string, Record<string, Record<string, CommittedOffset>>> };

/** Offsets in `<dataDir>/kafka/group-offsets.json`, rewritten atomically (coalesced) on commit. */
export class FileGroupOffsetStore implements GroupOffsetStore {
  private data: OffsetsFile = { groups: {} };
  private readonly file: CoalescedJsonFile<OffsetsFile>;

  private constructor(dataDir: string) {
    this.file = new CoalescedJsonFile(path.join(dataDir, 'kafka', 'group-offsets.json'), () => this.data);
  }

  static async open(dataDir: string): Promise<FileGroupOffsetStore> {
    const store = new FileGroupOffsetStore(dataDir);
    store.data = (await store.file.read()) ?? { groups: {} };
    return store;
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.data.groups[groupId]?.[topic]?.[String(partition)];
  }

  all(groupId: string): Map<string, Map<number, CommittedOffset>> {
    const out = new Map<string, Map<number, CommittedOffset>>();
    for (const [topic, partitions] of Object.entries(this.data.groups[groupId] ?? {})) {
      out.set(topic, new Map(Object.entries(partitions).map(([partition, committed]) => [Number(partition), committed])));
    }
    return out;
  }

  commit(groupId: string, entries: { topic: string; partition: number; committed: CommittedOffset }[]): Promise<void> {
    const group = (this.data.groups[groupId] ??= {});
    for (const entry of entries) (group[entry.topic] ??= {})[String(entry.partition)] = entry.committed;
    return this.file.save();
  }

  groups(): string[] {
    return Object.keys(this.data.groups);
  }

  forgetTopic(topic: string): Promise<void> {
    let changed = false;
    for (const group of Object.values(this.data.groups)) {
      if (group[topic]) {
        delete group[topic];
        changed = true;
      }
    }
    return changed ? this.file.save() : Promise.resolve();
  }
}
