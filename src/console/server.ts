// The node's console: one fastify server on 127.0.0.1 (default port 9080)
// serving
//
//   GET  /                          the web page: dataflows and live plots of their series (static/)
//   GET  /assets/<file>             its script and style; /assets/uplot/* = node_modules/uplot/dist
//   GET  /api/node                  the node: endpoints, data dir, topics
//   GET  /api/topics..., /api/pipeline  the topic browser and the pipeline graph (explore.ts)
//   /dataflows...                   the dataflow API (src/dataflow/http.ts): list, status, state
//                                   queries, keys, the SSE change feed, and (managed dataflows)
//                                   create / stop / start / delete
//   /connectors...                  the connector admin API (src/connectors/admin-http.ts)
//   GET  /metrics                   Prometheus text format (metrics.ts)
//   GET  /health
//
// Its URL is recorded in `<dataDir>/console.json`, and in
// `<dataDir>/connectors/admin.json` when it serves the connector API (where
// `freshet connector ...` looks for it).

import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ADMIN_FILE, handleConnectorRequest } from '../connectors/index.js';
import { CONNECTORS_DIR, type ConnectorManager } from '../connectors/index.js';
import { registerDataflowRoutes, type DataflowHost } from '../dataflow/index.js';
import { writeJsonAtomic } from '../common/index.js';
import { registerExploreRoutes } from './explore.js';
import type { ListenerTls } from '../auth/index.js';
import type { HttpAuthenticator } from '../auth/index.js';
import type { Authorizer, UserStore } from '../auth/index.js';
import { registerConsoleAuth, requestPrincipal } from './auth.js';
import { registerAdminApi } from './admin-api.js';

export const DEFAULT_CONSOLE_PORT = 9080;
export const CONSOLE_FILE = 'console.json';

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const STATIC_FILES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'explore.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
const UPLOT_FILES: Record<string, string> = {
  'uPlot.esm.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};

function uplotDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('uplot'));
}

export interface ConsoleOptions {
  host: string;
  /** 0: any free port. A port in use falls back to a free one (with a warning). */
  port: number;
  dataDir: string;
  log: Logger;
  /** What `/api/node` says about the node. */
  node: () => Record<string, unknown>;
  dataflows?: DataflowHost;
  connectors?: ConnectorManager;
  metrics?: Registry;
  /** HTTPS with the node's certificate, and the node's authentication and ACLs (./auth.ts); also serves /admin/users and /admin/acls. */
  security?: { tls: ListenerTls | undefined; auth: HttpAuthenticator; users: UserStore; authorizer: Authorizer };
}

export interface ConsoleServer {
  readonly app: FastifyInstance;
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

async function sendFile(reply: FastifyReply, file: string, type: string): Promise<FastifyReply> {
  const body = await readFile(file);
  return reply.type(type).header('cache-control', 'no-cache').send(body);
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const security = options.security;
  const tls = security?.tls;
  const https = tls ? { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}), minVersion: 'TLSv1.2' as const } : null;
  const app = Fastify({ logger: false, forceCloseConnections: true, https }) as unknown as FastifyInstance;
  const uplot = uplotDir();
  if (security) {
    registerConsoleAuth(app, security.auth, tls !== undefined);
    registerAdminApi(app, security);
  }

  app.get('/', (_req, reply) => sendFile(reply, path.join(STATIC_DIR, 'index.html'), 'text/html; charset=utf-8'));
  app.get<{ Params: { file: string } }>('/assets/:file', (req, reply) => {
    const type = STATIC_FILES[req.params.file];
    if (!type) return reply.code(404).send({ error: 'not found' });
    return sendFile(reply, path.join(STATIC_DIR, req.params.file), type);
  });
  app.get<{ Params: { file: string } }>('/assets/uplot/:file', (req, reply) => {
    const type = UPLOT_FILES[req.params.file];
    if (!type) return reply.code(404).send({ error: 'not found' });
    return sendFile(reply, path.join(uplot, req.params.file), type);
  });
  app.get('/health', async () => ({ ok: true }));
  app.get('/api/node', async () => options.node());

  const metrics = options.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  }

  const routes = options.dataflows ? registerDataflowRoutes(app, options.dataflows) : undefined;
  const explore = registerExploreRoutes(app, {
    endpoint: () => String(options.node().endpoint),
    ...(options.dataflows ? { dataflows: options.dataflows } : {}),
    ...(options.connectors ? { connectors: options.connectors } : {}),
  });
  if (!options.dataflows) app.get('/dataflows', async () => []);

  const connectors = options.connectors;
  if (connectors) {
    // The connector API reads its own request bodies: no body parsing in this scope.
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
      const handler = (req: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        const access = security ? { principal: requestPrincipal(req.raw), auth: security.auth } : undefined;
        void handleConnectorRequest(connectors, req.raw, reply.raw, access).then((handled) => {
          if (!handled) reply.raw.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        });
      };
      scope.all('/connectors', handler);
      scope.all('/connectors/*', handler);
    });
  }

  const listen = (port: number) => app.listen({ host: options.host, port });
  let address: string;
  try {
    address = await listen(options.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port === 0) throw err;
    options.log.warn({ port: options.port }, `console port ${options.port} in use; using a free port instead (see ${CONSOLE_FILE} in the data dir)`);
    address = await listen(0);
  }
  const port = Number(new URL(address).port);
  const url = `${tls ? 'https' : 'http'}://${options.host}:${port}`;
  const files = [path.join(options.dataDir, CONSOLE_FILE)];
  if (connectors) files.push(path.join(options.dataDir, CONNECTORS_DIR, ADMIN_FILE));
  for (const file of files) await writeJsonAtomic(file, { url, pid: process.pid });
  return {
    app,
    url,
    port,
    async close() {
      routes?.closeFeeds();
      await explore.close();
      await app.close();
      await Promise.all(files.map((file) => rm(file, { force: true })));
    },
  };
}
