/**
 * One node's connection to a NATS JetStream cluster, shared by every
 * partition store, the metadata buckets and the leases of the node. Loaded
 * only when a node is configured with NATS URLs, so that the embedded default
 * never loads the NATS client.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';

export interface JetStreamBackend {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The URLs the node was given, for messages. */
  readonly urls: readonly string[];
  /** Largest message (payload + headers) the servers accept. */
  maxPayload(): number;
  close(): Promise<void>;
}

export interface JetStreamConnectOptions {
  /** Connection name the servers show (`nats server report connections`). */
  name?: string;
  /** Time for the first connection and for each JetStream request. Default 5 s. */
  timeoutMs?: number;
}

export class NatsUnavailableError extends Error {
  constructor(
    readonly urls: readonly string[],
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot use NATS JetStream at ${urls.join(',')}: ${reason}`, options);
    this.name = 'NatsUnavailableError';
  }
}

/**
 * Connects and checks that JetStream answers. After the first connection the
 * client reconnects by itself for ever; requests made while disconnected fail
 * after the timeout, which callers turn into retryable errors.
 */
export async function connectJetStream(urls: readonly string[], options: JetStreamConnectOptions = {}): Promise<JetStreamBackend> {
  const timeout = options.timeoutMs ?? 5000;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: [...urls],
      name: options.name ?? 'freshet',
      timeout,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
    });
  } catch (err) {
    throw new NatsUnavailableError(urls, (err as Error).message, { cause: err });
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout });
  } catch (err) {
    await nc.close().catch(() => {});
    throw new NatsUnavailableError(urls, `JetStream does not answer (${(err as Error).message}); start nats-server with JetStream enabled (-js)`, { cause: err });
  }
  const js = jetstream(nc, { timeout });
  return {
    nc,
    js,
    jsm,
    urls,
    maxPayload: () => nc.info?.max_payload ?? 1024 * 1024,
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
