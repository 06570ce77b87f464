// What a node starts for connectors: the manager (running the stored
// connectors against the node's own endpoint) and its admin endpoint.
// src/node/node.ts calls startConnectorService after the SC listens and
// stops it first on shutdown (so sinks finish and commit while the node is
// still up).

import type { Logger } from 'pino';
import { DEFAULT_ADMIN_PORT, startAdminServer, type AdminServerSecurity } from './admin-http.js';
import { ConnectorManager } from './manager.js';

export interface ConnectorServiceConfig {
  /** false: no managed connectors, no admin endpoint. Default true. */
  enabled?: boolean;
  /** Port of the connector admin endpoint (default 9080; 0 when the node's SC port is 0). */
  adminPort?: number;
  /** Restart backoff of failing connectors (ms). Defaults 1000 / 60 000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface ConnectorService {
  readonly manager: ConnectorManager;
  /** `http://host:port` of the admin endpoint (undefined when the node's console serves the connector API instead). */
  readonly adminUrl: string | undefined;
  stop(): Promise<void>;
}

export async function startConnectorService(options: {
  config: ConnectorServiceConfig;
  dataDir: string;
  host: string;
  /** The node's SC endpoint. */
  endpoint: string;
  /** The node's SC port as configured (0: ephemeral ports everywhere). */
  scPort: number;
  log: Logger;
  /** false: no admin server of its own (the node's console mounts handleConnectorRequest). Default true. */
  adminServer?: boolean;
  /** TLS and authentication of the admin server (the node's). */
  security?: AdminServerSecurity;
}): Promise<ConnectorService | undefined> {
  const { config } = options;
  if (config.enabled === false) return undefined;
  const log = options.log.child({ component: 'connectors' });
  const manager = await ConnectorManager.open({
    dataDir: options.dataDir,
    endpoint: options.endpoint,
    log,
    ...(config.minBackoffMs !== undefined ? { minBackoffMs: config.minBackoffMs } : {}),
    ...(config.maxBackoffMs !== undefined ? { maxBackoffMs: config.maxBackoffMs } : {}),
  });
  if (options.adminServer === false) {
    log.info({ connectors: manager.list().length }, 'connector runtime started');
    return { manager, adminUrl: undefined, stop: () => manager.stop() };
  }
  let admin;
  try {
    admin = await startAdminServer(manager, {
      host: options.host,
      port: config.adminPort ?? (options.scPort === 0 ? 0 : DEFAULT_ADMIN_PORT),
      dataDir: options.dataDir,
      log,
      security: options.security,
    });
  } catch (err) {
    await manager.stop();
    throw err;
  }
  log.info({ admin: admin.url, connectors: manager.list().length }, 'connector runtime started');
  return {
    manager,
    adminUrl: admin.url,
    async stop() {
      await admin.close();
      await manager.stop();
    },
  };
}
