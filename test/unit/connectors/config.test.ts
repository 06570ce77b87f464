import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import '../../../src/connectors/builtins.js';
import { parseConnectorConfig, referencedSecrets, type ConnectorConfig } from '../../../src/connectors/config.js';
import type { ConnectorType } from '../../../src/connectors/connector.js';
import { ConfigError } from '../../../src/connectors/errors.js';
import { connectorType, registerConnector } from '../../../src/connectors/registry.js';
import { parseSection } from '../../../src/connectors/schema.js';
import { envSecretStore, fileSecretStore, mapSecretStore, parseSecretsText } from '../../../src/connectors/secrets.js';
import { parseByteSize, parseHumantime } from '../../../src/connectors/units.js';
import type { HttpSourceConfig } from '../../../src/connectors/http-source.js';
import type { HttpSinkConfig } from '../../../src/connectors/http-sink.js';
import type { WebhookConfig } from '../../../src/connectors/webhook.js';

// Types built by another engineer (sql-sink, mqtt-source): a stand-in with a loose schema when not registered yet,
// so the documentation examples can be parsed here regardless.
for (const [type, section, kind] of [
  ['sql-sink', 'sql', 'sink'],
  ['mqtt-source', 'mqtt', 'source'],
  ['duckdb-sink', 'duckdb', 'sink'],
] as const) {
  if (connectorType(type)) continue;
  const stub: ConnectorType<unknown> = {
    type,
    kind,
    section,
    parse: (value) => parseSection(z.record(z.string(), z.unknown()), value, section),
    ...(kind === 'source' ? { createSource: () => ({ run: async () => {} }) } : { createSink: () => ({ write: async () => ({ rejected: [] }), close: async () => {} }) }),
  };
  registerConnector(stub);
}

const GITHUB = `apiVersion: 0.1.0
meta:
  name: github-stars
  type: http-source
  version: 0.5.0
  topic: github-stars
  secrets:
    - name: GITHUB_TOKEN
http:
  endpoint: https://api.github.com/repos/infinyon/fluvio
  method: GET
  interval: 60s
  headers:
    - "Authorization: token \${{ secrets.GITHUB_TOKEN }}"
    - "Accept: application/vnd.github+json"
  output_type: json
  output_parts: full
transforms:
  - uses: infinyon/jolt@0.4.1
    with:
      spec:
        - operation: shift
          spec:
            body: payload
`;

function refused(text: string, pattern: RegExp, secrets: Record<string, string> = {}): ConfigError {
  try {
    parseConnectorConfig(text, { secrets: mapSecretStore(secrets) });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`accepted a config that should be refused (${pattern})`);
}

test('units: humantime and byte sizes as Fluvio spells them', () => {
  assert.equal(parseHumantime('1ms'), 1);
  assert.equal(parseHumantime('500ms'), 500);
  assert.equal(parseHumantime('2s'), 2000);
  assert.equal(parseHumantime('1h 30m'), 5_400_000);
  assert.equal(parseHumantime('3d'), 259_200_000);
  assert.equal(parseHumantime('1'), undefined);
  assert.equal(parseHumantime('10 parsecs'), undefined);
  assert.equal(parseByteSize('44.0 MB'), 44_000_000);
  assert.equal(parseByteSize('1 MiB'), 1_048_576);
  assert.equal(parseByteSize('16384'), 16384);
  assert.equal(parseByteSize(16384), 16384);
  assert.equal(parseByteSize('64 KB'), 64_000);
  assert.equal(parseByteSize('1aoeu'), undefined);
});

