import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createTopic, stopTestNode } from '../helpers/test-node.js';
import { kafkaBroker, kafkajs, startKafkaTestNode } from '../helpers/kafka.js';
import { RawKafka } from '../helpers/kafka-raw.js';
import { KafkaApiKey } from '../../src/protocol/kafka/api-keys.js';
import { KafkaError } from '../../src/protocol/kafka/error-codes.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';

const MAX_FRAME = 1024 * 1024;
const logLines: string[] = [];
let node: Awaited<ReturnType<typeof startKafkaTestNode>>;

before(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  node = await startKafkaTestNode({ logger: pino({ level: 'info' }, sink), limits: { ...DEFAULT_LIMITS, maxFrameBytes: MAX_FRAME } });
  await createTopic(node, 'steady');
});

after(async () => {
  await stopTestNode(node);
});

function loggedReason(pattern: RegExp): boolean {
  return logLines.some((line) => pattern.test(JSON.parse(line).reason ?? ''));
}

test('bad requests get an error or a closed connection with a logged reason; other clients keep working', async () => {
  const producer = kafkajs(kafkaBroker(node)).producer();
  await producer.connect();
  await producer.send({ topic: 'steady', messages: [{ value: 'before' }] });

  // ApiVersions at a version we do not serve: UNSUPPORTED_VERSION at v0, with our ranges.
  const raw = await RawKafka.connect(node.kafka!.port);
  const frame = raw.frame(KafkaApiKey.ApiVersions, 0, {});
  frame.writeInt16BE(9, 6);
  const answer = await raw.sendBytes(frame);
  assert.equal(answer.readInt16BE(4), KafkaError.UnsupportedVersion);
  assert.ok(answer.readInt32BE(6) > 10, 'the answer lists the APIs served');
  // The connection stays usable.
  const versions = await raw.request<{ errorCode: number }>(KafkaApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
  assert.equal(versions.errorCode, KafkaError.None);
  raw.close();

  const cases: { name: string; bytes: (raw: RawKafka) => Buffer; reason: RegExp }[] = [
    {
      name: 'unknown api key',
      bytes: (r) => {
        const f = r.frame(KafkaApiKey.Metadata, 1, { topics: null });
        f.writeInt16BE(999, 4);
        return f;
      },
      reason: /unsupported request: api key 999/,
    },
    {
      name: 'unsupported version of a served api',
      bytes: (r) => {
        const f = r.frame(KafkaApiKey.Metadata, 1, { topics: null });
        f.writeInt16BE(42, 6);
        return f;
      },
      reason: /unsupported request: Metadata v42/,
    },
    {
      name: 'truncated body',
      bytes: (r) => {
        const f = r.frame(KafkaApiKey.Produce, 7, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 'steady', partitionData: [{ index: 0, records: Buffer.alloc(80) }] }] });
        const cut = f.subarray(0, f.length - 40);
        cut.writeInt32BE(cut.length - 4, 0);
        return cut;
      },
      reason: /malformed Produce v7 request/,
    },
    {
      name: 'oversized frame',
      bytes: () => {
        const f = Buffer.alloc(8);
        f.writeInt32BE(MAX_FRAME + 1, 0);
        return f;
      },
      reason: /exceeds the limit/,
    },
    {
      name: 'negative frame length',
      bytes: () => Buffer.from([0xff, 0xff, 0xff, 0xf0]),
      reason: /negative frame length/,
    },
  ];
  for (const bad of cases) {
    const victim = await RawKafka.connect(node.kafka!.port);
    victim.socket.write(bad.bytes(victim));
    await victim.closed;
    assert.ok(loggedReason(bad.reason), `${bad.name}: a logged reason matching ${bad.reason}`);
  }

  // A corrupt batch is refused with CORRUPT_MESSAGE, and the connection stays.
  const corrupt = await RawKafka.connect(node.kafka!.port);
  const refused = await corrupt.request<{ responses: { partitionResponses: { errorCode: number }[] }[] }>(KafkaApiKey.Produce, 7, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: 'steady', partitionData: [{ index: 0, records: Buffer.alloc(80, 7) }] }],
  });
  assert.equal(refused.responses[0].partitionResponses[0].errorCode, KafkaError.CorruptMessage);
  corrupt.close();

  await producer.send({ topic: 'steady', messages: [{ value: 'after' }] });
  await producer.disconnect();
  assert.equal(node.replicas.get('steady', 0)!.highWatermark(), 2);
});
