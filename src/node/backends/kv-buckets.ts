// The node's KV buckets on JetStream. Each is created as R3 when the NATS
// cluster has three servers, else R1 (a single server refuses replicas).

import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { REPLICAS_REFUSED, type JetStreamBackend } from '../../storage/jetstream/index.js';

export function bucketName(namespace: string, purpose: string): string {
  return `${namespace}_${purpose}`;
}

export async function openBucket(backend: JetStreamBackend, name: string, log: Logger, options: Partial<KvOptions> = {}): Promise<KV> {
  const kvm = new Kvm(backend.js);
  try {
    return await kvm.create(name, { history: 1, ...options, replicas: 3 });
  } catch (err) {
    if (!(err instanceof JetStreamApiError && REPLICAS_REFUSED.includes(err.code))) throw err;
    log.warn({ bucket: name, reason: err.message }, 'KV bucket with one replica: the NATS cluster has fewer than three servers');
    return kvm.create(name, { history: 1, ...options, replicas: 1 });
  }
}

/** Every value in a bucket, decoded as JSON. */
export async function loadJsonValues<T>(kv: KV): Promise<T[]> {
  const values: T[] = [];
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry && entry.operation === 'PUT') values.push(entry.json<T>());
  }
  return values;
}