test('0.1.0: the http-source example of the docs, secrets rendered, with-maps as compact JSON', () => {
  const config = parseConnectorConfig(GITHUB, { secrets: mapSecretStore({ GITHUB_TOKEN: 'ghp_123' }) }) as ConnectorConfig<HttpSourceConfig>;
  assert.equal(config.apiVersion, '0.1.0');
  assert.equal(config.name, 'github-stars');
  assert.equal(config.type.type, 'http-source');
  assert.equal(config.topic, 'github-stars');
  assert.deepEqual(config.topicOptions, { partitions: 1, replicationFactor: 1 });
  assert.deepEqual(config.secrets, ['GITHUB_TOKEN']);
  assert.deepEqual(config.section.headers, [
    ['Authorization', 'token ghp_123'],
    ['Accept', 'application/vnd.github+json'],
  ]);
  assert.equal(config.section.interval, 60_000);
  assert.equal(config.section.output_type, 'json');
  assert.equal(config.section.output_parts, 'full');
  assert.equal(config.section.method, 'GET');
  assert.equal(config.section.userAgent, 'fluvio/http-source 0.5.0');
  assert.deepEqual(config.transforms, [{ uses: 'infinyon/jolt@0.4.1', params: { spec: '[{"operation":"shift","spec":{"body":"payload"}}]' } }]);
  assert.deepEqual(config.warnings, []);
});

test('0.2.0: topic object, producer settings with humantime and byte sizes', () => {
  const text = `apiVersion: 0.2.0
meta:
  name: weather-poller
  type: http-source
  version: 0.5.0
  topic:
    meta:
      name: weather
    partition:
      count: 2
    retention:
      time: 3d
      segment-size: 500 MB
    compression:
      type: Lz4
  producer:
    linger: 100ms
    batch-size: 64 KB
    compression: gzip
http:
  endpoint: https://example.invalid/weather
  interval: 30s
`;
  const config = parseConnectorConfig(text);
  assert.equal(config.topic, 'weather');
  assert.deepEqual(config.topicOptions, { partitions: 2, replicationFactor: 1, retentionSeconds: 259_200, segmentSize: 500_000_000, compression: 'lz4' });
  assert.deepEqual(config.producer, { lingerMs: 100, batchSize: 64_000, compression: 'gzip' });
  // 0.2.0 also takes a plain topic name.
  assert.equal(parseConnectorConfig(text.replace(/ {2}topic:\n(.|\n)*?(?= {2}producer)/, '  topic: plain\n')).topic, 'plain');
});

test('consumer settings: partitions, max_bytes, id, offset strategy/start/flush-period; default id and start', () => {
  const text = `apiVersion: 0.1.0
meta:
  name: orders-sink
  type: http-sink
  version: 0.3.0
  topic: orders
  secrets:
    - name: API_TOKEN
  consumer:
    id: orders-sink
    partition: [0, 1]
    max_bytes: 512 KB
    offset:
      strategy: auto
      start: beginning
      flush-period: {secs: 5, nanos: 0}
http:
  endpoint: https://example.invalid/ingest
  headers:
    - "Authorization: Bearer \${{ secrets.API_TOKEN }}"
`;
  const config = parseConnectorConfig(text, { secrets: mapSecretStore({ API_TOKEN: 't' }) }) as ConnectorConfig<HttpSinkConfig>;
  assert.deepEqual(config.consumer, { id: 'orders-sink', strategy: 'auto', start: 'beginning', partitions: [0, 1], maxBytes: 512_000, flushPeriodMs: 5000 });
  assert.equal(config.section.http_request_timeout, 15_000);
  assert.equal(config.section.http_connect_timeout, 1000);
  assert.deepEqual(config.section.headers, [['Authorization', 'Bearer t']]);
  const plain = parseConnectorConfig(text.replace(/ {2}consumer:(.|\n)*?(?=http:)/, ''), { secrets: mapSecretStore({ API_TOKEN: 't' }) });
  assert.deepEqual(plain.consumer, { id: 'connector-orders-sink', strategy: 'manual', start: 'end' });
  for (const [start, expected] of [
    ['{absolute: 7}', { absolute: 7 }],
    ['{from-beginning: 3}', { from: 'beginning', index: 3 }],
    ['{from-end: 2}', { from: 'end', index: 2 }],
  ] as const) {
    const c = parseConnectorConfig(text.replace('start: beginning', `start: ${start}`), { secrets: mapSecretStore({ API_TOKEN: 't' }) });
    assert.deepEqual(c.consumer.start, expected);
  }
});

