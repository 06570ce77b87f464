// mqtt-source against a real broker (Debian's mosquitto, started by the
// test): run() with a fake emit that records what it got.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Source, SourceRecord } from '../../src/connectors/connector.js';
import { formatMessage, mqttSource, type MqttSourceConfig } from '../../src/connectors/mqtt-source/index.js';
import { configWarnings } from '../../src/connectors/schema.js';
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js';
import { readAll, startConnector, stateDirOf, waitFor } from '../helpers/connectors.js';
import { freePort } from '../helpers/postgres.js';
import { removeDir, startTestNode } from '../helpers/test-node.js';

const log = pino({ level: process.env.FRESHET_TEST_LOG ?? 'silent' });

interface Running {
  records: SourceRecord[];
  /** Readiness markers seen (kept out of records). */
  markers: number;
  values: () => { mqtt_topic: string; payload: unknown }[];
  done: Promise<void>;
  stop: () => Promise<void>;
}

function start(section: Record<string, unknown>, emitDelayMs = 0): Running {
  const config: MqttSourceConfig = mqttSource.parse(section);
  const controller = new AbortController();
  const records: SourceRecord[] = [];
  const running = { markers: 0 };
  const isMarker = (r: SourceRecord) => {
    const v = JSON.parse(String(r.value)) as { mqtt_topic: string; payload: unknown };
    return v.mqtt_topic.endsWith('/ready') || JSON.stringify(v.payload) === '{"ready":true}';
  };
  const source = mqttSource.createSource!({
    config,
    name: 'mqtt-test',
    signal: controller.signal,
    log,
    emit: async (batch) => {
      if (emitDelayMs > 0) await new Promise((r) => setTimeout(r, emitDelayMs));
      for (const r of batch) {
        if (isMarker(r)) running.markers++;
        else records.push(r);
      }
    },
    checkpoints: { load: async () => undefined, save: async () => {} },
  }) as Source;
  const done = source.run();
  done.catch(() => {});
  return {
    records,
    get markers() {
      return running.markers;
    },
    values: () => records.map((r) => JSON.parse(String(r.value))),
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('mqtt-source', () => {
  let broker: TestMosquitto;
  let publisher: mqtt.MqttClient;

  before(async () => {
    broker = await startMosquitto();
    publisher = await mqtt.connectAsync(broker.url, { clientId: 'test-publisher' });
  });
  after(async () => {
    await publisher?.endAsync().catch(() => {});
    await broker?.stop();
  });

  /** QoS 0 messages sent before the subscription are lost: publish a marker until the source shows it, then start clean. */
  async function ready(run: Running, topic: string, payload = '{"ready":true}'): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (run.markers === 0) {
      if (Date.now() > deadline) throw new Error('the source never received the readiness marker');
      await publisher.publishAsync(topic, payload);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('binary payloads from several topics under a wildcard, as Fluvio formats them', async () => {
    const run = start({ url: broker.url, topic: 'sensors/#' });
    try {
      await ready(run, 'sensors/ready');
      await publisher.publishAsync('sensors/a', Buffer.from([0, 255, 104, 105]));
      await publisher.publishAsync('sensors/b/c', 'hi');
      await publisher.publishAsync('other/x', 'not subscribed');
      await publisher.publishAsync('sensors/a', Buffer.alloc(0));
      await until(() => run.records.length >= 3, 10_000, '3 records');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(run.values(), [
        { mqtt_topic: 'sensors/a', payload: [0, 255, 104, 105] },
        { mqtt_topic: 'sensors/b/c', payload: [104, 105] },
        { mqtt_topic: 'sensors/a', payload: [] },
      ]);
      assert.equal(String(run.records[1].value), '{"mqtt_topic":"sensors/b/c","payload":[104,105]}');
      for (const r of run.records) assert.equal(r.key, null);
    } finally {
      await run.stop();
    }
  });

  it('json payloads from a list of filters; a message that is not JSON is dropped', async () => {
    const run = start({ url: broker.url, topic: ['plant/+/telemetry', 'alerts'], payload_output_type: 'json', client_id: 'freshet-json-test' });
    try {
      await ready(run, 'alerts');
      await publisher.publishAsync('plant/1/telemetry', JSON.stringify({ temp: 21.5, id: 9007199254740993n.toString() }));
      await publisher.publishAsync('plant/2/telemetry', 'not json');
      await publisher.publishAsync('plant/2/other', '{"ignored":true}');
      await publisher.publishAsync('alerts', ' {"level": "high", "big": 12345678901234567890} ');
      await publisher.publishAsync('plant/3/telemetry', '[1,2,3]');
      await until(() => run.records.length >= 3, 10_000, '3 records');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        run.values().map((v) => v.mqtt_topic),
        ['plant/1/telemetry', 'alerts', 'plant/3/telemetry'],
      );
      assert.deepEqual(run.values()[0].payload, { temp: 21.5, id: '9007199254740993' });
      // The payload is kept as sent (large integers are not rounded).
      assert.equal(String(run.records[1].value), '{"mqtt_topic":"alerts","payload":{"level": "high", "big": 12345678901234567890}}');
      assert.deepEqual(run.values()[2].payload, [1, 2, 3]);
    } finally {
      await run.stop();
    }
  });

  it('many messages in order, batched into few emits', async () => {
    const run = start({ url: broker.url, topic: 'bulk/+' }, 5);
    try {
      await ready(run, 'bulk/ready', 'r');
      const n = 2000;
      for (let i = 0; i < n; i++) publisher.publish(`bulk/${i % 3}`, String(i));
      await until(() => run.records.length >= n, 20_000, `${n} records`);
      const numbers = run.values().map((v) => Number(Buffer.from(v.payload as number[]).toString()));
      assert.deepEqual(numbers, Array.from({ length: n }, (_, i) => i));
    } finally {
      await run.stop();
    }
  });

  it('QoS 1 with a client_id: messages sent while the connector is stopped arrive when it is back', async () => {
    const section = { url: `${broker.url}/?client_id=freshet-qos1-test`, topic: 'orders/#', qos: 1 };
    const first = start(section);
    // The subscription is persistent: wait until it exists, via a QoS 1 marker.
    const deadline = Date.now() + 10_000;
    while (first.markers === 0) {
      if (Date.now() > deadline) throw new Error('no marker');
      await publisher.publishAsync('orders/ready', 'r', { qos: 1 });
      await new Promise((r) => setTimeout(r, 50));
    }
    await first.stop();
    for (let i = 0; i < 20; i++) await publisher.publishAsync('orders/new', String(i), { qos: 1 });
    const second = start(section);
    try {
      await until(() => second.values().filter((v) => v.mqtt_topic === 'orders/new').length >= 20, 10_000, 'queued QoS 1 messages');
      const numbers = second
        .values()
        .filter((v) => v.mqtt_topic === 'orders/new')
        .map((v) => Number(Buffer.from(v.payload as number[]).toString()));
      assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await second.stop();
    }
  });

  it('end to end through the runtime: MQTT publishes → records in the topic', async () => {
    const node = await startTestNode();
    try {
      const source = startConnector(
        `apiVersion: 0.1.0
meta:
  name: plant-sensors
  type: mqtt-source
  version: 0.3.0
  topic: plant-sensors
mqtt:
  url:
    secret:
      name: MQTT_URL
  topic: "plant/+/telemetry"
  client_id: freshet-e2e
  timeout:
    secs: 30
    nanos: 0
  payload_output_type: json
`,
        { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir), secrets: { MQTT_URL: broker.url } },
      );
      try {
        await source.running;
        // QoS 0: publish markers until the subscription is in place, then the real messages.
        await waitFor(
          'the subscription',
          async () => {
            await publisher.publishAsync('plant/0/telemetry', '{"marker":true}');
            return source.stats.records > 0 ? true : undefined;
          },
          15_000,
        );
        for (let i = 1; i <= 5; i++) await publisher.publishAsync(`plant/${i}/telemetry`, JSON.stringify({ temp: 20 + i }));
        await publisher.publishAsync('plant/9/status', '{"not":"matched"}');
        const records = await waitFor(
          'five telemetry records',
          async () => {
            const all = await readAll(node.endpoint, 'plant-sensors');
            return all.filter((r) => !r.valueString().includes('marker')).length >= 5 ? all : undefined;
          },
          15_000,
        );
        const values = records.filter((r) => !r.valueString().includes('marker')).map((r) => r.json<{ mqtt_topic: string; payload: { temp: number } }>());
        assert.deepEqual(
          values.map((v) => [v.mqtt_topic, v.payload.temp]),
          [1, 2, 3, 4, 5].map((i) => [`plant/${i}/telemetry`, 20 + i]),
        );
        assert.equal(records[0].key, null);
      } finally {
        await source.stop();
      }
    } finally {
      await node.stop();
      await removeDir(node.dataDir);
    }
  });

  it('run() fails when the broker cannot be reached', async () => {
    const port = await freePort();
    const run = start({ url: `mqtt://127.0.0.1:${port}`, topic: 'x' });
    await assert.rejects(run.done, /cannot connect to the MQTT broker mqtt:\/\/127\.0\.0\.1/);
  });
});

describe('mqtt-source config', () => {
  it('parses Fluvio keys and defaults', () => {
    const c = mqttSource.parse({ url: 'mqtt://user:p%40ss@broker.example:1884/?client_id=from-url', topic: 'a/+/b', client_id: 'ignored', timeout: { secs: 30, nanos: 0 } });
    assert.equal(c.brokerUrl, 'mqtt://broker.example:1884');
    assert.equal(c.username, 'user');
    assert.equal(c.password, 'p@ss');
    assert.equal(c.clientId, 'from-url');
    assert.equal(c.keepAliveSeconds, 30);
    assert.equal(c.payloadOutputType, 'binary');
    assert.equal(c.qos, 0);
    assert.deepEqual(c.topics, ['a/+/b']);
    const d = mqttSource.parse({ url: 'ssl://h', topic: '#', payload_output_type: 'json' });
    assert.equal(d.brokerUrl, 'mqtts://h');
    assert.equal(d.keepAliveSeconds, 60);
    assert.equal(d.fixedClientId, false);
    assert.match(d.clientId, /^[0-9a-f-]{36}$/);
    assert.throws(() => mqttSource.parse({ url: 'http://h', topic: 'x' }), /mqtt\.url: unsupported scheme/);
    assert.throws(() => mqttSource.parse({ url: 'mqtt://h' }), /mqtt\.topic/);
    assert.throws(() => mqttSource.parse({ url: 'mqtt://h', topic: 'a/b#' }), /not a valid topic filter/);
    assert.throws(() => mqttSource.parse({ url: 'mqtt://h', topic: 'x', payload_output_type: 'text' }), /payload_output_type/);
    assert.throws(() => mqttSource.parse({ url: 'mqtt://h', topic: 'x', timeout: '10s' }), /mqtt\.timeout/);
    assert.match(configWarnings(mqttSource.parse({ url: 'mqtt://h', topic: 'x', mqtt_topic: 'y' })).join(), /mqtt\.mqtt_topic is not a known key/);
  });

  it('formats messages as Fluvio does', () => {
    assert.equal(formatMessage('t', Buffer.from('hi'), 'binary'), '{"mqtt_topic":"t","payload":[104,105]}');
    assert.equal(formatMessage('t', Buffer.from('{"a":1}'), 'json'), '{"mqtt_topic":"t","payload":{"a":1}}');
    assert.equal(formatMessage('t', Buffer.from('{"a":'), 'json'), undefined);
  });
});
