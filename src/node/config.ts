// What a node is made of, in one place: its listeners, data dir, flush
// policy, limits and the settings of each part it runs. The CLI, the example
// and the tests build a NodeConfig and hand it to startNode (./node.ts).

import pino, { type Logger } from 'pino';
import type { StorageConfig } from '../storage/index.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits.js';
import type { SmartEngineLimits } from '../smartengine/index.js';
import type { ConnectorServiceConfig } from '../connectors/service.js';
import type { GroupLimits } from '../server/kafka/group-coordinator.js';
import { defaultDataDir, DEFAULT_SC_PORT, DEFAULT_SPU_ID, DEFAULT_SPU_PORT } from './defaults.js';

/** The JetStream backend (docs/scale-out.md): partitions and metadata in a NATS cluster. */
export interface NatsNodeConfig {
  /** nats://host:port of one or more servers of the cluster. */
  urls: string[];
  /** Prefix of the node's streams and buckets, so that several Freshet clusters can share one NATS. Default FRESHET. */
  namespace?: string;
  /** Time for connecting and for each JetStream request. Default 5 s. */
  timeoutMs?: number;
  /** Partition leases: renewal interval and how long a silent leader keeps them. Default 1 s and 5 s. */
  lease?: { heartbeatMs: number; leaseMs: number };
}

export interface NodeConfig {
  dataDir: string;
  /** Address both listeners bind to, and the host the SPU advertises to clients. */
  host: string;
  scPort: number;
  spuPort: number;
  spuId: number;
  storage: Partial<StorageConfig>;
  limits: ServerLimits;
  /** Per-invocation fuel and per-instance memory for SmartModules. */
  smartmodules: Partial<SmartEngineLimits>;
  /** Managed connectors and their admin endpoint (src/connectors/service.ts). */
  connectors?: ConnectorServiceConfig;
  /** Managed dataflows (src/dataflow/manager.ts). Default enabled. */
  dataflows?: { enabled?: boolean; minBackoffMs?: number; maxBackoffMs?: number };
  /**
   * The console (src/console/): web page with live plots, the dataflow and
   * connector APIs, /metrics; default enabled, on port 9080 when the SC is on
   * its default port (9003), else on a free port (so that test and bench
   * nodes leave 9080 to the user's node); a port in use falls back to a free
   * one. The URL is recorded in the data dir (console.json,
   * connectors/admin.json). When disabled, the connectors get an admin
   * endpoint of their own.
   */
  console?: { enabled?: boolean; port?: number };
  /**
   * The Kafka listener (src/server/kafka/): default enabled, on port 9092
   * when the SC is on its default port (9003), else on a free port (as the
   * console; a default port in use falls back to a free one). `groups`
   * bounds the group coordinator (session timeouts, the initial rebalance
   * delay).
   */
  kafka?: { enabled?: boolean; port?: number; groups?: Partial<GroupLimits>; autoCreateTopics?: boolean };
  /**
   * TLS on every listener (SC, SPU, console), from PEM files. With `caFile`,
   * clients must present a certificate signed by it (mutual TLS) unless
   * `requireClientCert` is false; its subject CN is the client's identity.
   */
  tls?: { certFile: string; keyFile: string; caFile?: string; requireClientCert?: boolean };
  /**
   * Authorization: when enabled, every request of every protocol is checked
   * against the ACLs (the policy file's and those managed with `freshet acl`);
   * super users pass every check. Users live in <dataDir>/metadata/users.json.
   */
  auth?: { enabled?: boolean; superUsers?: string[]; policyFile?: string };
  /**
   * Listening on an address other than loopback needs TLS with client
   * certificates and authorization; `insecure` starts such a node anyway.
   */
  insecure?: boolean;
  /** When set, partitions and the topic table live in NATS JetStream instead of the data dir. */
  nats?: NatsNodeConfig;
  logger: Logger;
}

/** Secrets a log line may carry by mistake (a request's headers, a user's password or token): masked by pino. */
export const LOG_REDACT_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'password', '*.password', 'token', '*.token'] as const;

export function defaultNodeConfig(overrides: Partial<NodeConfig> = {}): NodeConfig {
  return {
    dataDir: defaultDataDir(),
    host: '127.0.0.1',
    scPort: DEFAULT_SC_PORT,
    spuPort: DEFAULT_SPU_PORT,
    spuId: DEFAULT_SPU_ID,
    storage: {},
    limits: DEFAULT_LIMITS,
    smartmodules: {},
    logger: pino({ level: process.env.FRESHET_LOG ?? 'info', redact: { paths: [...LOG_REDACT_PATHS], censor: '***' } }, pino.destination(2)),
    ...overrides,
  };
}
