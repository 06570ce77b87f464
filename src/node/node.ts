// Composes a running Freshet node: the SC and SPU roles of a Fluvio cluster,
// the connector and dataflow runtimes and the console, in one process on
// local disk. Parts start in the order below and stop in reverse (the
// Lifecycle), so connectors and dataflows finish against a node that is
// still up, and the partitions are flushed and closed after every listener.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isNoSpace, registerSpaceReserve, SpaceReserve } from '../common/index.js';
import { ReplicaManager } from '../server/spu/replica-manager.js';
import { TopicRegistry } from '../server/sc/topic-registry.js';
import { SmartModuleRegistry } from '../server/sc/smartmodule-registry.js';
import { scRouter } from '../server/sc/router.js';
import { spuRouter } from '../server/spu/router.js';
import { StreamFetchService } from '../server/spu/stream-fetch.js';
import { SmartModuleService } from '../server/spu/smartmodules.js';
import { TcpListener } from '../server/net/tcp-listener.js';
import { RequestByteBudget } from '../server/net/request-budget.js';
import { acquireDataDirLock } from '../server/data-dir-lock.js';
import { SmartEngine } from '../smartengine/index.js';
import { smartModuleLookup } from '../smartengine/resolver.js';
import { startConnectorService, type ConnectorService } from '../connectors/service.js';
import { DataflowManager } from '../dataflow/manager.js';
import { startKafkaListener, type RunningKafkaListener } from '../server/kafka/index.js';
import { DEFAULT_CONSOLE_PORT, startConsole, type ConsoleServer } from '../console/server.js';
import type { NodeConfig } from './config.js';
import { DEFAULT_KAFKA_PORT, DEFAULT_SC_PORT } from './defaults.js';
import { Lifecycle } from './lifecycle.js';
import { checkExposure, NodeConfigError, openSecurity } from './security.js';
import type { Authorizer, LoginGuard, UserStore } from '../auth/index.js';
import { nodeMetrics } from './metrics.js';

/** Under <dataDir>/metadata. */
const SPACE_RESERVE_FILE = 'space-reserve';

/** Read-only gauges of a running node's sessions (for tests and diagnostics). */
export interface NodeStats {
  scConnections: number;
  spuConnections: number;
  /** Stream fetch sessions still running. */
  streamFetches: number;
  /** Response bytes queued in user space for all sockets (bounded per connection by the limits). */
  queuedResponseBytes: number;
}

/** What a running node tells whoever started it. */
export interface RunningNode {
  readonly config: NodeConfig;
  readonly scPort: number;
  readonly spuPort: number;
  /** `host:port` of the SC, what clients connect to. */
  readonly endpoint: string;
  readonly topics: TopicRegistry;
  readonly smartmodules: SmartModuleRegistry;
  readonly replicas: ReplicaManager;
  /** The node's users (SCRAM credentials, tokens) and its authorization check. */
  readonly users: UserStore;
  readonly authorizer: Authorizer;
  /** Failed logins, rate-limited per peer (its tables are bounded). */
  readonly loginGuard: LoginGuard;
  /** Managed connectors (undefined when disabled). */
  readonly connectors: ConnectorService | undefined;
  /** Managed dataflows (undefined when disabled). */
  readonly dataflows: DataflowManager | undefined;
  /** `http(s)://host:port` of the console (undefined when disabled). */
  readonly consoleUrl: string | undefined;
  /** The Kafka listener (undefined when disabled). */
  readonly kafka: RunningKafkaListener | undefined;
  /** Parts started, in start order (they stop in reverse). */
  readonly parts: string[];
  stats(): NodeStats;
  /** Stops every part in reverse start order: runtimes, console, listeners, partitions, the data dir lock. */
  stop(): Promise<void>;
}

/**
 * The Kafka listener has neither TLS nor authorization yet, and knows one
 * node only: a node that uses TLS, authorization or a JetStream cluster
 * leaves it off (and refuses to start when it is asked for explicitly), so
 * that it is never an unprotected way around them nor a wrong map of a cluster.
 */
