// http-source (section `http`), with the keys of Fluvio's http-source 0.5:
//
// - polling: one request every `interval`, one record per response (2xx;
//   other statuses are logged and skipped unless `output_parts: full`,
//   which records them with their status);
// - streaming (`stream: true`): one long response (chunked, server-sent
//   events, ...) split into records by `delimiter`; the response is paused
//   while records are being stored (backpressure reaches the server through
//   TCP); when it ends, the request is made again after `interval`;
// - WebSocket (endpoint ws:// or wss://): each message is a record;
//   `websocket_config.subscription_messages` are sent after connecting;
//   pings every `ping_interval_ms`; reconnects with backoff.
//
// Record formats (output_type / output_parts): text/body = the body; json/body
// = {"body": "..."}; text/full = status line, `name: value` header lines, a
// blank line, the body; json/full = {"status": {version, code, string},
// "header": {...sorted, repeated → arrays}, "body": "..."}.
//
// Nothing to resume: a poll after a restart simply gets the current state.

import WebSocket from 'ws';
import { z } from 'zod';
import type { ConnectorType, Source, SourceContext, SourceRecord } from './connector.js';
import { duration, headerList, parseSection, url } from './schema.js';
import { httpRequest, openHttp, type HttpResponse } from './http-client.js';
import { backoffDelay } from '../common/index.js';
import { sleep } from './runtime.js';

export const HTTP_SOURCE_USER_AGENT = 'fluvio/http-source 0.5.0';
const RECONNECT_BACKOFF = { minMs: 500, maxMs: 30_000 };

