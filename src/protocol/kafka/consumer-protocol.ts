// The "consumer" protocol type's payloads, opaque to the group coordinator
// but read by `freshet consumer-group describe` and written by our client:
//
//   Subscription (JoinGroup protocol metadata)
//     version     i16
//     topics      [string]
//     user_data   bytes?
//     owned_partitions [topic string, partitions [i32]]   v1+
//   Assignment (SyncGroup)
//     version     i16
//     assigned    [topic string, partitions [i32]]
//     user_data   bytes?
//
// Classic (non-flexible) encodings throughout. An empty assignment (zero
// bytes) means no partitions.

import { KafkaReader, KafkaWriter } from './codec.js';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export function encodeSubscription(topics: readonly string[]): Buffer {
  const w = new KafkaWriter();
  w.i16(0).i32(topics.length);
  for (const topic of topics) w.kafkaString(topic, false);
  w.kafkaBytes(null, false);
  return Buffer.from(w.finish());
}

export function decodeSubscription(data: Buffer): string[] {
  if (data.length === 0) return [];
  const r = new KafkaReader(data);
  r.i16('subscription version');
  const count = r.arrayCount(false, 'subscription topics', 2);
  const topics: string[] = [];
  for (let i = 0; i < count; i++) topics.push(r.kafkaString(false, 'subscription topic') ?? '');
  return topics;
}

export function encodeAssignment(assigned: readonly TopicPartitions[]): Buffer {
  const w = new KafkaWriter();
  w.i16(0).i32(assigned.length);
  for (const entry of assigned) {
    w.kafkaString(entry.topic, false).i32(entry.partitions.length);
    for (const partition of entry.partitions) w.i32(partition);
  }
  w.kafkaBytes(null, false);
  return Buffer.from(w.finish());
}

export function decodeAssignment(data: Buffer): TopicPartitions[] {
  if (data.length === 0) return [];
  const r = new KafkaReader(data);
  r.i16('assignment version');
  const count = r.arrayCount(false, 'assignment topics', 6);
  const assigned: TopicPartitions[] = [];
  for (let i = 0; i < count; i++) {
    const topic = r.kafkaString(false, 'assignment topic') ?? '';
    const partitionCount = r.arrayCount(false, 'assignment partitions', 4);
    const partitions: number[] = [];
    for (let p = 0; p < partitionCount; p++) partitions.push(r.i32('assigned partition'));
    assigned.push({ topic, partitions });
  }
  return assigned;
}
