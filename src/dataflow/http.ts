// The dataflow HTTP endpoint (fastify): what `freshet dataflow query` and
// the web console read. JSON everywhere; shapes in docs/dataflows.md.
//
//   GET    /health
//   GET    /dataflows                          running dataflows (name, state, services)
//   GET    /dataflows/:name                    status: watermark, offsets, checkpoint, metrics per service
//   GET    /dataflows/:name/state              ?key=K | ?group=G [&service=S]: current windows and series
//   POST   /dataflows/:name/sql                {query: "SELECT …", service?}: one read-only SELECT over the
//                                              state in DuckDB (sql.ts): {columns, rows, truncated, tables};
//                                              400 {error: DuckDB's message, tables: {name: [columns]}, hint}
//   GET    /dataflows/:name/keys               ?prefix=P&limit=N [&service=S]: keys with state, sorted: {total, keys}
//   GET    /dataflows/:name/events             live change feed (Server-Sent Events): one event per
//                                              emitted result, `event: window|correlation|late|record`
//                                              [?service=S&kind=window,correlation&key=K1,K2&group=G]
//                                              (key/group: only results of those keys, or of that group;
//                                              a correlation concerns both of its keys)
//   POST   /dataflows                          (managed mode) {config: "<yaml>"}: create and start
//   POST   /dataflows/:name/stop               (managed mode) stop, keep the state
//   POST   /dataflows/:name/start              (managed mode) start again
//   DELETE /dataflows/:name                    (managed mode) stop and delete the state

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Query } from './engine.js';
import { SqlQueryError, tablesHint } from './sql.js';
import type { DataflowRuntime, OutputEvent } from './runner.js';

/** What the endpoint serves: a fixed set of runtimes, or a manager that also creates and deletes them. */
export interface DataflowHost {
  list(): { name: string; state: string; services: string[]; version?: string; startedAt?: string; lastError?: string }[];
  runtime(name: string): DataflowRuntime | undefined;
  /** Status of a known dataflow even when it is not running (managed mode). */
  describe?(name: string): unknown;
  create?(config: string): Promise<unknown>;
  stop?(name: string): Promise<void>;
  start?(name: string): Promise<unknown>;
  delete?(name: string): Promise<void>;
}

export class NotFoundError extends Error {}

const MAX_SQL_CHARS = 100_000;

/** A host over runtimes started in this process. */
export class StaticHost implements DataflowHost {
  private readonly runtimes = new Map<string, DataflowRuntime>();
  add(runtime: DataflowRuntime): void {
    this.runtimes.set(runtime.name, runtime);
  }
  remove(name: string): void {
    this.runtimes.delete(name);
  }
  list() {
    return [...this.runtimes.values()].map((r) => ({ name: r.name, state: r.state, services: r.services, version: r.spec.version, startedAt: r.startedAt }));
  }
  runtime(name: string): DataflowRuntime | undefined {
    return this.runtimes.get(name);
  }
}

const SSE_MAX_BUFFER = 4 * 1024 * 1024;

function notFound(reply: FastifyReply, message: string) {
  return reply.code(404).send({ error: message });
}

/** What registerDataflowRoutes leaves to its caller: closing the open change feeds (before the server closes). */
export interface DataflowRoutes {
  closeFeeds(): void;
}

/** Splits a comma-separated query parameter; undefined when absent or empty. */
function listParam(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').filter((v) => v !== '');
  return items.length > 0 ? new Set(items) : undefined;
}

/** Whether a result concerns one of the keys or the group (change feed filters). */
function concerns(output: OutputEvent['output'], keys: Set<string> | undefined, group: string | undefined): boolean {
  if (!keys && group === undefined) return true;
  const value = output.value as { key?: unknown; a?: unknown; b?: unknown; group?: unknown } | null;
  if (group !== undefined && value && typeof value === 'object' && value.group === group) return true;
  if (!keys) return false;
  if (output.kind === 'correlation' && value && typeof value === 'object') return keys.has(String(value.a)) || keys.has(String(value.b));
  return output.key !== null && keys.has(output.key);
}

/**
 * Registers the dataflow routes on a fastify instance: this endpoint's own
 * server (startDataflowHttp), or the node's console (src/console/).
 */
