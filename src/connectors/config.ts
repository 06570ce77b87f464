// Connector configs in Fluvio's YAML format (apiVersion 0.1.0 and 0.2.0;
// reference: ../shared/reference/fluvio-connectors.md §1–3):
//
//   apiVersion: 0.2.0
//   meta: { name, type, version, topic (string, or in 0.2.0 a topic object),
//           producer {linger, batch-size, compression},
//           consumer {partition, max_bytes, id, offset {strategy, start, flush-period}},
//           secrets [{name}] }
//   <section>: the connector's own settings (e.g. `http:`)
//   transforms: [{uses, with, lookback}]
//
// Processing follows Fluvio's: the raw text is parsed once to learn which
// secrets it declares, `${{ secrets.NAME }}` is rendered over the text,
// the result parsed and validated; typed `{secret: {name}}` references in
// the section are resolved; then the connector's own parse validates its
// section. Anything wrong is one ConfigError with key paths, before
// anything starts. Unknown keys warn (Fluvio ignores them silently).

import { parseDocument, isMap, type YAMLError } from 'yaml';
import { z } from 'zod';
import type { CompressionName } from '../protocol/index.js';
import type { CreateTopicOptions, OffsetSpec, TopicCompression } from '../client/index.js';
import type { ConnectorType } from './connector.js';
import { ConfigError } from './errors.js';
import { connectorType, connectorTypes } from './registry.js';
import { byteSize, configWarnings, duration, parseSection, serdeDuration } from './schema.js';
import { checkSecretName, envSecretStore, renderSecrets, resolveSecretRefs, type SecretStore } from './secrets.js';

export const API_VERSIONS = ['0.1.0', '0.2.0'] as const;

/** One SmartModule step of `transforms`. */
export interface TransformStep {
  uses: string;
  /** `with`, every value a string (maps and lists as compact JSON, as Fluvio passes them). */
  params: Record<string, string>;
  lookback?: { last: number; ageMs?: number };
}

export interface ProducerSettings {
  lingerMs?: number;
  batchSize?: number;
  compression?: CompressionName;
}

export interface ConsumerSettings {
  /** Partitions to read; undefined = all. */
  partitions?: number[];
  maxBytes?: number;
  /** The durable consumer id (meta.consumer.id, else derived from the connector name). */
  id: string;
  strategy: 'none' | 'manual' | 'auto';
  /** Where to start when this consumer has no stored offset (Fluvio's default: the end). */
  start: OffsetSpec;
  flushPeriodMs?: number;
}

export interface ConnectorConfig<Config = unknown> {
  /** As written ('0.0.0' when it was missing: read with the 0.1.0 layout). */
  apiVersion: string;
  name: string;
  type: ConnectorType<Config>;
  version: string;
  topic: string;
  /** How the topic is created when it does not exist (0.2.0 topic object; else 1 partition). */
  topicOptions: CreateTopicOptions;
  producer: ProducerSettings;
  consumer: ConsumerSettings;
  /** Names declared in meta.secrets. */
  secrets: string[];
  transforms: TransformStep[];
  /** The connector's section, validated by its type (secrets resolved). */
  section: Config;
  /** Things worth telling the user that do not stop the connector (ignored keys, ...). */
  warnings: string[];
}

export interface ParseOptions {
  /** Where secret values come from (default: the environment). */
  secrets?: SecretStore;
  /** For messages. */
  fileName?: string;
}

const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const TOPIC_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const MAX_NAME = 59; // so that `<name>-dlq` is still a valid topic name (63)

const connectorName = z
  .string({ error: 'expected the connector name (a string)' })
  .refine((name) => NAME_PATTERN.test(name) && name.length <= MAX_NAME, {
    message: `expected a name of lowercase letters, digits and dashes (at most ${MAX_NAME}), such as my-connector`,
  });

const topicName = z
  .string({ error: 'expected a topic name (a string)' })
  .refine((name) => TOPIC_PATTERN.test(name) && name.length <= 63, { message: 'expected a topic name: lowercase letters, digits and dashes, at most 63' });

const TOPIC_COMPRESSION: Record<string, TopicCompression> = { none: 'none', gzip: 'gzip', snappy: 'snappy', lz4: 'lz4', zstd: 'zstd', any: 'any' };

