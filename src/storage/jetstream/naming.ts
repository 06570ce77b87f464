/**
 * Where a partition lives in JetStream. Topic names are DNS-label-like
 * (lowercase letters, digits, '-'), so '_' and '.' separate unambiguously.
 */
export const DEFAULT_NAMESPACE = 'FRESHET';

export function partitionStreamName(namespace: string, topic: string, partition: number): string {
  return `${namespace}_P_${topic}_${partition}`;
}

export function partitionSubject(namespace: string, topic: string, partition: number): string {
  return `${namespace.toLowerCase()}.partition.${topic}.${partition}`;
}

/** Headers each stored batch carries, so the index is built from headers alone. */
export const HEADER = {
  baseOffset: 'Freshet-Base-Offset',
  nextOffset: 'Freshet-Next-Offset',
  /** Set by the server on headers-only deliveries: the payload's size. */
  size: 'Nats-Msg-Size',
  msgId: 'Nats-Msg-Id',
} as const;
