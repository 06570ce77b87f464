// Named consumers' offsets in a KV bucket, one key per (consumer, topic,
// partition), so that a consumer resumes on whichever node it reconnects to.

import type { KV } from '@nats-io/kv';
import { MAX_STORED_CONSUMER_OFFSETS, type ConsumerOffsetBackend, type StoredOffset } from '../../server/spu/consumer-offsets.js';
import { loadJsonValues } from './kv-buckets.js';

/** Consumer ids are free text; KV keys allow [-/_=.a-zA-Z0-9], so the id goes base64url-encoded. */
function offsetKey(consumerId: string, topic: string, partition: number): string {
  return `${Buffer.from(consumerId).toString('base64url') || '_'}.${topic}.${partition}`;
}

export function kvConsumerOffsets(kv: KV): ConsumerOffsetBackend {
  let count: number | undefined;
  const stored = async () => (count ??= (await loadJsonValues<StoredOffset>(kv)).length);
  return {
    list: () => loadJsonValues<StoredOffset>(kv),
    async put(consumerId, topic, partition, offset) {
      const key = offsetKey(consumerId, topic, partition);
      const existing = await kv.get(key);
      const isNew = existing?.operation !== 'PUT';
      if (isNew && (await stored()) >= MAX_STORED_CONSUMER_OFFSETS) {
        throw new Error(`this cluster stores at most ${MAX_STORED_CONSUMER_OFFSETS} consumer offsets`);
      }
      const entry: StoredOffset = { consumerId, topic, partition, offset, modifiedTime: Math.floor(Date.now() / 1000) };
      await kv.put(key, JSON.stringify(entry));
      if (isNew && count !== undefined) count++;
    },
    async delete(consumerId, topic, partition) {
      const key = offsetKey(consumerId, topic, partition);
      const existing = await kv.get(key);
      if (existing?.operation !== 'PUT') return false;
      await kv.delete(key);
      if (count !== undefined) count--;
      return true;
    },
    async dropPartition(topic, partition) {
      for (const entry of await loadJsonValues<StoredOffset>(kv)) {
        if (entry.topic === topic && entry.partition === partition) await kv.delete(offsetKey(entry.consumerId, topic, partition));
      }
      count = undefined;
    },
  };
}