test('secrets: from a file (NAME=value, first = splits, trimmed) and from the environment; typed {secret: {name}} references', async () => {
  assert.deepEqual(
    [...parseSecretsText('# comment\n A = b=c \n\nQUOTED="x y"\n')],
    [
      ['A', 'b=c'],
      ['QUOTED', 'x y'],
    ],
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'freshet-secrets-'));
  const file = path.join(dir, 's.env');
  await writeFile(file, 'GITHUB_TOKEN=from-file\n');
  const fromFile = parseConnectorConfig(GITHUB, { secrets: fileSecretStore(file) }) as ConnectorConfig<HttpSourceConfig>;
  assert.equal(fromFile.section.headers[0][1], 'token from-file');
  const fromEnv = parseConnectorConfig(GITHUB, { secrets: envSecretStore({ GITHUB_TOKEN: 'from-env' }) }) as ConnectorConfig<HttpSourceConfig>;
  assert.equal(fromEnv.section.headers[0][1], 'token from-env');

  const typed = `apiVersion: 0.1.0
meta:
  name: hook
  type: webhook
  version: 0.1.0
  topic: events
  secrets:
    - name: HOOK_SECRET
webhook:
  port: 8088
  secret:
    secret:
      name: HOOK_SECRET
`;
  const config = parseConnectorConfig(typed, { secrets: mapSecretStore({ HOOK_SECRET: 's3cret' }) }) as ConnectorConfig<WebhookConfig>;
  assert.equal(config.section.secret, 's3cret');
  assert.deepEqual(referencedSecrets(typed), ['HOOK_SECRET']);
  const err = refused(typed, /webhook\.secret: secret HOOK_SECRET has no value in given secrets/);
  assert.match(err.hint ?? '', /--secrets/);
});

test('bad configs are refused before anything starts, with the key path and what was expected', () => {
  const t = 'GITHUB_TOKEN';
  refused(GITHUB.replace('interval: 60s', 'interval: 60'), /^http\.interval: expected a duration/, { [t]: 'x' });
  refused(GITHUB.replace('interval: 60s', 'interval: soon'), /^http\.interval: expected a duration such as .*got "soon"/, { [t]: 'x' });
  refused(GITHUB.replace('output_type: json', 'output_type: xml'), /^http\.output_type: expected one of "text", "json"/, { [t]: 'x' });
  refused(GITHUB.replace('  endpoint: https://api.github.com/repos/infinyon/fluvio\n', ''), /^http\.endpoint: expected a URL/, { [t]: 'x' });
  refused(GITHUB.replace('endpoint: https:', 'endpoint: ftp:'), /^http\.endpoint: expected a http or https or ws or wss URL/, { [t]: 'x' });
  refused(GITHUB.replace('    - "Accept: application/vnd.github+json"', '    - "Accept=json"'), /^http\.headers\[1\]: expected "Name: value"/, { [t]: 'x' });
  refused(GITHUB.replace('apiVersion: 0.1.0', 'apiVersion: v1'), /^apiVersion: expected 0\.1\.0 or 0\.2\.0, got "v1"/);
  refused(GITHUB.replace('  version: 0.5.0\n', ''), /^meta\.version: expected the connector version/, { [t]: 'x' });
  refused(GITHUB.replace('type: http-source', 'type: carrier-pigeon'), /^meta\.type: unknown connector type "carrier-pigeon"/, { [t]: 'x' });
  refused(GITHUB.replace('name: github-stars', 'name: GitHub Stars'), /^meta\.name: expected a name of lowercase letters/, { [t]: 'x' });
  refused(GITHUB.replace('topic: github-stars', 'topic: {meta: {name: x}}'), /^meta\.topic: a topic object needs apiVersion: 0\.2\.0/, { [t]: 'x' });
  refused(GITHUB.replace('  type: http-source', '  type: http-source\n  producer:\n    linger: "1"'), /^meta\.producer\.linger: expected a duration/, { [t]: 'x' });
  refused(GITHUB.replace('  type: http-source', '  type: http-source\n  producer:\n    batch-size: 1aoeu'), /^meta\.producer\.batch-size: expected a byte size/, { [t]: 'x' });
  refused(GITHUB.replace('  type: http-source', '  type: http-source\n  producer:\n    compression: brotli'), /^meta\.producer\.compression: expected one of "none", "gzip"/, { [t]: 'x' });
  refused(GITHUB.replace('  - uses: infinyon/jolt@0.4.1', '  - usage: infinyon/jolt@0.4.1'), /^transforms\[0\]\.uses: expected a SmartModule name/, { [t]: 'x' });
  refused(GITHUB.replace('secrets.GITHUB_TOKEN', 'secrets.OTHER'), /^line 14: undefined value secrets\.OTHER/, { [t]: 'x', OTHER: 'y' });
  refused(GITHUB, /^line 14: secret GITHUB_TOKEN has no value/);
  refused(GITHUB.replace('- name: GITHUB_TOKEN', '- name: 1TOKEN'), /secret name `1TOKEN` must not start with a digit/);
  refused(GITHUB.replace('- name: GITHUB_TOKEN', '- name: "x y"'), /secret name `x y` can only contain alphanumeric ASCII characters and underscores/);
  refused('meta: [unclosed', /not valid YAML/);
  refused(GITHUB.replace('  interval: 60s\n', '  interval: 60s\n  interval: 10s\n'), /not valid YAML: Map keys must be unique/);
  // Several problems at once: all listed.
  const err = refused(GITHUB.replace('interval: 60s', 'interval: x').replace('output_type: json', 'output_type: xml'), /invalid config:/, { [t]: 'x' });
  assert.match(err.message, /http\.interval/);
  assert.match(err.message, /http\.output_type/);
});

