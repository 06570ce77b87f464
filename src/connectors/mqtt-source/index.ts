// mqtt-source: subscribes to MQTT topics and turns each message into a
// record, with Fluvio's mqtt-source config (section `mqtt`; reference:
// shared/reference/fluvio-connectors.md §4.3).
//
//   mqtt:
//     url: mqtt://user:pass@host:1883/   # mqtt:// tcp:// (TCP), mqtts:// ssl:// tls:// (TLS), ws:// wss://;
//                                        # a client_id query parameter wins over client_id; a typed secret ref works
//     topic: "plant/+/telemetry"         # a topic filter (wildcards + and #); Freshet: a list of filters too
//     client_id: freshet-plant-1         # default: a random UUID
//     timeout: {secs: 60, nanos: 0}      # MQTT keep-alive interval (Fluvio's name for it)
//     payload_output_type: binary        # binary (default) | json
//     qos: 0                             # Freshet: 0 (default, as Fluvio) | 1 | 2
//
// Record: key null (as Fluvio), value JSON
//   binary: {"mqtt_topic":"sensors/1","payload":[104,105]}   (payload bytes as numbers)
//   json:   {"mqtt_topic":"sensors/1","payload":{...}}      (payload parsed as JSON; a message that is
//           not JSON is dropped with a warning, as in Fluvio; the payload text is kept as sent)
//
// Delivery. QoS 0 (Fluvio's only mode): at most once. Messages wait in a
// queue of 10,000 while the records before them are being stored; when it is
// full the oldest message is dropped (warned about), as in Fluvio. QoS 1/2:
// at least once: a message is acknowledged to the broker only after its
// record is stored, and with a client_id the session is persistent
// (clean: false), so the broker keeps messages while the connector is down.
// That holds one message in flight at a time, so it is slower than QoS 0.
//
// Connection: the first connect and the subscription must succeed, or run()
// fails (the runtime restarts the connector with backoff). After that, lost
// connections are re-established by the client every second and the
// subscriptions renewed; a refused login ends run() with the error.

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { ConnectorType, Source, SourceContext, SourceRecord } from '../connector.js';
import { ConfigError } from '../errors.js';
import { attachWarnings, configWarnings, parseSection, serdeDuration } from '../schema.js';

export interface MqttSourceConfig {
  /** Broker URL without credentials and query (safe to log). */
  brokerUrl: string;
  username?: string;
  password?: string;
  topics: string[];
  clientId: string;
  /** Whether client_id was given (then QoS 1/2 use a persistent session). */
  fixedClientId: boolean;
  keepAliveSeconds: number;
  payloadOutputType: 'binary' | 'json';
  qos: 0 | 1 | 2;
}

const PROTOCOLS: Record<string, 'mqtt' | 'mqtts' | 'ws' | 'wss'> = {
  mqtt: 'mqtt',
  tcp: 'mqtt',
  mqtts: 'mqtts',
  ssl: 'mqtts',
  tls: 'mqtts',
  ws: 'ws',
  wss: 'wss',
};

const topicFilter = z.string().min(1, 'expected an MQTT topic filter');

const schema = z
  .object({
    url: z.string({ error: 'required: the broker URL, e.g. mqtt://host:1883' }),
    topic: z.union([topicFilter, z.array(topicFilter).min(1)], { error: 'required: an MQTT topic filter (or a list of them)' }),
    client_id: z.string().min(1).optional(),
    timeout: serdeDuration().optional(),
    payload_output_type: z.enum(['binary', 'json']).default('binary'),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: 'expected 0, 1 or 2' }).default(0),
  })
  .strict();

function validFilter(filter: string): boolean {
  const levels = filter.split('/');
  return levels.every((level, i) => (level.includes('#') ? level === '#' && i === levels.length - 1 : !level.includes('+') || level === '+'));
}

