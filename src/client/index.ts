// Freshet's pure-TypeScript client: admin, producer, consumer, stored
// consumer offsets, speaking Fluvio's protocol (see README "Client library").
//
//   const freshet = await Freshet.connect();                 // endpoint / FRESHET_ENDPOINT / profile / 127.0.0.1:9003
//   await freshet.admin.createTopic('events', { partitions: 3 });
//   const producer = await freshet.producer('events');
//   const offset = await producer.send('user-1', '{"clicked":"buy"}');
//   for await (const record of await freshet.consumer('events', { offset: 'beginning' })) { ... }

import { Admin } from './admin.js';
import { registerSyncCodecs } from '../protocol/index.js';
import { formatAddress, Link, parseEndpoint, type Address, type LinkOptions } from './connection.js';
import type { ClientContext } from './context.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { MetadataClient } from './metadata.js';
import { deleteConsumerOffset, listConsumerOffsets, type ConsumerOffsetFilter, type StoredConsumerOffset } from './offsets.js';
import { Producer, type ProducerOptions } from './producer.js';
import { resolveEndpoint } from './profile.js';
import { tlsFromEnv, type ClientTlsOptions } from './tls.js';
import { IdempotentProducer, type IdempotentProducerOptions } from './kafka/idempotent-producer.js';
import { defaultKafkaEndpoint } from './kafka/link.js';
import { GroupConsumer, type GroupConsumerOptions } from './kafka/group-consumer.js';
import { describeConsumerGroup, listConsumerGroups, type GroupDetails, type GroupListing } from './kafka/groups.js';

export interface ConnectOptions {
  /** `host:port` of the SC. Default: FRESHET_ENDPOINT, else the profile file, else 127.0.0.1:9003. */
  endpoint?: string;
  /** A profile of the profile file (default: its current_profile). */
  profile?: string;
  /** The profile file (default: FRESHET_PROFILE_PATH, else ~/.freshet/config). */
  profilePath?: string;
  /** Sent in every request header. Default "freshet". */
  clientId?: string;
  /** Deadline of one request (ms); on expiry its connection is dropped. Default 30 000. */
  requestTimeoutMs?: number;
  /** Default 10 000. */
  connectTimeoutMs?: number;
  /** `host:port` of the node's Kafka listener, for idempotent producers and consumer groups. Default FRESHET_KAFKA_ENDPOINT, else the SC's host on port 9092. */
  kafkaEndpoint?: string;
  /** How long metadata and other idempotent requests retry across reconnects (ms). Default 10 000. */
  retryTimeoutMs?: number;
  /**
   * TLS to the SC and the SPUs. Default: the profile's `[cluster.X.tls]`
   * when the endpoint comes from a profile, else FRESHET_TLS_* (see tls.ts),
   * else plain TCP.
   */
  tls?: ClientTlsOptions;
}

export class Freshet {
  /** Topic administration. */
  readonly admin: Admin;
  private readonly context: ClientContext;
  private readonly spuLinks = new Map<string, Link>();
  private readonly producers = new Set<Producer>();
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  private constructor(
    private readonly sc: Link,
    private readonly linkOptions: LinkOptions,
    /** The Fluvio platform version the SC reports. */
    readonly platformVersion: string,
  ) {
    const metadata = new MetadataClient(sc);
    const isClosed = () => this.closed;
    this.context = {
      sc,
      metadata,
      linkOptions,
      spuLink: (address: Address) => this.spuLink(address),
      get isClosed() {
        return isClosed();
      },
    };
    this.admin = new Admin(sc);
  }

  /** Connects to the SC (ApiVersions handshake); fails at once, saying how to start a node, when none answers. */
  static async connect(options: ConnectOptions = {}): Promise<Freshet> {
    registerSyncCodecs();
    const resolved = resolveEndpoint(options);
    const { endpoint } = resolved;
    const tls = options.tls ?? (resolved.source.startsWith('profile:') ? resolved.tls : tlsFromEnv(process.env));
    const linkOptions: LinkOptions = {
      ...(tls ? { tls } : {}),
      clientId: options.clientId ?? 'freshet',
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      retryTimeoutMs: options.retryTimeoutMs ?? 10_000,
    };
    const sc = new Link(parseEndpoint(endpoint), { ...linkOptions, explainRefusal: true });
    const connection = await sc.connection();
    const client = new Freshet(sc, linkOptions, connection.platformVersion);
    client.kafkaEndpoint = options.kafkaEndpoint ?? defaultKafkaEndpoint(endpoint);
    return client;
  }

  /** `host:port` of the SC. */
  get endpoint(): string {
    return this.sc.endpoint;
  }

  /** `host:port` of the node's Kafka listener (idempotent producers, consumer groups). */
  kafkaEndpoint = '127.0.0.1:9092';
  private readonly kafkaClients = new Set<{ close(): Promise<void> }>();

