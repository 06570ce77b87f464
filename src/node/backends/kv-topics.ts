// The topic table in a KV bucket: one key per topic, its definition as JSON.
// Creation is a KV create (refused when the key exists), so two nodes
// creating the same topic at once cannot both succeed.

import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { JetStreamApiError } from '@nats-io/jetstream';
import { TOPIC_ERROR, TopicRequestError, type TopicDefinition, type TopicPersistence } from '../../server/sc/topic-registry.js';
import { loadJsonValues } from './kv-buckets.js';

const WRONG_LAST_SEQUENCE = 10071;

export function kvTopicPersistence(kv: KV, log: Logger): TopicPersistence {
  return {
    follow(apply) {
      void (async () => {
        // From the last values on (not only updates), so that a topic made
        // between load() and now is not missed; known ones are no-ops.
        const watch = await kv.watch();
        for await (const entry of watch) {
          const change = entry.operation === 'PUT' ? { kind: 'created' as const, topic: entry.json<TopicDefinition>() } : { kind: 'deleted' as const, name: entry.key };
          await apply(change).catch((err: unknown) => log.error({ err, topic: entry.key }, 'could not apply a topic change made by another node'));
        }
      })().catch((err: unknown) => log.warn({ err }, 'topic watch ended'));
    },
    load: () => loadJsonValues<TopicDefinition>(kv),
    async save(change) {
      if (change.kind === 'deleted') {
        await kv.delete(change.topic.name);
        return;
      }
      try {
        await kv.create(change.topic.name, JSON.stringify(change.topic));
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === WRONG_LAST_SEQUENCE) {
          throw new TopicRequestError(TOPIC_ERROR.alreadyExists, `topic "${change.topic.name}" already exists`);
        }
        throw err;
      }
    },
  };
}