export function parseMqttSourceConfig(section: unknown, prefix = 'mqtt'): MqttSourceConfig {
  const parsed = parseSection(schema, section, prefix);
  let url: URL;
  try {
    url = new URL(parsed.url);
  } catch {
    throw new ConfigError(`${prefix}.url: expected a broker URL such as mqtt://host:1883`);
  }
  const protocol = PROTOCOLS[url.protocol.replace(/:$/, '').toLowerCase()];
  if (!protocol) throw new ConfigError(`${prefix}.url: unsupported scheme "${url.protocol}" (expected mqtt, mqtts, tcp, ssl, tls, ws or wss)`);
  if (!url.hostname) throw new ConfigError(`${prefix}.url: no host in the broker URL`);
  const topics = typeof parsed.topic === 'string' ? [parsed.topic] : parsed.topic;
  for (const t of topics) if (!validFilter(t)) throw new ConfigError(`${prefix}.topic: "${t}" is not a valid topic filter (+ and # must fill a whole level; # only last)`);
  const urlClientId = url.searchParams.get('client_id') ?? undefined;
  const clientId = urlClientId ?? parsed.client_id;
  const keepAlive = parsed.timeout === undefined ? 60 : Math.round(parsed.timeout / 1000);
  if (keepAlive > 65_535) throw new ConfigError(`${prefix}.timeout: the keep-alive interval is at most 65535 s`);
  const port = url.port ? `:${url.port}` : '';
  const path = protocol === 'ws' || protocol === 'wss' ? url.pathname : '';
  const config: MqttSourceConfig = {
    brokerUrl: `${protocol}://${url.hostname}${port}${path}`,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    topics,
    clientId: clientId ?? randomUUID(),
    fixedClientId: clientId !== undefined,
    keepAliveSeconds: keepAlive,
    payloadOutputType: parsed.payload_output_type,
    qos: parsed.qos,
  };
  return attachWarnings(config, configWarnings(parsed));
}

/** The record value for one message, or undefined when a json message is not JSON. */
export function formatMessage(topic: string, payload: Buffer, type: 'binary' | 'json'): string | undefined {
  if (type === 'binary') return `{"mqtt_topic":${JSON.stringify(topic)},"payload":[${payload.join(',')}]}`;
  const text = payload.toString('utf8').trim();
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return `{"mqtt_topic":${JSON.stringify(topic)},"payload":${text}}`;
}

const QUEUE_LIMIT = 10_000;
const MAX_BATCH = 1000;
const WARN_EVERY_MS = 5 * 60_000;

interface Pending {
  topic: string;
  payload: Buffer;
  /** Acknowledges the message to the broker (QoS 1/2); called once its record is stored. */
  done?: () => void;
}

/** Connack codes (3.1.1 and 5) that mean the broker refused our login: not worth reconnecting for. */
const LOGIN_REFUSED = new Set([4, 5, 134, 135]);

class MqttSource implements Source {
  private readonly queue: Pending[] = [];
  private wake: (() => void) | undefined;
  private dropped = { full: 0, notJson: 0, lastWarn: 0 };
  /** Set when the connection failed for good: run() rejects with it. */
  private fatal: Error | undefined;

  constructor(private readonly ctx: SourceContext<MqttSourceConfig>) {}

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private warnDropped(): void {
    const now = Date.now();
    if (this.dropped.lastWarn !== 0 && now - this.dropped.lastWarn < WARN_EVERY_MS) return;
    const { full, notJson } = this.dropped;
    if (full === 0 && notJson === 0) return;
    this.ctx.log.warn({ droppedQueueFull: full, droppedNotJson: notJson }, 'mqtt messages dropped');
    this.dropped = { full: 0, notJson: 0, lastWarn: now };
  }