const schema = z
  .object({
    endpoint: url(['http', 'https', 'ws', 'wss']),
    method: z.string().min(1).default('GET'),
    body: z.string().optional(),
    user_agent: z.string().optional(),
    'user-agent': z.string().optional(),
    headers: headerList().default([]),
    interval: duration().default(10_000),
    stream: z.boolean().default(false),
    delimiter: z.string().min(1, 'expected a non-empty delimiter').default('\n'),
    output_type: z.enum(['text', 'json']).default('text'),
    output_parts: z.enum(['body', 'full']).default('body'),
    websocket_config: z
      .object({
        subscription_message: z.string().optional(),
        subscription_messages: z.array(z.string()).optional(),
        ping_interval_ms: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /** Freshet: deadline of one polling request (default: the interval, at least 1 s, at most 60 s). */
    timeout: duration().optional(),
  })
  .strict();

export type HttpSourceConfig = z.output<typeof schema> & { userAgent: string };

function parse(section: unknown): HttpSourceConfig {
  const config = parseSection(schema, section, 'http');
  return Object.assign(config, { userAgent: config.user_agent ?? config['user-agent'] ?? HTTP_SOURCE_USER_AGENT });
}

type Head = Omit<HttpResponse, 'body'>;

/** One record value in the configured format. */
export function formatRecord(config: Pick<HttpSourceConfig, 'output_type' | 'output_parts'>, head: Head | undefined, body: Buffer): Buffer | string {
  if (config.output_parts === 'body' || head === undefined) {
    return config.output_type === 'json' ? JSON.stringify({ body: body.toString('utf8') }) : body;
  }
  if (config.output_type === 'text') {
    const lines = [`${head.httpVersion} ${head.status} ${head.statusMessage}`.trimEnd(), ...head.headers.map(([n, v]) => `${n.toLowerCase()}: ${v}`), '', body.toString('utf8')];
    return lines.join('\n');
  }
  const header: Record<string, string | string[]> = {};
  for (const [rawName, value] of head.headers) {
    const name = rawName.toLowerCase();
    const existing = header[name];
    header[name] = existing === undefined ? value : [...[existing].flat(), value];
  }
  const sorted = Object.fromEntries(Object.keys(header).sort().map((k) => [k, header[k]]));
  return JSON.stringify({ status: { version: head.httpVersion, code: head.status, string: head.statusMessage }, header: sorted, body: body.toString('utf8') });
}

function requestHeaders(config: HttpSourceConfig): [string, string][] {
  const headers = [...config.headers];
  if (!headers.some(([n]) => n.toLowerCase() === 'user-agent')) headers.push(['User-Agent', config.userAgent]);
  return headers;
}

class HttpSource implements Source {
  constructor(private readonly ctx: SourceContext<HttpSourceConfig>) {}

  run(): Promise<void> {
    const { endpoint, stream } = this.ctx.config;
    if (/^wss?:/i.test(endpoint)) return this.runWebSocket();
    return stream ? this.runStream() : this.runPolling();
  }

  private async runPolling(): Promise<void> {
    const { config, signal, log, emit } = this.ctx;
    const timeoutMs = config.timeout ?? Math.min(60_000, Math.max(1000, config.interval));
    // Storing a response does not hold up the next poll (a short interval is not bound by the node's
    // acknowledgement latency), but at most MAX_IN_FLIGHT responses wait to be stored: beyond that the
    // poll loop waits (backpressure), and a failure to store stops the connector (it is restarted).
    const MAX_IN_FLIGHT = 16;
    const inFlight = new Set<Promise<void>>();
    let storeError: unknown;
    const store = (records: SourceRecord[]) => {
      const pending = emit(records).then(
        () => void inFlight.delete(pending),
        (err: unknown) => {
          inFlight.delete(pending);
          storeError ??= err;
        },
      );
      inFlight.add(pending);
    };
    let next = Date.now();
    let failures = 0;
    try {
      while (!signal.aborted) {
        if (storeError !== undefined) throw storeError;
        try {
          const response = await httpRequest({
            url: config.endpoint,
            method: config.method,
            headers: requestHeaders(config),
            ...(config.body !== undefined ? { body: config.body } : {}),
            timeoutMs,
            signal,
          });
          failures = 0;
          const ok = response.status >= 200 && response.status < 300;
          if (ok || config.output_parts === 'full') store([{ value: formatRecord(config, response, response.body) }]);
          if (!ok) log.warn({ status: response.status, endpoint: config.endpoint }, `HTTP ${response.status} ${response.statusMessage}${config.output_parts === 'full' ? '' : ' (not recorded)'}`);
        } catch (err) {
          if (signal.aborted) break;
          failures++;
          log.warn({ err: (err as Error).message, failures }, 'HTTP request failed; trying again at the next interval');
        }
        while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        next += config.interval;
        const now = Date.now();
        if (next < now) next = now; // a slow request: go on at once, do not burst to catch up
        try {
          await sleep(next - now, signal);
        } catch {
          break;
        }
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (storeError !== undefined && !signal.aborted) throw storeError;
  }

  private async runStream(): Promise<void> {
    const { config, signal, log, emit } = this.ctx;
    const delimiter = Buffer.from(config.delimiter, 'utf8');
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const { response, head, done } = await openHttp({
          url: config.endpoint,
          method: config.method,
          headers: requestHeaders(config),
          ...(config.body !== undefined ? { body: config.body } : {}),
          connectTimeoutMs: 30_000,
          signal,
        });
        try {
          if (head.status < 200 || head.status >= 300) throw new Error(`HTTP ${head.status} ${head.statusMessage}`);
          attempt = 0;
          log.info({ endpoint: config.endpoint }, 'stream opened');
          let pending: Buffer = Buffer.alloc(0);
          for await (const chunk of response) {
            pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
            const records: SourceRecord[] = [];
            let start = 0;
            for (let at = pending.indexOf(delimiter); at >= 0; at = pending.indexOf(delimiter, start)) {
              if (at > start) records.push({ value: formatRecord(config, head, pending.subarray(start, at)) });
              start = at + delimiter.length;
            }
            pending = pending.subarray(start);
            // The stream is not read while the records are being stored: that is the backpressure.
            if (records.length > 0) await emit(records);
          }
          if (pending.length > 0) await emit([{ value: formatRecord(config, head, pending) }]);
          log.info('stream ended; reconnecting after the interval');
        } finally {
          done();
          response.destroy();
        }
        await sleep(config.interval, signal);
      } catch (err) {
        if (signal.aborted) break;
        const wait = backoffDelay(attempt++, RECONNECT_BACKOFF);
        log.warn({ err: (err as Error).message, retryInMs: wait }, 'stream failed; reconnecting');
        try {
          await sleep(wait, signal);
        } catch {
          break;
        }
      }
    }
  }

  private async runWebSocket(): Promise<void> {
    const { config, signal, log, emit } = this.ctx;
    const ws = config.websocket_config;
    const subscriptions = [...(ws?.subscription_message !== undefined ? [ws.subscription_message] : []), ...(ws?.subscription_messages ?? [])];
    const pingMs = ws?.ping_interval_ms ?? 10_000;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        await new Promise<void>((resolve, reject) => {
          const socket = new WebSocket(config.endpoint, { headers: Object.fromEntries(requestHeaders(config)), handshakeTimeout: 30_000 });
          const queue: SourceRecord[] = [];
          let draining = false;
          let ping: NodeJS.Timeout | undefined;
          let failed: Error | undefined;
          const finish = (err?: Error) => {
            clearInterval(ping);
            signal.removeEventListener('abort', onAbort);
            if (err) reject(err);
            else resolve();
          };
          const onAbort = () => socket.close(1000);
          signal.addEventListener('abort', onAbort, { once: true });
          const drain = async () => {
            if (draining) return;
            draining = true;
            try {
              while (queue.length > 0) {
                const batch = queue.splice(0, 500);
                await emit(batch);
                if (queue.length < 1000 && socket.isPaused) socket.resume();
              }
            } catch (err) {
              failed = err as Error;
              socket.terminate();
            } finally {
              draining = false;
            }
          };
          socket.on('open', () => {
            attempt = 0;
            log.info({ endpoint: config.endpoint }, 'WebSocket connected');
            for (const message of subscriptions) socket.send(message);
            if (pingMs > 0) ping = setInterval(() => socket.ping(), pingMs);
          });
          socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
            const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
            const text = buffer.toString('utf8');
            const body = isBinary && !Buffer.from(text, 'utf8').equals(buffer) ? buffer : Buffer.from(text, 'utf8');
            queue.push({ value: formatRecord(config, undefined, body) });
            // Stop reading the socket while too much waits to be stored.
            if (queue.length >= 1000 && !socket.isPaused) socket.pause();
            void drain();
          });
          socket.on('error', (err) => (failed ??= err));
          socket.on('close', (code, reason) => {
            const flush = async () => {
              while (draining) await sleep(10);
              if (!failed && queue.length > 0) await drain();
            };
            void flush().then(() => {
              if (failed) finish(failed);
              else if (signal.aborted) finish();
              else finish(new Error(`WebSocket closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`));
            });
          });
        });
      } catch (err) {
        if (signal.aborted) break;
        const wait = backoffDelay(attempt++, RECONNECT_BACKOFF);
        log.warn({ err: (err as Error).message, retryInMs: wait }, 'WebSocket failed; reconnecting');
        try {
          await sleep(wait, signal);
        } catch {
          break;
        }
      }
    }
  }
}

export const httpSource: ConnectorType<HttpSourceConfig> = {
  type: 'http-source',
  kind: 'source',
  section: 'http',
  parse,
  createSource: (ctx) => new HttpSource(ctx),
};