export function registerDataflowRoutes(app: FastifyInstance, host: DataflowHost): DataflowRoutes {
  const sse = new Set<() => void>();

  const running = (name: string, reply: FastifyReply): DataflowRuntime | undefined => {
    const runtime = host.runtime(name);
    if (!runtime) void notFound(reply, host.describe?.(name) ? `dataflow "${name}" is not running` : `no dataflow named "${name}"`);
    return runtime;
  };

  app.get('/dataflows', async () => host.list());

  app.get<{ Params: { name: string } }>('/dataflows/:name', async (req, reply) => {
    const runtime = host.runtime(req.params.name);
    if (runtime) return runtime.status();
    const described = host.describe?.(req.params.name);
    if (described) return described;
    return notFound(reply, `no dataflow named "${req.params.name}"`);
  });

  app.get<{ Params: { name: string }; Querystring: { key?: string; group?: string; service?: string } }>('/dataflows/:name/state', async (req, reply) => {
    const runtime = running(req.params.name, reply);
    if (!runtime) return reply;
    const { key, group, service } = req.query;
    if (key !== undefined && group !== undefined) return reply.code(400).send({ error: 'give key or group, not both' });
    const q: Query = key !== undefined ? { key } : group !== undefined ? { group } : {};
    try {
      return runtime.query(q, service);
    } catch (err) {
      return reply.code(404).send({ error: (err as Error).message });
    }
  });

  app.post<{ Params: { name: string }; Body: { query?: unknown; service?: unknown } }>('/dataflows/:name/sql', async (req, reply) => {
    const runtime = running(req.params.name, reply);
    if (!runtime) return reply;
    const { query, service } = req.body ?? {};
    if (typeof query !== 'string' || query.trim() === '') return reply.code(400).send({ error: 'expected {"query": "SELECT …"}' });
    if (query.length > MAX_SQL_CHARS) return reply.code(400).send({ error: `the query is longer than ${MAX_SQL_CHARS} characters` });
    try {
      return await runtime.sql(query, typeof service === 'string' ? service : undefined);
    } catch (err) {
      if (err instanceof SqlQueryError) return reply.code(400).send({ error: err.message, tables: err.tables, hint: tablesHint(err.tables) });
      return reply.code(404).send({ error: (err as Error).message });
    }
  });

  app.get<{ Params: { name: string }; Querystring: { service?: string; prefix?: string; limit?: string } }>('/dataflows/:name/keys', async (req, reply) => {
    const runtime = running(req.params.name, reply);
    if (!runtime) return reply;
    const limit = Math.max(1, Math.min(10_000, Number(req.query.limit ?? 1000) || 1000));
    const prefix = req.query.prefix ?? '';
    try {
      const all = runtime.keys(req.query.service);
      const matching = prefix === '' ? all : all.filter((k) => k.startsWith(prefix));
      return { total: matching.length, keys: matching.slice(0, limit) };
    } catch (err) {
      return reply.code(404).send({ error: (err as Error).message });
    }
  });

  app.get<{ Params: { name: string }; Querystring: { service?: string; kind?: string; key?: string; group?: string } }>('/dataflows/:name/events', (req, reply) => {
    const runtime = running(req.params.name, reply);
    if (!runtime) return reply;
    const kinds = listParam(req.query.kind);
    const keys = listParam(req.query.key);
    const group = req.query.group === '' ? undefined : req.query.group;
    const service = req.query.service;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write(': freshet dataflow change feed\nretry: 2000\n\n');
    const onOutput = (event: OutputEvent) => {
      if (service !== undefined && event.service !== service) return;
      if (kinds && !kinds.has(event.output.kind)) return;
      if (!concerns(event.output, keys, group)) return;
      if (raw.writableLength > SSE_MAX_BUFFER) {
        close();
        return;
      }
      const data = JSON.stringify(event.output.kind === 'record' ? { service: event.service, key: event.output.key, timestamp: event.output.timestamp, value: event.output.value } : event.output.value);
      raw.write(`event: ${event.output.kind}\n${event.output.id ? `id: ${event.output.id}\n` : ''}data: ${data}\n\n`);
    };
    const ping = setInterval(() => raw.write(': ping\n\n'), 15_000);
    ping.unref();
    const close = () => {
      runtime.events.off('output', onOutput);
      clearInterval(ping);
      sse.delete(close);
      raw.end();
    };
    sse.add(close);
    runtime.events.on('output', onOutput);
    raw.on('close', close);
    runtime.done.then(close, close);
  });

  app.post<{ Body: { config?: unknown } }>('/dataflows', async (req, reply) => {
    if (!host.create) return reply.code(405).send({ error: 'this endpoint serves a dataflow run from the command line; it cannot create others' });
    if (typeof req.body?.config !== 'string') return reply.code(400).send({ error: 'expected {"config": "<dataflow YAML>"}' });
    try {
      return await host.create(req.body.config);
    } catch (err) {
      const message = (err as Error).message;
      return reply.code(/already exists/.test(message) ? 409 : 400).send({ error: message });
    }
  });

  for (const action of ['stop', 'start', 'delete'] as const) {
    const handler = async (req: { params: { name: string } }, reply: FastifyReply) => {
      const fn = host[action];
      if (!fn) return reply.code(405).send({ error: `this endpoint cannot ${action} dataflows` });
      try {
        const result = await fn.call(host, req.params.name);
        return result ?? { ok: true };
      } catch (err) {
        return reply.code(err instanceof NotFoundError ? 404 : 400).send({ error: (err as Error).message });
      }
    };
    if (action === 'delete') app.delete<{ Params: { name: string } }>('/dataflows/:name', handler);
    else app.post<{ Params: { name: string } }>(`/dataflows/:name/${action}`, handler);
  }

  return {
    closeFeeds() {
      for (const close of [...sse]) close();
    },
  };
}

export async function startDataflowHttp(host: DataflowHost, options: { host?: string; port?: number } = {}): Promise<{ app: FastifyInstance; address: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.get('/health', async () => ({ ok: true }));
  const routes = registerDataflowRoutes(app, host);
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return {
    app,
    address: address.replace(/^https?:\/\//, ''),
    async close() {
      routes.closeFeeds();
      await app.close();
    },
  };
}
