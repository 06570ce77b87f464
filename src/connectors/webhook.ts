// webhook (section `webhook`): an HTTP endpoint that takes POSTed events
// into the topic. Freshet's own connector (Fluvio's is a cloud service), in
// the same config format:
//
//   webhook:
//     port: 8088              # required; host defaults to 127.0.0.1
//     path: /events           # default /
//     secret: ${{ secrets.HOOK_SECRET }}   # optional shared secret
//     max_body_bytes: 10 MB
//
// Bodies: `application/json` → one record, or one per element of a JSON
// array (batched); `application/x-ndjson` (or jsonl) → one record per
// non-empty line, each of which must be JSON; anything else → one record
// with the body as it is. With a secret, a request must carry it as
// `X-Webhook-Secret: <secret>`, `Authorization: Bearer <secret>`, or an
// HMAC signature of the body `X-Hub-Signature-256: sha256=<hex>` (GitHub's
// scheme); otherwise 401. The answer (200 {"stored": n}) is sent only after
// every record was stored; a failure to store answers 503, and the sender
// retries: nothing is acknowledged that was not stored.

import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { z } from 'zod';
import type { ConnectorType, Source, SourceContext, SourceRecord } from './connector.js';
import { byteSize, parseSection } from './schema.js';

const schema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number({ error: 'expected the port to listen on (0-65535)' }).int().min(0).max(65535),
    path: z.string().startsWith('/', 'expected a path starting with /').default('/'),
    secret: z.string().min(1, 'expected a non-empty secret').optional(),
    max_body_bytes: byteSize().default(10 * 1024 * 1024),
  })
  .strict();

export type WebhookConfig = z.output<typeof schema>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function authorized(req: http.IncomingMessage, body: Buffer, secret: string): boolean {
  const header = req.headers['x-webhook-secret'];
  if (typeof header === 'string' && safeEqual(header, secret)) return true;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer /i.test(auth) && safeEqual(auth.slice(7).trim(), secret)) return true;
  const signature = req.headers['x-hub-signature-256'];
  if (typeof signature === 'string') {
    const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    if (safeEqual(signature, expected)) return true;
  }
  return false;
}

/** Records of one request body. */
export function webhookRecords(contentType: string, body: Buffer): SourceRecord[] {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl' || type === 'application/x-jsonlines') {
    const records: SourceRecord[] = [];
    body
      .toString('utf8')
      .split('\n')
      .forEach((line, index) => {
        const text = line.trim();
        if (text === '') return;
        try {
          JSON.parse(text);
        } catch {
          throw new HttpError(400, `line ${index + 1} is not JSON`);
        }
        records.push({ value: text });
      });
    return records;
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(parsed)) return parsed.map((item) => ({ value: JSON.stringify(item) }));
    return [{ value: body.toString('utf8').trim() }];
  }
  return body.length === 0 ? [] : [{ value: body }];
}

class WebhookSource implements Source {
  constructor(private readonly ctx: SourceContext<WebhookConfig>) {}

  private async readBody(req: http.IncomingMessage): Promise<Buffer> {
    const limit = this.ctx.config.max_body_bytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new HttpError(413, `the body is larger than ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { config, emit, log } = this.ctx;
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== config.path) throw new HttpError(404, `no webhook at ${path}`);
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(405, 'only POST is accepted');
      }
      const body = await this.readBody(req);
      if (config.secret !== undefined && !authorized(req, body, config.secret)) throw new HttpError(401, 'missing or wrong webhook secret');
      const records = webhookRecords(String(req.headers['content-type'] ?? ''), body);
      try {
        await emit(records);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'could not store webhook records');
        throw new HttpError(503, `not stored: ${(err as Error).message}`);
      }
      reply(200, { stored: records.length });
    } catch (err) {
      if (err instanceof HttpError) reply(err.status, { error: err.message });
      else reply(500, { error: (err as Error).message });
    }
  }

  async run(): Promise<void> {
    const { config, signal, log } = this.ctx;
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    log.info({ url: `http://${config.host}:${port}${config.path}` }, 'webhook listening');
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }
}

export const webhookSource: ConnectorType<WebhookConfig> = {
  type: 'webhook',
  kind: 'source',
  section: 'webhook',
  parse: (section) => parseSection(schema, section, 'webhook'),
  createSource: (ctx) => new WebhookSource(ctx),
};