  async run(): Promise<void> {
    const { config, signal, log } = this.ctx;
    if (signal.aborted) return;
    const mqtt = await import('mqtt');
    const persistent = config.qos > 0 && config.fixedClientId;
    const client: MqttClient = mqtt.connect(config.brokerUrl, {
      clientId: config.clientId,
      ...(config.username !== undefined ? { username: config.username } : {}),
      ...(config.password !== undefined ? { password: config.password } : {}),
      keepalive: config.keepAliveSeconds,
      clean: !persistent,
      reconnectPeriod: 1000,
      connectTimeout: 30_000,
      resubscribe: true,
      protocolVersion: 4,
    });
    // Every message goes through here; for QoS 1/2 the broker's acknowledgement waits for `done`.
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (packet.qos === 0) {
        if (this.queue.length >= QUEUE_LIMIT) {
          this.queue.shift();
          this.dropped.full++;
          this.warnDropped();
        }
        this.queue.push({ topic: packet.topic, payload });
        done();
      } else {
        this.queue.push({ topic: packet.topic, payload, done: () => done() });
      }
      this.notify();
    };

    let connected = false;
    const failed = new Promise<never>((_, reject) => {
      const fail = (err: Error) => {
        this.fatal ??= err;
        reject(err);
        this.notify();
      };
      client.on('error', (err) => {
        const code = (err as { code?: unknown }).code;
        if (!connected) fail(new Error(`cannot connect to the MQTT broker ${config.brokerUrl}: ${err.message}`));
        else if (typeof code === 'number' && LOGIN_REFUSED.has(code)) fail(new Error(`the MQTT broker ${config.brokerUrl} refused the login: ${err.message}`));
        else log.warn({ err: err.message }, 'mqtt connection error');
      });
      client.on('close', () => {
        if (!connected) fail(new Error(`cannot connect to the MQTT broker ${config.brokerUrl}: connection closed`));
      });
    });
    failed.catch(() => {});
    client.on('reconnect', () => log.info({ broker: config.brokerUrl }, 'mqtt reconnecting'));
    client.on('offline', () => connected && log.warn({ broker: config.brokerUrl }, 'mqtt connection lost'));
    const onAbort = () => this.notify();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([new Promise<void>((resolve) => client.once('connect', () => resolve())), failed, aborted(signal)]);
      if (signal.aborted) return;
      connected = true;
      client.on('connect', () => log.info({ broker: config.brokerUrl }, 'mqtt connected again'));
      // Pump first: a persistent session's queued messages arrive before the SUBACK, and the
      // client reads nothing after an unacknowledged QoS 1/2 message until its record is stored.
      const pumping = this.pump();
      pumping.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
      try {
        const granted = await Promise.race([client.subscribeAsync(config.topics, { qos: config.qos }), failed]);
        const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) throw new Error(`the MQTT broker refused the subscription to ${refused.join(', ')}`);
        log.info({ broker: config.brokerUrl, topics: config.topics, qos: config.qos }, 'mqtt subscribed');
      } catch (err) {
        this.fatal ??= err as Error;
        this.notify();
      }
      await pumping;
      if (this.fatal) throw this.fatal;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await client.endAsync(true).catch(() => {});
    }
  }

  /** Moves queued messages into records until stopped (or a fatal error). */
  private async pump(): Promise<void> {
    const { config, signal } = this.ctx;
    while (!signal.aborted && !this.fatal) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (signal.aborted || this.fatal) resolve();
        });
        continue;
      }
      const batch = this.queue.splice(0, MAX_BATCH);
      const records: SourceRecord[] = [];
      for (const m of batch) {
        const value = formatMessage(m.topic, m.payload, config.payloadOutputType);
        if (value === undefined) {
          this.dropped.notJson++;
          this.warnDropped();
          continue;
        }
        records.push({ key: null, value });
      }
      if (records.length > 0) await this.ctx.emit(records);
      for (const m of batch) m.done?.();
    }
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

export const mqttSource: ConnectorType<MqttSourceConfig> = {
  type: 'mqtt-source',
  kind: 'source',
  section: 'mqtt',
  parse: (section) => parseMqttSourceConfig(section),
  createSource: (ctx) => new MqttSource(ctx),
};