test('the legacy (pre-2023) format is refused with directions', () => {
  const err = refused(
    `version: 0.2.0
name: my-http
type: http
topic: events
create_topic: true
parameters:
  endpoint: https://example.invalid
secrets:
  TOKEN: abc
`,
    /legacy connector format \(top-level name, type, topic, parameters, create_topic\)/,
  );
  assert.match(err.hint ?? '', /apiVersion: 0\.1\.0.*meta:/);
});

test('unknown keys warn (Fluvio ignores them) with a suggestion; known-ignored ones say why; docs spellings accepted', () => {
  const text = GITHUB.replace('  type: http-source', '  type: http-source\n  create-topic: true')
    .replace('  interval: 60s', '  interval: 60s\n  intervall: 5s\n  user-agent: my-agent')
    .concat('consumer:\n  id: x\n');
  const config = parseConnectorConfig(text, { secrets: mapSecretStore({ GITHUB_TOKEN: 'x' }) }) as ConnectorConfig<HttpSourceConfig>;
  assert.equal(config.section.userAgent, 'my-agent');
  assert.equal(config.section.interval, 60_000);
  assert.deepEqual(config.warnings, [
    'meta.create-topic is ignored: the topic is always created when it does not exist',
    'consumer is not a known top-level key for http-source (its section is `http:`) and is ignored; did you mean meta.consumer?',
    'http.intervall is not a known key and is ignored; did you mean interval?',
  ]);
  const legacy = parseConnectorConfig(GITHUB.replace('apiVersion: 0.1.0\n', '').replace(/ {2}secrets:\n {4}- name: GITHUB_TOKEN\n/, '').replace('token ${{ secrets.GITHUB_TOKEN }}', 'token x'));
  assert.equal(legacy.apiVersion, '0.0.0');
  assert.match(legacy.warnings[0], /apiVersion is missing/);
});