function kafkaListenerWanted(config: NodeConfig, log: NodeConfig['logger']): boolean {
  const secured = config.tls !== undefined || config.auth?.enabled === true;
  // It also speaks for a single node (the leader of every partition), which a JetStream cluster is not.
  const clustered = config.nats !== undefined;
  if (config.kafka?.enabled === false) return false;
  if (!secured && !clustered) return true;
  const why = secured ? 'it has no TLS or authorization yet, and this node uses them' : 'it serves a single node, and this node shares a JetStream cluster';
  if (config.kafka?.enabled === true) throw new NodeConfigError(`the Kafka listener cannot run here: ${why} (turn it off: --kafka-port 0)`);
  log.info(`the Kafka listener is off: ${why}`);
  return false;
}

/** Starts one Freshet node. Port 0 picks free ports (tests use that). */
export async function startNode(config: NodeConfig): Promise<RunningNode> {
  const log = config.logger;
  checkExposure(config);
  const life = new Lifecycle(log);
  const node = await life.compose(async () => {
    await mkdir(config.dataDir, { recursive: true });
    // The space reserve keeps room for metadata writes on a disk that records filled (see common/space-reserve.ts).
    const reserve = new SpaceReserve(path.join(config.dataDir, 'metadata', SPACE_RESERVE_FILE));
    await life.start(
      'data dir lock',
      () => acquireDataDirLock(config.dataDir).catch(async (err: unknown) => (isNoSpace(err) && (await reserve.release()) ? acquireDataDirLock(config.dataDir) : Promise.reject(err))),
      (lock) => lock.release(),
    );
    await mkdir(path.dirname(reserve.file), { recursive: true });
    if (!(await reserve.take())) log.warn({ dataDir: config.dataDir }, 'the disk is full: no space reserve for metadata writes until room is made');
    life.onClose('space reserve', registerSpaceReserve(config.dataDir, reserve));
    const nats = config.nats;
    const jetstream = nats
      ? await life.start(
          'nats',
          async () => (await import('./backends/jetstream.js')).openJetStreamNode(nats, config.dataDir, config.storage, log),
          (backends) => backends.close(),
        )
      : undefined;
    const replicas = await life.start('partitions', () => jetstream?.replicas ?? new ReplicaManager(config.dataDir, config.storage, log), (r) => r.closeAll());
    const engine = await life.start('smartmodule engine', () => new SmartEngine({ limits: config.smartmodules, wasiOutput: 'discard', logger: log.child({ component: 'smartmodules' }) }), (e) => e.close());
    const topics = await TopicRegistry.open(config.dataDir, replicas, jetstream?.topicOptions);
    const smartmodules = await SmartModuleRegistry.open(config.dataDir);
    const security = await openSecurity(config, log);

    // Registered first, then built-in: the same rule as dataflows, connectors and `sm test`.
    const registered = async (name: string) => {
      const module = smartmodules.resolve(name);
      return module ? smartmodules.payload(module) : undefined;
    };
    const smartmoduleService = new SmartModuleService(engine, smartModuleLookup(registered), log);
    const streams = new StreamFetchService(replicas, config.limits, log, smartmoduleService, security.authorizer);
    // One budget of request bytes held in memory for every listener of the node.
    const requestBytes = new RequestByteBudget(config.limits.maxNodeInFlightRequestBytes);
    const spu = new TcpListener(
      'spu',
      spuRouter({
        replicas,
        limits: config.limits,
        log,
        streams,
        smartmodules: smartmoduleService,
        authorizer: security.authorizer,
        ...(jetstream ? { consumerOffsets: jetstream.consumerOffsets } : {}),
      }),
      config.limits,
      log,
      security.listener,
      requestBytes,
    );
    const spuPort = await life.start('spu listener', () => spu.listen(config.host, config.spuPort), () => spu.close());
    // The HTTP API starts after the SC: NodeInfo reads its URL when asked.
    const httpApi: { url?: string | undefined } = {};
    const nodeInfo = () => ({ ...(httpApi.url ? { httpUrl: httpApi.url } : {}), httpTls: security.tls !== undefined, httpAuth: security.authorizer.enabled });
    if (jetstream) {
      const self = { id: config.spuId, host: config.host, port: spuPort };
      await life.start('partition leadership', () => jetstream.replicas.startLeading(self), () => jetstream.replicas.stopLeading());
    }
    const sc = new TcpListener(
      'sc',
      scRouter({
        topics,
        smartmodules,
        replicas,
        limits: config.limits,
        log,
        spu: { id: config.spuId, host: config.host, port: spuPort },
        authorizer: security.authorizer,
        nodeInfo,
        ...(jetstream ? { cluster: jetstream.replicas } : {}),
      }),
      config.limits,
      log,
      security.listener,
      requestBytes,
    );
    const scPort = await life.start('sc listener', () => sc.listen(config.host, config.scPort), () => sc.close());
    const endpoint = `${config.host}:${scPort}`;
    const kafka =
      !kafkaListenerWanted(config, log)
        ? undefined
        : await life.start(
            'kafka listener',
            () =>
              startKafkaListener({
                host: config.host,
                port: config.kafka?.port ?? (config.scPort === DEFAULT_SC_PORT ? DEFAULT_KAFKA_PORT : 0),
                fallbackToFreePort: config.kafka?.port === undefined,
                nodeId: config.spuId,
                dataDir: config.dataDir,
                replicas,
                topics,
                limits: config.limits,
                log,
                ...(config.kafka?.groups ? { groups: config.kafka.groups } : {}),
                ...(config.kafka?.autoCreateTopics !== undefined ? { autoCreateTopics: config.kafka.autoCreateTopics } : {}),
              }),
            (listener) => listener.close(),
          );
    const stats = (): NodeStats => ({
      scConnections: sc.connectionCount,
      spuConnections: spu.connectionCount,
      streamFetches: streams.activeStreamCount,
      queuedResponseBytes: sc.queuedBytes + spu.queuedBytes,
    });

    // Connectors and dataflows run in this process against the node's own
    // endpoint; the console serves their APIs.
    const consoleEnabled = config.console?.enabled !== false;
    const connectors =
      config.connectors?.enabled === false
        ? undefined
        : await life.start(
            'connectors',
            () =>
              startConnectorService({
                config: config.connectors ?? {},
                dataDir: config.dataDir,
                host: config.host,
                endpoint,
                scPort: config.scPort,
                log,
                adminServer: !consoleEnabled,
                security: { tls: security.tls, auth: security.http },
              }),
            (service) => service?.stop(),
          );
    const dataflows =
      config.dataflows?.enabled === false
        ? undefined
        : await life.start(
            'dataflows',
            () =>
              DataflowManager.open({
                dataDir: config.dataDir,
                endpoint,
                log: log.child({ component: 'dataflows' }),
                ...(config.dataflows?.minBackoffMs !== undefined ? { minBackoffMs: config.dataflows.minBackoffMs } : {}),
                ...(config.dataflows?.maxBackoffMs !== undefined ? { maxBackoffMs: config.dataflows.maxBackoffMs } : {}),
              }),
            (manager) => manager.close(),
          );
    let consoleServer: ConsoleServer | undefined;
    if (consoleEnabled) {
      const startedAt = new Date().toISOString();
      consoleServer = await life.start(
        'console',
        () =>
          startConsole({
            host: config.host,
            port: config.console?.port ?? config.connectors?.adminPort ?? (config.scPort === DEFAULT_SC_PORT ? DEFAULT_CONSOLE_PORT : 0),
            dataDir: config.dataDir,
            log,
            node: () => ({
              endpoint,
              spu: `${config.host}:${spuPort}`,
              dataDir: config.dataDir,
              pid: process.pid,
              startedAt,
              topics: topics.list().map((t) => ({ name: t.name, partitions: t.partitions })),
            }),
            ...(dataflows ? { dataflows } : {}),
            ...(connectors ? { connectors: connectors.manager } : {}),
            metrics: nodeMetrics({ stats, topics, replicas, connectors: connectors?.manager, dataflows, authorizer: security.authorizer, loginGuard: security.guard }),
            security: { tls: security.tls, auth: security.http, users: security.users, authorizer: security.authorizer },
          }),
        (server) => server.close(),
      );
    }
    httpApi.url = consoleServer?.url ?? connectors?.adminUrl;
    return { replicas, topics, smartmodules, users: security.users, authorizer: security.authorizer, loginGuard: security.guard, spuPort, scPort, endpoint, stats, connectors, dataflows, kafka, consoleUrl: consoleServer?.url };
  });
  log.info(
    { sc: node.endpoint, spu: `${config.host}:${node.spuPort}`, kafka: node.kafka ? `${config.host}:${node.kafka.port}` : undefined, dataDir: config.dataDir, console: node.consoleUrl, connectorAdmin: node.connectors?.adminUrl },
    'freshet node started',
  );
  let stopping: Promise<void> | undefined;
  return {
    config,
    ...node,
    parts: life.parts,
    stop() {
      stopping ??= life.close().then(() => log.info('freshet node stopped'));
      return stopping;
    },
  };
}
