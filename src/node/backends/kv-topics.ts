// The topic table in a KV bucket: one key per topic, its definition as JSON.
// Creation is a KV create (refused when the key exists), so two nodes
// creating the same topic at once cannot both succeed.

import type { KV } from '@nats-io/kv';
import { JetStreamApiError } from '@nats-io/jetstream';
import { TOPIC_ERROR, TopicRequestError, type TopicDefinition, type TopicPersistence } from '../../server/sc/topic-registry.js';
import { loadJsonValues } from './kv-buckets.js';

const WRONG_LAST_SEQUENCE = 10071;

export function kvTopicPersistence(kv: KV): TopicPersistence {
  return {
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