  /**
   * A producer for one topic (TopicNotFoundError, listing the topics that
   * exist, if it has none). With `idempotent: true`, retries never store a
   * record twice: it produces through the node's Kafka listener, which drops
   * a resent batch and answers it as stored.
   */
  async producer(topic: string, options: { idempotent: true } & Omit<IdempotentProducerOptions, 'kafkaEndpoint'>): Promise<IdempotentProducer>;
  async producer(topic: string, options?: ProducerOptions & { idempotent?: false }): Promise<Producer>;
  async producer(
    topic: string,
    options: (ProducerOptions & { idempotent?: false }) | ({ idempotent: true } & Omit<IdempotentProducerOptions, 'kafkaEndpoint'>) = {},
  ): Promise<Producer | IdempotentProducer> {
    this.checkOpen();
    if (options.idempotent) {
      const { idempotent: _idempotent, ...rest } = options;
      const idempotentProducer = await IdempotentProducer.create(topic, { ...rest, kafkaEndpoint: this.kafkaEndpoint });
      this.kafkaClients.add(idempotentProducer);
      return idempotentProducer;
    }
    const producer = await Producer.create(this.context, topic, options, () => this.producers.delete(producer));
    this.producers.add(producer);
    return producer;
  }

  /** A consumer of one topic: iterate it with `for await`. */
  async consumer(topic: string, options: ConsumerOptions = {}): Promise<Consumer> {
    this.checkOpen();
    const consumer = await Consumer.create(this.context, topic, options);
    this.consumers.add(consumer);
    void consumer.closedPromise().then(() => this.consumers.delete(consumer));
    return consumer;
  }

  /**
   * A member of a consumer group on one topic (the Kafka listener's groups,
   * shared with Kafka clients): partitions are split among the members and
   * offsets committed for the group.
   */
  async groupConsumer(topic: string, options: Omit<GroupConsumerOptions, 'kafkaEndpoint'>): Promise<GroupConsumer> {
    this.checkOpen();
    const consumer = await GroupConsumer.create(topic, { ...options, kafkaEndpoint: this.kafkaEndpoint });
    this.kafkaClients.add(consumer);
    return consumer;
  }

  /** The consumer groups of the node. */
  listConsumerGroups(): Promise<GroupListing[]> {
    return listConsumerGroups(this.kafkaEndpoint);
  }

  /** A group's members, assignments, committed offsets and lag. */
  describeConsumerGroup(group: string): Promise<GroupDetails> {
    return describeConsumerGroup(this.kafkaEndpoint, group);
  }

  /** Stored offsets of named consumers (all, or those matching the filter). */
  listConsumerOffsets(filter: ConsumerOffsetFilter = {}): Promise<StoredConsumerOffset[]> {
    this.checkOpen();
    return listConsumerOffsets(this.context, filter);
  }

  /** Forgets where a named consumer is on one partition. */
  deleteConsumerOffset(consumerId: string, topic: string, partition: number): Promise<void> {
    this.checkOpen();
    return deleteConsumerOffset(this.context, consumerId, topic, partition);
  }

  /** Flushes and closes the producers, closes the consumers, then the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.producers].map((producer) => producer.close()));
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.close()));
    await Promise.allSettled([...this.kafkaClients].map((client) => client.close()));
    this.closed = true;
    for (const link of this.spuLinks.values()) link.close();
    this.sc.close();
  }

  private spuLink(address: Address): Link {
    const key = formatAddress(address);
    let link = this.spuLinks.get(key);
    if (!link) {
      link = new Link(address, this.linkOptions);
      this.spuLinks.set(key, link);
    }
    return link;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('this Freshet client is closed');
  }
}

export { Admin, type CreateTopicOptions, type SmartModuleInfo } from './admin.js';
export { Producer, type Data, type ProducerOptions, type ProducerRecord, type RecordMetadata } from './producer.js';
export {
  Consumer,
  ConsumerRecord,
  Offset,
  resolveStartOffset,
  type ConsumerOptions,
  type OffsetSpec,
  type SmartModuleSpec,
} from './consumer.js';
export type { StoredConsumerOffset, ConsumerOffsetFilter } from './offsets.js';
export type { TopicInfo, PartitionInfo, SpuInfo, TopicCompression, TopicStatusLabel, PartitionStatusLabel } from './metadata.js';
export type { CompressionName } from '../protocol/index.js';
export { keyPartition, Partitioner } from './partitioner.js';
export { IdempotentProducer, ProduceRefusedError, type IdempotentProducerOptions } from './kafka/idempotent-producer.js';
export { GroupConsumer, rangeAssign, type GroupConsumerOptions, type GroupRecord } from './kafka/group-consumer.js';
export type { GroupDetails, GroupListing, GroupMemberInfo, GroupPartitionLag } from './kafka/groups.js';
export { resolveEndpoint, loadProfileConfig, defaultProfilePath, DEFAULT_ENDPOINT, type ProfileConfig } from './profile.js';
export type { ClientTlsOptions } from './tls.js';
export {
  FreshetError,
  ConnectionError,
  NoNodeError,
  RequestTimeoutError,
  ClosedError,
  ServerError,
  TopicNotFoundError,
  PartitionNotFoundError,
  DeliveryError,
  RecordTooLargeError,
  type FreshetErrorCode,
} from './errors.js';
export default Freshet;