const topicObject = z
  .object({
    version: z.string().optional(),
    meta: z.object({ name: topicName }, { error: 'expected a map with the topic name: {name: my-topic}' }).strict(),
    partition: z
      .object({
        count: z.number().int().min(1).optional(),
        replication: z.number().int().min(1).optional(),
        'ignore-rack-assignment': z.boolean().optional(),
        'max-size': byteSize().optional(),
        maps: z.array(z.unknown()).optional(),
      })
      .strict()
      .optional(),
    retention: z.object({ time: duration().optional(), 'segment-size': byteSize().optional() }).strict().optional(),
    compression: z
      .object({
        type: z.string().transform((text, ctx) => {
          const value = TOPIC_COMPRESSION[text.toLowerCase()];
          if (!value) ctx.addIssue({ code: 'custom', message: `expected one of None, Gzip, Snappy, Lz4, Zstd, Any, got "${text}"` });
          return value ?? 'any';
        }),
      })
      .strict()
      .optional(),
    deduplication: z.unknown().optional(),
  })
  .strict();

const compression = z
  .string({ error: 'expected none, gzip, snappy, lz4 or zstd' })
  .transform((text) => text.toLowerCase())
  .pipe(z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd'], { error: 'expected none, gzip, snappy, lz4 or zstd' }));

const producerSchema = z
  .object({
    linger: duration().optional(),
    'batch-size': byteSize().optional(),
    batch_size: byteSize().optional(),
    compression: compression.optional(),
  })
  .strict();

const offsetIndex = z.number({ error: 'expected a non-negative integer' }).int().nonnegative();
const offsetStart = z.union(
  [
    z.enum(['beginning', 'end']),
    z.object({ absolute: offsetIndex }).strict(),
    z.object({ 'from-beginning': offsetIndex }).strict(),
    z.object({ 'from-end': offsetIndex }).strict(),
  ],
  { error: 'expected beginning, end, {absolute: N}, {from-beginning: N} or {from-end: N}' },
);

const partitionId = z.number({ error: 'expected a partition number' }).int().nonnegative();
const consumerSchema = z
  .object({
    partition: z.union([z.literal('all'), partitionId, z.array(partitionId).min(1)], { error: 'expected a partition number, a list of them, or all' }).optional(),
    max_bytes: byteSize().optional(),
    'max-bytes': byteSize().optional(),
    id: z.string().min(1, 'expected a non-empty consumer id').optional(),
    offset: z
      .object({
        strategy: z.enum(['none', 'manual', 'auto'], { error: 'expected none, manual or auto' }),
        start: offsetStart.optional(),
        'flush-period': serdeDuration().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const secretList = z.array(z.object({ name: z.string({ error: 'expected the secret name' }) }).strict(), { error: 'expected a list of {name: SECRET_NAME}' });

function metaSchema(apiVersion: string) {
  return z
    .object({
      name: connectorName,
      type: z.string({ error: 'expected the connector type (a string), such as http-source' }),
      version: z.union([z.string(), z.number()], { error: 'expected the connector version, such as 0.5.0 or latest' }).transform(String),
      topic:
        apiVersion === '0.2.0'
          ? z.union([topicName, topicObject], { error: 'expected a topic name or a topic object {meta: {name}, partition, retention, compression}' })
          : topicName.or(
              z.object({}).loose().transform((_, ctx) => {
                ctx.addIssue({ code: 'custom', message: 'a topic object needs apiVersion: 0.2.0 (with 0.1.0, topic is the topic name)' });
                return z.NEVER;
              }),
            ),
      producer: producerSchema.optional(),
      consumer: consumerSchema.optional(),
      secrets: secretList.optional(),
      'create-topic': z.unknown().optional(),
      create_topic: z.unknown().optional(),
    })
    .strict();
}

const withValue = z.union(
  [z.string(), z.number(), z.boolean(), z.array(z.unknown()), z.record(z.string(), z.unknown()), z.null()],
  { error: 'expected a string, a map or a list' },
);

const transformSchema = z
  .object({
    uses: z.string({ error: 'expected a SmartModule name, such as infinyon/jolt@0.4.1' }).min(1, 'expected a SmartModule name'),
    with: z.record(z.string(), withValue, { error: 'expected a map of parameters' }).optional(),
    lookback: z
      .object({ last: z.number().int().nonnegative().default(0), age: duration().optional() }, { error: 'expected {last: N, age: 1h}' })
      .strict()
      .optional(),
  })
  .strict();

const transformsSchema = z.array(transformSchema, { error: 'expected a list of steps {uses, with}' }).nullable().optional();

/** A `with` value as the module receives it: strings as they are, maps and lists as compact JSON. */
export function paramText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function yamlError(errors: readonly YAMLError[], fileName: string): ConfigError {
  const first = errors[0];
  const where = first.linePos ? `${fileName} line ${first.linePos[0].line}, column ${first.linePos[0].col}` : fileName;
  return new ConfigError(`${where}: not valid YAML: ${first.message.split('\n')[0]}`);
}

function parseYaml(text: string, fileName: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw yamlError(doc.errors, fileName);
  if (!isMap(doc.contents)) throw new ConfigError(`${fileName}: expected a map with apiVersion, meta and the connector's section`);
  return doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
}

const LEGACY_KEYS = ['name', 'type', 'topic', 'parameters', 'create_topic'];

function checkLegacy(doc: Record<string, unknown>, fileName: string): void {
  if ('meta' in doc) return;
  const legacy = LEGACY_KEYS.filter((key) => key in doc);
  if (legacy.length > 0) {
    throw new ConfigError(
      `${fileName}: this is the legacy connector format (top-level ${legacy.join(', ')}), which current connectors no longer read`,
      'write `apiVersion: 0.1.0`, move name, type, version and topic under `meta:`, the `parameters:` under the connector\'s section ' +
        '(e.g. `http:` for http-source), and list secrets as `meta.secrets: [{name: NAME}]` (values come from --secrets or the environment)',
    );
  }
  throw new ConfigError(`${fileName}: meta: missing; expected a map with name, type, version and topic`);
}

function apiVersionOf(doc: Record<string, unknown>, fileName: string): string {
  const raw = doc.apiVersion;
  if (raw === undefined || raw === null) return '0.0.0';
  const text = String(raw);
  if (!(API_VERSIONS as readonly string[]).includes(text)) {
    throw new ConfigError(`apiVersion: expected 0.1.0 or 0.2.0, got ${JSON.stringify(raw)}`, `${fileName} uses an apiVersion Fluvio's connectors do not know`);
  }
  return text;
}

/** Names declared in meta.secrets (read from the raw text, before rendering). */
function declaredSecrets(doc: Record<string, unknown>, apiVersion: string): string[] {
  if (apiVersion === '0.0.0') return []; // Fluvio ignores secrets in a file without apiVersion
  const meta = doc.meta;
  if (typeof meta !== 'object' || meta === null) return [];
  const list = (meta as { secrets?: unknown }).secrets;
  if (list === undefined || list === null) return [];
  const parsed = secretList.safeParse(list);
  if (!parsed.success) throw new ConfigError('meta.secrets: expected a list of {name: SECRET_NAME}');
  parsed.data.forEach((entry, i) => checkSecretName(entry.name, `meta.secrets[${i}].name`));
  return parsed.data.map((entry) => entry.name);
}

/** Every secret a config refers to: declared in meta.secrets, or used as a typed `{secret: {name}}` reference. */
export function referencedSecrets(text: string, fileName = 'config'): string[] {
  const doc = parseYaml(text, fileName);
  const names = new Set(declaredSecrets(doc, apiVersionOf(doc, fileName)));
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      const secret = (value as { secret?: { name?: unknown } }).secret;
      if (Object.keys(value).length === 1 && typeof secret?.name === 'string') names.add(secret.name);
      else Object.values(value).forEach(walk);
    }
  };
  for (const [key, value] of Object.entries(doc)) if (key !== 'meta' && key !== 'transforms') walk(value);
  return [...names];
}

function topicOptionsOf(topic: z.output<typeof topicObject>): CreateTopicOptions {
  const options: CreateTopicOptions = { partitions: topic.partition?.count ?? 1, replicationFactor: topic.partition?.replication ?? 1 };
  if (topic.partition?.['ignore-rack-assignment'] !== undefined) options.ignoreRackAssignment = topic.partition['ignore-rack-assignment'];
  if (topic.partition?.['max-size'] !== undefined) options.maxPartitionSize = topic.partition['max-size'];
  if (topic.retention?.time !== undefined) options.retentionSeconds = Math.max(1, Math.round(topic.retention.time / 1000));
  if (topic.retention?.['segment-size'] !== undefined) options.segmentSize = topic.retention['segment-size'];
  if (topic.compression?.type !== undefined) options.compression = topic.compression.type;
  return options;
}

function startOf(start: z.output<typeof offsetStart> | undefined): OffsetSpec {
  if (start === undefined || start === 'end') return 'end';
  if (start === 'beginning') return 'beginning';
  if ('absolute' in start) return { absolute: start.absolute };
  if ('from-beginning' in start) return { from: 'beginning', index: start['from-beginning'] };
  return { from: 'end', index: start['from-end'] };
}

/** The consumer id a sink uses when meta.consumer.id is not set. */
export function defaultConsumerId(name: string): string {
  return `connector-${name}`;
}

/**
 * Parses and validates a connector config (the YAML text). The connector
 * type must be registered (import ./builtins.js for the built-ins).
 */
export function parseConnectorConfig(text: string, options: ParseOptions = {}): ConnectorConfig {
  const fileName = options.fileName ?? 'config';
  const store = options.secrets ?? envSecretStore();
  const raw = parseYaml(text, fileName);
  checkLegacy(raw, fileName);
  const apiVersion = apiVersionOf(raw, fileName);
  const warnings: string[] = [];
  if (apiVersion === '0.0.0') warnings.push('apiVersion is missing: read as 0.1.0 (add `apiVersion: 0.1.0`; secrets are only available with it)');
  const declared = declaredSecrets(raw, apiVersion);
  const doc = text.includes('${') ? parseYaml(renderSecrets(text, new Set(declared), store), fileName) : raw;

  const meta = parseSection(metaSchema(apiVersion === '0.2.0' ? '0.2.0' : '0.1.0'), doc.meta ?? {}, 'meta');
  warnings.push(...configWarnings(meta));
  if (meta['create-topic'] !== undefined || meta.create_topic !== undefined) {
    warnings.push('meta.create-topic is ignored: the topic is always created when it does not exist');
  }
  const type = connectorType(meta.type);
  if (!type) {
    const known = connectorTypes().map((t) => t.type);
    throw new ConfigError(`meta.type: unknown connector type "${meta.type}"`, known.length > 0 ? `known types: ${known.join(', ')}` : undefined);
  }

  const transformsRaw = parseSection(transformsSchema, doc.transforms, 'transforms') ?? [];
  warnings.push(...configWarnings(transformsRaw));
  const transforms: TransformStep[] = transformsRaw.map((step) => {
    const out: TransformStep = { uses: step.uses, params: Object.fromEntries(Object.entries(step.with ?? {}).map(([key, value]) => [key, paramText(value)])) };
    if (step.lookback) out.lookback = { last: step.lookback.last, ...(step.lookback.age !== undefined ? { ageMs: step.lookback.age } : {}) };
    return out;
  });

  for (const key of Object.keys(doc)) {
    if (['apiVersion', 'meta', 'transforms', type.section].includes(key)) continue;
    const hint = key === 'consumer' || key === 'producer' ? `; did you mean meta.${key}?` : '';
    warnings.push(`${key} is not a known top-level key for ${type.type} (its section is \`${type.section}:\`) and is ignored${hint}`);
  }

  const sectionRaw = resolveSecretRefs(doc[type.section] ?? {}, store, type.section);
  let section: unknown;
  try {
    section = type.parse(sectionRaw);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${type.section}: ${(err as Error).message}`);
  }
  warnings.push(...configWarnings(section));

  let topic: string;
  let topicOptions: CreateTopicOptions = { partitions: 1, replicationFactor: 1 };
  if (typeof meta.topic === 'string') topic = meta.topic;
  else {
    topic = meta.topic.meta.name;
    topicOptions = topicOptionsOf(meta.topic);
    if (meta.topic.partition?.maps !== undefined) warnings.push('meta.topic.partition.maps is ignored: a single node assigns the replicas itself');
    if (meta.topic.deduplication !== undefined) warnings.push('meta.topic.deduplication is not supported yet and is ignored');
  }

  const producer: ProducerSettings = {};
  if (meta.producer?.linger !== undefined) producer.lingerMs = meta.producer.linger;
  const batchSize = meta.producer?.['batch-size'] ?? meta.producer?.batch_size;
  if (batchSize !== undefined) producer.batchSize = batchSize;
  if (meta.producer?.compression !== undefined) producer.compression = meta.producer.compression;
  if (meta.producer && type.kind === 'sink') warnings.push('meta.producer is ignored by a sink');
  if (meta.consumer && type.kind === 'source') warnings.push('meta.consumer is ignored by a source');

  const c = meta.consumer;
  const consumer: ConsumerSettings = {
    id: c?.id ?? defaultConsumerId(meta.name),
    strategy: c?.offset?.strategy ?? 'manual',
    start: startOf(c?.offset?.start),
  };
  if (c?.partition !== undefined && c.partition !== 'all') consumer.partitions = [c.partition].flat();
  const maxBytes = c?.['max-bytes'] ?? c?.max_bytes;
  if (maxBytes !== undefined) consumer.maxBytes = maxBytes;
  if (c?.offset?.['flush-period'] !== undefined) consumer.flushPeriodMs = c.offset['flush-period'];
  if (type.kind === 'sink' && c?.offset?.strategy === 'none') {
    warnings.push('meta.consumer.offset.strategy none: Freshet sinks still store their position (committed once the destination accepted the records)');
  }

  return {
    apiVersion,
    name: meta.name,
    type,
    version: meta.version,
    topic,
    topicOptions,
    producer,
    consumer,
    secrets: declared,
    transforms,
    section,
    warnings,
  };
}
