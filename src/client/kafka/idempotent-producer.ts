import { kafka } from '../../protocol/index.js';
import { Partitioner } from '../partitioner.js';
import { CLIENT_KAFKA_VERSIONS, KafkaLink, KafkaLinkError } from './link.js';

const { KafkaApiKey, KafkaError, encodeKafkaBatch } = kafka;
type KafkaHeader = kafka.KafkaHeader;

export interface IdempotentProducerOptions {
  /** `host:port` of the node's Kafka listener. */
  kafkaEndpoint: string;
  clientId?: string;
  /** How long a batch waits for more records (ms). Default 5. */
  lingerMs?: number;
  /** Records per batch at most. Default 1000. */
  maxBatchRecords?: number;
  /** How long a record may take to be stored, retries included (ms). Default 30 000. */
  deliveryTimeoutMs?: number;
}

type Data = string | Uint8Array;

interface Pending {
  key: Buffer | null;
  value: Buffer;
  headers: KafkaHeader[];
  timestamp: number;
  resolve: (offset: number) => void;
  reject: (err: Error) => void;
}

interface PartitionQueue {
  records: Pending[];
  sequence: number;
  sending: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** A send the node refused (the Kafka error code says why). */
export class ProduceRefusedError extends Error {
  override name = 'ProduceRefusedError';
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const toBuffer = (data: Data): Buffer => (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength));

/**
 * `idempotent: true`: a producer whose retries never store a record twice.
 * It produces through the node's Kafka listener, which keeps the last
 * sequence numbers of each producer id and partition: a batch resent after a
 * lost answer is recognised and answered as stored. Batches of one partition
 * go one at a time, so sequences reach the node in order.
 */
export class IdempotentProducer {
  private link: KafkaLink | undefined;
  private readonly queues = new Map<number, PartitionQueue>();
  private readonly partitioner = new Partitioner();
  private closed = false;

  private constructor(
    readonly topic: string,
    private readonly partitionCount: number,
    private readonly producerId: number,
    private readonly producerEpoch: number,
    private readonly options: Required<IdempotentProducerOptions>,
    link: KafkaLink,
  ) {
    this.link = link;
  }

  static async create(topic: string, opts: IdempotentProducerOptions): Promise<IdempotentProducer> {
    const options: Required<IdempotentProducerOptions> = { clientId: 'freshet', lingerMs: 5, maxBatchRecords: 1000, deliveryTimeoutMs: 30_000, ...opts };
    const link = await KafkaLink.connect(options.kafkaEndpoint, options.clientId);
    try {
      const metadata = await link.request<{ topics: { errorCode: number; partitions: unknown[] }[] }>(KafkaApiKey.Metadata, CLIENT_KAFKA_VERSIONS.Metadata, {
        topics: [{ name: topic }],
        allowAutoTopicCreation: false,
      });
      const entry = metadata.topics[0];
      if (!entry || entry.errorCode !== KafkaError.None) throw new ProduceRefusedError(entry?.errorCode ?? KafkaError.UnknownTopicOrPartition, `topic "${topic}" not found`);
      const init = await link.request<{ errorCode: number; producerId: number; producerEpoch: number }>(KafkaApiKey.InitProducerId, CLIENT_KAFKA_VERSIONS.InitProducerId, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
      });
      if (init.errorCode !== KafkaError.None) throw new ProduceRefusedError(init.errorCode, `InitProducerId refused (error ${init.errorCode})`);
      return new IdempotentProducer(topic, entry.partitions.length, init.producerId, init.producerEpoch, options, link);
    } catch (err) {
      link.close();
      throw err;
    }
  }

  /** Resolves with the record's offset once it is stored (exactly once). */
  send(key: Data | null | undefined, value: Data, options: { partition?: number; timestamp?: number; headers?: Record<string, Data> } = {}): Promise<number> {
    if (this.closed) return Promise.reject(new Error('the producer is closed'));
    const keyBytes = key === null || key === undefined ? null : toBuffer(key);
    const partition = options.partition ?? this.partitioner.partition(keyBytes, this.partitionCount);
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      return Promise.reject(new RangeError(`partition ${partition} is not one of the ${this.partitionCount} of "${this.topic}"`));
    }
    let queue = this.queues.get(partition);
    if (!queue) {
      queue = { records: [], sequence: 0, sending: undefined, timer: undefined };
      this.queues.set(partition, queue);
    }
    const headers = Object.entries(options.headers ?? {}).map(([headerKey, headerValue]) => ({ key: headerKey, value: toBuffer(headerValue) }));
    const result = new Promise<number>((resolve, reject) =>
      queue.records.push({ key: keyBytes, value: toBuffer(value), headers, timestamp: options.timestamp ?? Date.now(), resolve, reject }),
    );
    if (queue.records.length >= this.options.maxBatchRecords) this.drain(partition, queue);
    else queue.timer ??= setTimeout(() => this.drain(partition, queue), this.options.lingerMs);
    return result;
  }

  /** Resolves once every record sent so far is stored. */
  async flush(): Promise<void> {
    for (const [partition, queue] of this.queues) {
      while (queue.records.length > 0 || queue.sending) {
        this.drain(partition, queue);
        await queue.sending;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.link?.close();
  }

  private drain(partition: number, queue: PartitionQueue): void {
    clearTimeout(queue.timer);
    queue.timer = undefined;
    if (queue.sending || queue.records.length === 0) return;
    queue.sending = this.sendBatch(partition, queue).finally(() => {
      queue.sending = undefined;
      if (queue.records.length > 0) this.drain(partition, queue);
    });
  }

  private async sendBatch(partition: number, queue: PartitionQueue): Promise<void> {
    const records = queue.records.splice(0, this.options.maxBatchRecords);
    const first = records[0].timestamp;
    const batch = encodeKafkaBatch(
      records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestampDelta: r.timestamp - first })),
      { firstTimestamp: first, producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: queue.sequence },
    );
    const deadline = Date.now() + this.options.deliveryTimeoutMs;
    let backoff = 50;
    for (;;) {
      try {
        const link = await this.connected();
        const answer = await link.request<{ responses: { partitionResponses: { errorCode: number; baseOffset: number; errorMessage: string | null }[] }[] }>(
          KafkaApiKey.Produce,
          CLIENT_KAFKA_VERSIONS.Produce,
          { transactionalId: null, acks: -1, timeoutMs: 15_000, topicData: [{ name: this.topic, partitionData: [{ index: partition, records: batch }] }] },
        );
        const { errorCode, baseOffset, errorMessage } = answer.responses[0].partitionResponses[0];
        if (errorCode !== KafkaError.None) {
          const err = new ProduceRefusedError(errorCode, errorMessage ?? `produce refused with Kafka error ${errorCode}`);
          for (const record of records) record.reject(err);
          return;
        }
        queue.sequence = (queue.sequence + records.length) % 0x80000000;
        records.forEach((record, i) => record.resolve(baseOffset + i));
        return;
      } catch (err) {
        if (!(err instanceof KafkaLinkError) || Date.now() + backoff > deadline) {
          for (const record of records) record.reject(err as Error);
          return;
        }
        // The answer was lost, not necessarily the batch: resend it as it was (same sequence).
        this.link = undefined;
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  }

  private async connected(): Promise<KafkaLink> {
    if (!this.link || this.link.isClosed) this.link = await KafkaLink.connect(this.options.kafkaEndpoint, this.options.clientId);
    return this.link;
  }
}
