import { mkdir } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import type { StorageConfig } from '../storage/index.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { TcpListener } from './net/tcp-listener.js';
import { ReplicaManager } from './spu/replica-manager.js';
import { TopicRegistry } from './sc/topic-registry.js';
import { SmartModuleRegistry } from './sc/smartmodule-registry.js';
import { scRouter } from './sc/router.js';
import { spuRouter } from './spu/router.js';
import { StreamFetchService } from './spu/stream-fetch.js';
import { SmartEngine, type SmartEngineLimits } from '../smartengine/index.js';
import { builtinSmartModule } from '../smartengine/builtins.js';
import { SmartModuleService } from './spu/smartmodules.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { defaultDataDir, DEFAULT_SC_PORT, DEFAULT_SPU_ID, DEFAULT_SPU_PORT } from './defaults.js';
import { startConnectorService, type ConnectorService, type ConnectorServiceConfig } from '../connectors/service.js';
import { DataflowManager } from '../dataflow/manager.js';
import { createMetrics } from '../console/metrics.js';
import { DEFAULT_CONSOLE_PORT, startConsole, type ConsoleServer } from '../console/server.js';

export { defaultDataDir, DEFAULT_SC_PORT, DEFAULT_SPU_ID, DEFAULT_SPU_PORT };

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
  logger: Logger;
}

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
    logger: pino({ level: process.env.FRESHET_LOG ?? 'info' }, pino.destination(2)),
    ...overrides,
  };
}

/** Read-only gauges of a running node's sessions (for tests and diagnostics). */
export interface NodeStats {
  scConnections: number;
  spuConnections: number;
  /** Stream fetch sessions still running. */
  streamFetches: number;
  /** Response bytes queued in user space for all sockets (bounded per connection by the limits). */
  queuedResponseBytes: number;
}

/**
 * A SmartModule named in a request: one registered on this node, else a
 * built-in (infinyon/jolt, infinyon/regex-filter, ...), so that transforms
 * copied from Fluvio's documentation work without a hub download.
 */
async function namedSmartModule(registry: SmartModuleRegistry, name: string): Promise<Uint8Array | undefined> {
  const module = registry.resolve(name);
  return module ? registry.payload(module) : builtinSmartModule(name);
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
  /** Managed connectors (undefined when disabled). */
  readonly connectors: ConnectorService | undefined;
  /** Managed dataflows (undefined when disabled). */
  readonly dataflows: DataflowManager | undefined;
  /** `http://host:port` of the console (undefined when disabled). */
  readonly consoleUrl: string | undefined;
  stats(): NodeStats;
  /** Stops accepting, closes every connection, flushes and closes every partition. */
  stop(): Promise<void>;
}

/**
 * Starts one Freshet node: the SC and the SPU roles of a Fluvio cluster in
 * this process, on local disk. Port 0 picks free ports (tests use that).
 */
