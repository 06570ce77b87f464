// http-sink (section `http`), with the keys of Fluvio's http-sink 0.3:
// endpoint, method (POST), user_agent, headers (default
// `Content-Type: text/html`, replaced entirely when any are given),
// http_request_timeout (15s), http_connect_timeout (1s), backoff_min (1s),
// backoff_max (60s). Each record's value is the body of one request, in
// order.
//
// Delivery is stricter than Fluvio's (which logs non-2xx answers and skips
// a record after its retries): 2xx = accepted; a transport error, a
// timeout, 408, 429 or 5xx is retried with exponential backoff from
// backoff_min, up to backoff_max; when that is used up the write fails and
// the runtime retries, then restarts the connector from the last committed
// offset (nothing is lost). Any other 4xx means the endpoint refuses that
// record: it goes to the dead-letter topic with the status and the answer.

import { z } from 'zod';
import { RejectedRecord, type ConnectorContext, type ConnectorType, type Sink, type SinkRecord, type SinkWriteResult } from './connector.js';
import { duration, headerList, parseSection, url } from './schema.js';
import { httpRequest, type HttpResponse } from './http-client.js';
import { backoffDelay } from '../common/index.js';
import { sleep } from './runtime.js';

export const HTTP_SINK_USER_AGENT = 'fluvio/http-sink 0.3.0';

const schema = z
  .object({
    endpoint: url(['http', 'https']),
    method: z.string().min(1).default('POST'),
    user_agent: z.string().optional(),
    'user-agent': z.string().optional(),
    headers: headerList().optional(),
    http_request_timeout: duration().default(15_000),
    http_connect_timeout: duration().default(1000),
    backoff_min: duration().default(1000),
    backoff_max: duration().default(60_000),
  })
  .strict();

export type HttpSinkConfig = z.output<typeof schema> & { userAgent: string };

function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

class HttpSink implements Sink {
  private readonly headers: [string, string][];

  constructor(private readonly ctx: ConnectorContext<HttpSinkConfig>) {
    const config = ctx.config;
    this.headers = [...(config.headers ?? [['Content-Type', 'text/html']])];
    if (!this.headers.some(([n]) => n.toLowerCase() === 'user-agent')) this.headers.push(['User-Agent', config.userAgent]);
  }

  private async send(record: SinkRecord): Promise<RejectedRecord | undefined> {
    const { config, signal, log } = this.ctx;
    const backoff = { minMs: config.backoff_min, maxMs: config.backoff_max };
    for (let attempt = 0; ; attempt++) {
      let problem: string;
      try {
        const response: HttpResponse = await httpRequest({
          url: config.endpoint,
          method: config.method,
          headers: this.headers,
          body: record.value,
          timeoutMs: config.http_request_timeout,
          connectTimeoutMs: config.http_connect_timeout,
          signal,
        });
        if (response.status >= 200 && response.status < 300) return undefined;
        const answer = response.body.toString('utf8').slice(0, 500);
        problem = `HTTP ${response.status} ${response.statusMessage}${answer ? `: ${answer}` : ''}`;
        if (!retryable(response.status)) return new RejectedRecord(record, problem);
      } catch (err) {
        if (signal.aborted) throw err;
        problem = (err as Error).message;
      }
      // As Fluvio's http-sink: retries while the doubled delay stays within backoff_max.
      if (config.backoff_min * 2 ** attempt > config.backoff_max) throw new Error(`${config.method} ${config.endpoint} failed until backoff_max: ${problem}`);
      const wait = backoffDelay(attempt, backoff);
      log.warn({ offset: record.offset, partition: record.partition, retryInMs: wait }, `request failed, retrying: ${problem}`);
      await sleep(wait, signal);
    }
  }

  async write(records: readonly SinkRecord[]): Promise<SinkWriteResult> {
    const rejected: RejectedRecord[] = [];
    for (const record of records) {
      const refused = await this.send(record);
      if (refused) rejected.push(refused);
    }
    return { rejected };
  }

  async close(): Promise<void> {}
}

export const httpSink: ConnectorType<HttpSinkConfig> = {
  type: 'http-sink',
  kind: 'sink',
  section: 'http',
  parse: (section) => {
    const config = parseSection(schema, section, 'http');
    return Object.assign(config, { userAgent: config.user_agent ?? config['user-agent'] ?? HTTP_SINK_USER_AGENT });
  },
  createSink: (ctx) => new HttpSink(ctx),
};
