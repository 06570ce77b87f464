import path from 'node:path';
import type { Logger } from 'pino';
import { kafka, parseBatchHeader, splitRecordSetLenient, type BatchHeader } from '../../protocol/index.js';
import { partitionKey, type ReplicaManager } from '../spu/replica-manager.js';
import { CoalescedJsonFile } from './durable-file.js';

const { KafkaError } = kafka;

/** Batches remembered per producer and partition to answer a retried one as stored (Kafka keeps five too). */
const REMEMBERED_BATCHES = 5;
const MAX_SEQUENCE = 0x7fffffff;
/** Bytes read at a time when replaying the log tail at start-up. */
const REPLAY_READ_BYTES = 1024 * 1024;

interface StoredBatch {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
}

interface PartitionSequences {
  epoch: number;
  batches: StoredBatch[];
}

interface ProducerStateFile {
  nextProducerId: number;
  /** producer id → epoch */
  epochs: Record<string, number>;
  /** `${producerId}/${topic}-${partition}` → sequences */
  sequences: Record<string, PartitionSequences>;
  /** `${topic}-${partition}` → high watermark covered by `sequences` */
  watermarks: Record<string, number>;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'refuse'; errorCode: number; message: string };

function nextSequence(sequence: number): number {
  return sequence === MAX_SEQUENCE ? 0 : sequence + 1;
}

function lastSequenceOf(header: BatchHeader): number {
  const last = header.firstSequence + header.lastOffsetDelta;
  return last > MAX_SEQUENCE ? last - MAX_SEQUENCE - 1 : last;
}

/**
 * The idempotent producer's state: producer ids handed out, each producer's
 * epoch, and per producer and partition the last batches' sequence numbers
 * (with the offsets they were stored at). Kept in `<dataDir>/kafka/producers.json`,
 * written after each idempotent append and before its answer; on start-up the
 * log beyond the file's watermarks is replayed, so an append whose state write
 * a crash cut short is still known.
 */
export class ProducerState {
  private state: ProducerStateFile = { nextProducerId: 1, epochs: {}, sequences: {}, watermarks: {} };
  private readonly file: CoalescedJsonFile<ProducerStateFile>;

  private constructor(dataDir: string) {
    this.file = new CoalescedJsonFile(path.join(dataDir, 'kafka', 'producers.json'), () => this.state);
  }

  static async open(dataDir: string, replicas: ReplicaManager, log: Logger): Promise<ProducerState> {
    const producers = new ProducerState(dataDir);
    const stored = await producers.file.read();
    if (stored) producers.state = stored;
    const replayed = await producers.replayTail(replicas);
    if (replayed > 0) {
      log.info({ batches: replayed }, 'idempotent producer state recovered from the log tail');
      await producers.file.save();
    }
    return producers;
  }

  /**
   * InitProducerId for an idempotent producer: always a new producer id at
   * epoch 0; like Kafka, the id and epoch in the request are not looked at
   * (they matter only to transactional producers).
   */
  newProducer(): { producerId: number; epoch: number } {
    const producerId = this.state.nextProducerId++;
    this.state.epochs[producerId] = 0;
    return { producerId, epoch: 0 };
  }

  /** Persists the producer ids handed out (InitProducerId answers after it). */
  save(): Promise<void> {
    return this.file.save();
  }

  /** What to do with an idempotent batch (producer_id >= 0) for this partition. */
  check(topic: string, partition: number, header: BatchHeader): SequenceCheck {
    const epoch = this.state.epochs[header.producerId];
    if (epoch === undefined) {
      return { kind: 'refuse', errorCode: KafkaError.UnknownProducerId, message: `producer id ${header.producerId} was not issued by this node` };
    }
    if (header.producerEpoch < epoch) {
      return { kind: 'refuse', errorCode: KafkaError.InvalidProducerEpoch, message: `producer epoch ${header.producerEpoch} is older than ${epoch}` };
    }
    if (header.firstSequence < 0) {
      return { kind: 'refuse', errorCode: KafkaError.OutOfOrderSequenceNumber, message: 'an idempotent batch needs a base sequence' };
    }
    const sequences = this.state.sequences[`${header.producerId}/${partitionKey(topic, partition)}`];
    if (!sequences || sequences.epoch !== header.producerEpoch) {
      if (header.firstSequence === 0) return { kind: 'append' };
      return {
        kind: 'refuse',
        errorCode: KafkaError.OutOfOrderSequenceNumber,
        message: `first batch of producer ${header.producerId} epoch ${header.producerEpoch} starts at sequence ${header.firstSequence}, expected 0`,
      };
    }
    const last = lastSequenceOf(header);
    const stored = sequences.batches.find((batch) => batch.firstSequence === header.firstSequence && batch.lastSequence === last);
    if (stored) return { kind: 'duplicate', baseOffset: stored.baseOffset };
    const expected = nextSequence(sequences.batches[sequences.batches.length - 1].lastSequence);
    if (header.firstSequence === expected) return { kind: 'append' };
    return {
      kind: 'refuse',
      errorCode: KafkaError.OutOfOrderSequenceNumber,
      message: `producer ${header.producerId} sent sequence ${header.firstSequence}, expected ${expected}`,
    };
  }

  /** Records an appended idempotent batch; call save() before answering. */
  record(topic: string, partition: number, header: BatchHeader, baseOffset: number, highWatermark: number): void {
    const key = `${header.producerId}/${partitionKey(topic, partition)}`;
    let sequences = this.state.sequences[key];
    if (!sequences || sequences.epoch !== header.producerEpoch) {
      sequences = { epoch: header.producerEpoch, batches: [] };
      this.state.sequences[key] = sequences;
    }
    if ((this.state.epochs[header.producerId] ?? -1) < header.producerEpoch) this.state.epochs[header.producerId] = header.producerEpoch;
    sequences.batches.push({ firstSequence: header.firstSequence, lastSequence: lastSequenceOf(header), baseOffset });
    if (sequences.batches.length > REMEMBERED_BATCHES) sequences.batches.shift();
    this.state.watermarks[partitionKey(topic, partition)] = highWatermark;
  }

  /** Forgets a deleted topic's partitions. */
  forgetPartition(topic: string, partition: number): void {
    const suffix = `/${partitionKey(topic, partition)}`;
    for (const key of Object.keys(this.state.sequences)) if (key.endsWith(suffix)) delete this.state.sequences[key];
    delete this.state.watermarks[partitionKey(topic, partition)];
  }

  private async replayTail(replicas: ReplicaManager): Promise<number> {
    let replayed = 0;
    for (const [key, watermark] of Object.entries(this.state.watermarks)) {
      const dash = key.lastIndexOf('-');
      const topic = key.slice(0, dash);
      const partition = Number(key.slice(dash + 1));
      const store = replicas.get(topic, partition);
      if (!store) continue;
      let offset = Math.max(watermark, store.logStartOffset());
      while (offset < store.highWatermark()) {
        const result = await store.read(offset, REPLAY_READ_BYTES);
        if (result.chunks.length === 0) break;
        for (const chunk of result.chunks) {
          for (const batch of splitRecordSetLenient(chunk)) {
            const header = parseBatchHeader(batch, 0);
            const end = header.baseOffset + header.lastOffsetDelta + 1;
            if (end <= offset) continue;
            if (header.producerId >= 0 && this.state.epochs[header.producerId] !== undefined) {
              this.record(topic, partition, header, header.baseOffset, end);
              replayed++;
            }
            offset = end;
          }
        }
      }
      this.state.watermarks[key] = store.highWatermark();
    }
    return replayed;
  }
}