test('the examples of Fluvio\'s connector documentation parse unchanged', () => {
  const examples: [string, Record<string, string>][] = [
    [GITHUB, { GITHUB_TOKEN: 'x' }],
    [
      `apiVersion: 0.1.0
meta:
  name: alerts-webhook
  type: http-sink
  version: 0.3.0
  topic: alerts
  secrets:
    - name: HOOK_TOKEN
  consumer:
    id: alerts-webhook
    offset:
      strategy: auto
      start: beginning
      flush-period: {secs: 10, nanos: 0}
http:
  endpoint: https://hooks.example.invalid/alerts
  method: POST
  headers:
    - "Content-Type: application/json"
    - "Authorization: Bearer \${{ secrets.HOOK_TOKEN }}"
  http_request_timeout: 5s
  http_connect_timeout: 2s
`,
      { HOOK_TOKEN: 'x' },
    ],
    [
      `apiVersion: 0.1.0
meta:
  name: device-state
  type: sql-sink
  version: 0.5.0
  topic: device-events
  secrets:
    - name: PG_URL
  consumer:
    id: device-state
    offset:
      strategy: auto
      start: beginning
sql:
  url: \${{ secrets.PG_URL }}
  backoff-max: 30s
transforms:
  - uses: infinyon/json-sql@0.2.1
    with:
      mapping:
        table: device_state
        operation: upsert
        unique-columns: [device_id]
        map-columns:
          device_id:
            json-key: device.id
            value: {type: int, required: true}
          status:
            json-key: device.status
            value: {type: text, default: unknown}
          seen_at:
            json-key: ts
            value: {type: timestamp, required: true}
          doc:
            json-key: "$"
            value: {type: jsonb}
`,
      { PG_URL: 'postgres://u:p@127.0.0.1/db' },
    ],
    [
      `apiVersion: 0.1.0
meta:
  name: plant-sensors
  type: mqtt-source
  version: 0.3.0
  topic: plant-sensors
  secrets:
    - name: MQTT_URL
mqtt:
  url:
    secret:
      name: MQTT_URL
  topic: "plant/+/telemetry"
  client_id: freshet-plant-1
  timeout:
    secs: 30
    nanos: 0
  payload_output_type: json
`,
      { MQTT_URL: 'mqtt://127.0.0.1:1883' },
    ],
  ];
  for (const [text, secrets] of examples) {
    const config = parseConnectorConfig(text, { secrets: mapSecretStore(secrets) });
    assert.ok(config.name.length > 0);
  }
  const sql = parseConnectorConfig(examples[2][0], { secrets: mapSecretStore(examples[2][1]) });
  const mapping = JSON.parse(sql.transforms[0].params.mapping) as { 'map-columns': Record<string, unknown>; 'unique-columns': string[] };
  assert.deepEqual(mapping['unique-columns'], ['device_id']);
  assert.deepEqual(Object.keys(mapping['map-columns']), ['device_id', 'status', 'seen_at', 'doc']);
  assert.equal(sql.consumer.id, 'device-state');
  assert.deepEqual(sql.consumer.start, 'beginning');
});

test('lookback is passed through; with-values that are numbers become strings', () => {
  const text = GITHUB.replace(
    'transforms:\n',
    'transforms:\n  - uses: infinyon/regex-filter@0.2.0\n    with:\n      regex: "[Cc]at"\n      limit: 5\n    lookback:\n      last: 100\n      age: 1h\n',
  );
  const config = parseConnectorConfig(text, { secrets: mapSecretStore({ GITHUB_TOKEN: 'x' }) });
  assert.deepEqual(config.transforms[0], { uses: 'infinyon/regex-filter@0.2.0', params: { regex: '[Cc]at', limit: '5' }, lookback: { last: 100, ageMs: 3_600_000 } });
});

test('every example in docs/connectors.md parses', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/connectors.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((text) => text.startsWith('apiVersion'));
  assert.ok(blocks.length >= 8, `found ${blocks.length} examples`);
  const secrets = mapSecretStore({ API_TOKEN: 't', GITHUB_TOKEN: 't', HOOK_SECRET: 's', HOOK_TOKEN: 't', MQTT_URL: 'mqtt://127.0.0.1' });
  for (const text of blocks) {
    const config = parseConnectorConfig(text, { secrets });
    // The format overview shows producer and consumer settings together.
    const warnings = config.warnings.filter((w) => !(config.name === 'weather-poller' && w === 'meta.consumer is ignored by a source'));
    assert.deepEqual(warnings, [], `${config.name}: ${warnings.join('; ')}`);
  }
});