export async function startNode(config: NodeConfig): Promise<RunningNode> {
  const log = config.logger;
  await mkdir(config.dataDir, { recursive: true });
  const lock: DataDirLock = await acquireDataDirLock(config.dataDir);
  const replicas = new ReplicaManager(config.dataDir, config.storage, log);
  const engine = new SmartEngine({ limits: config.smartmodules, wasiOutput: 'discard' });
  const releaseAll = async () => {
    engine.close();
    await replicas.closeAll();
    await lock.release();
  };
  let topics: TopicRegistry;
  let smartmodules: SmartModuleRegistry;
  try {
    topics = await TopicRegistry.open(config.dataDir, replicas);
    smartmodules = await SmartModuleRegistry.open(config.dataDir);
  } catch (err) {
    await releaseAll();
    throw err;
  }
  const smartmoduleService = new SmartModuleService(engine, (name) => namedSmartModule(smartmodules, name), log);
  const streams = new StreamFetchService(replicas, config.limits, log, smartmoduleService);
  const spu = new TcpListener(
    'spu',
    spuRouter({ replicas, limits: config.limits, log, streams, smartmodules: smartmoduleService }),
    config.limits,
    log,
  );
  let spuPort: number;
  try {
    spuPort = await spu.listen(config.host, config.spuPort);
  } catch (err) {
    await releaseAll();
    throw err;
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
    }),
    config.limits,
    log,
  );
  let scPort: number;
  try {
    scPort = await sc.listen(config.host, config.scPort);
  } catch (err) {
    await spu.close();
    await releaseAll();
    throw err;
  }
  // Connectors and dataflows run in this process against the node's own
  // endpoint; the console serves their APIs. All stop before the listeners.
  const consoleEnabled = config.console?.enabled !== false;
  let connectors: ConnectorService | undefined;
  let dataflows: DataflowManager | undefined;
  let consoleServer: ConsoleServer | undefined;
  const stopServices = async () => {
    await consoleServer?.close();
    await dataflows?.close();
    await connectors?.stop();
  };
  try {
    connectors = await startConnectorService({
      config: config.connectors ?? {},
      dataDir: config.dataDir,
      host: config.host,
      endpoint: `${config.host}:${scPort}`,
      scPort: config.scPort,
      log,
      adminServer: !consoleEnabled,
    });
    if (config.dataflows?.enabled !== false) {
      dataflows = await DataflowManager.open({
        dataDir: config.dataDir,
        endpoint: `${config.host}:${scPort}`,
        log: log.child({ component: 'dataflows' }),
        ...(config.dataflows?.minBackoffMs !== undefined ? { minBackoffMs: config.dataflows.minBackoffMs } : {}),
        ...(config.dataflows?.maxBackoffMs !== undefined ? { maxBackoffMs: config.dataflows.maxBackoffMs } : {}),
      });
    }
    if (consoleEnabled) {
      const manager = connectors?.manager;
      const flows = dataflows;
      const metrics = createMetrics({
        node: () => ({ scConnections: sc.connectionCount, spuConnections: spu.connectionCount, streamFetches: streams.activeStreamCount, queuedResponseBytes: sc.queuedBytes + spu.queuedBytes }),
        topics: () => topics.list().length,
        partitions: () =>
          topics.list().flatMap((t) =>
            Array.from({ length: t.partitions }, (_, partition) => {
              const store = replicas.get(t.name, partition);
              return { topic: t.name, partition, highWatermark: store?.highWatermark() ?? 0, sizeBytes: store?.sizeBytes() ?? 0 };
            }),
          ),
        ...(flows
          ? {
              dataflows: () =>
                flows.list().map((d) => ({
                  name: d.name,
                  running: d.state === 'running',
                  services: flows.runtime(d.name)?.status().services ?? [],
                })),
            }
          : {}),
        ...(manager
          ? {
              connectors: () =>
                manager.list().map((c) => ({ name: c.name, type: c.type, running: c.status.state === 'running', records: c.stats.records, deadLetters: c.stats.deadLetters, restarts: c.status.restarts })),
            }
          : {}),
      });
      const startedAt = new Date().toISOString();
      consoleServer = await startConsole({
        host: config.host,
        port: config.console?.port ?? config.connectors?.adminPort ?? (config.scPort === DEFAULT_SC_PORT ? DEFAULT_CONSOLE_PORT : 0),
        dataDir: config.dataDir,
        log,
        node: () => ({
          endpoint: `${config.host}:${scPort}`,
          spu: `${config.host}:${spuPort}`,
          dataDir: config.dataDir,
          pid: process.pid,
          startedAt,
          topics: topics.list().map((t) => ({ name: t.name, partitions: t.partitions })),
        }),
        ...(flows ? { dataflows: flows } : {}),
        ...(manager ? { connectors: manager } : {}),
        metrics,
      });
    }
  } catch (err) {
    await stopServices().catch(() => {});
    await Promise.all([sc.close(), spu.close()]);
    await releaseAll();
    throw err;
  }
  log.info(
    { sc: `${config.host}:${scPort}`, spu: `${config.host}:${spuPort}`, dataDir: config.dataDir, console: consoleServer?.url, connectorAdmin: connectors?.adminUrl },
    'freshet node started',
  );
  let stopping: Promise<void> | undefined;
  return {
    config,
    scPort,
    spuPort,
    endpoint: `${config.host}:${scPort}`,
    topics,
    smartmodules,
    replicas,
    connectors,
    dataflows,
    consoleUrl: consoleServer?.url,
    stats() {
      return {
        scConnections: sc.connectionCount,
        spuConnections: spu.connectionCount,
        streamFetches: streams.activeStreamCount,
        queuedResponseBytes: sc.queuedBytes + spu.queuedBytes,
      };
    },
    stop() {
      stopping ??= (async () => {
        await stopServices();
        await Promise.all([sc.close(), spu.close()]);
        await releaseAll();
        log.info('freshet node stopped');
      })();
      return stopping;
    },
  };
}
