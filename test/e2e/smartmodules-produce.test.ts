import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../src/protocol/index.js';
import { Freshet } from '../../src/client/index.js';
import { builtinSmartModule } from '../../src/smartengine/builtins.js';
import { createTopic, startTestNode, removeDir } from '../helpers/test-node.js';
import { RawClient, PRODUCE_VERSION, requestFrame } from '../helpers/raw-client.js';
import { runCli } from '../helpers/cli.js';

// Produce-side SmartModules: the chain in a Produce request transforms the
// batches before they are stored, as Fluvio's SPU does.

let node: Awaited<ReturnType<typeof startTestNode>>;

before(async () => {
  // Built-ins compile from source on first use; not part of what is timed below.
  await Promise.all([builtinSmartModule('infinyon/regex-filter'), builtinSmartModule('infinyon/jolt')]);
  node = await startTestNode();
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
});

function invocation(name: string, kind: p.SmartModuleKind, params: Record<string, string>): p.SmartModuleInvocation {
  return { wasm: { type: 'Predefined', name }, kind, params: { params: new Map(Object.entries(params)) } };
}

function produceFrame(client: RawClient, topic: string, values: string[], smartmodules: p.SmartModuleInvocation[]): Buffer {
  const batch = p.encodeBatch(values.map((value) => ({ key: null, value: Buffer.from(value) })));
  return requestFrame(p.SpuApiKey.Produce, PRODUCE_VERSION, client.allocateCorrelationId(), (w) =>
    p.encodeProduceRequest(
      w,
      {
        isolation: p.Isolation.ReadUncommitted,
        timeoutMs: 1500,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, records: batch }] }],
        smartmodules,
      },
      PRODUCE_VERSION,
    ),
  );
}

function partitionResponse(response: { body: p.Reader }): p.PartitionProduceResponse {
  return p.decodeProduceResponse(response.body, PRODUCE_VERSION).responses[0].partitions[0];
}

async function produceThrough(
  client: RawClient,
  topic: string,
  values: string[],
  smartmodules: p.SmartModuleInvocation[],
): Promise<p.PartitionProduceResponse> {
  return partitionResponse(await client.requestRaw(produceFrame(client, topic, values, smartmodules)));
}

async function storedValues(topic: string): Promise<string[]> {
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  try {
    const consumer = await freshet.consumer(topic, { partition: 0, offset: 'beginning', continuous: false });
    const values: string[] = [];
    for await (const record of consumer) values.push(record.valueString());
    return values;
  } finally {
    await freshet.close();
  }
}

test('a filter with params in a produce request stores only what it keeps', async () => {
  await node.topics.create({
    name: 'pets',
    partitions: 1,
    replicationFactor: 1,
    ignoreRackAssignment: false,
    compression: 'any',
    createdAt: new Date().toISOString(),
  });
  const client = await RawClient.connect(node.spuPort);
  try {
    const filter = invocation('infinyon/regex-filter', { type: 'Filter' }, { regex: '[Cc]at' });
    const kept = await produceThrough(client, 'pets', ['cat', 'dog', 'Cat food', 'bird'], [filter]);
    assert.equal(kept.errorCode.code, p.ErrorCode.None);
    assert.equal(kept.baseOffset, 0);
    const none = await produceThrough(client, 'pets', ['dog', 'bird'], [filter]);
    assert.equal(none.errorCode.code, p.ErrorCode.None);
    assert.equal(node.replicas.get('pets', 0)!.highWatermark(), 2);

    // A module that fails on a record rejects that entry and stores nothing of it.
    const jolt = invocation('infinyon/jolt', { type: 'Map' }, { spec: JSON.stringify([{ operation: 'shift', spec: { a: 'b' } }]) });
    const failed = await produceThrough(client, 'pets', ['not json'], [jolt]);
    assert.notEqual(failed.errorCode.code, p.ErrorCode.None);
    assert.equal(node.replicas.get('pets', 0)!.highWatermark(), 2);

    // An unknown module is refused with SmartModuleNotFound; plain produce still works.
    const missing = await produceThrough(client, 'pets', ['cat'], [invocation('no-such-module', { type: 'Filter' }, {})]);
    assert.equal(missing.errorCode.code, p.ErrorCode.SmartModuleNotFound);
    const plain = await produceThrough(client, 'pets', ['cat nap'], []);
    assert.equal(plain.baseOffset, 2);
  } finally {
    client.close();
  }
  assert.deepEqual(await storedValues('pets'), ['cat', 'Cat food', 'cat nap']);
});

test('freshet produce --smartmodule NAME -e k=v transforms lines before they are stored', async () => {
  const create = await runCli(['-c', node.endpoint, 'topic', 'create', 'pets-cli']);
  assert.equal(create.code, 0, create.stderr);
  const produced = await runCli(['-c', node.endpoint, 'produce', 'pets-cli', '--smartmodule', 'infinyon/regex-filter', '-e', 'regex=[Cc]at'], {
    input: 'cat\ndog\nCat food\nbird\n',
  });
  assert.equal(produced.code, 0, produced.stderr);
  assert.deepEqual(await storedValues('pets-cli'), ['cat', 'Cat food']);
});

const keepAll = () => invocation('infinyon/regex-filter', { type: 'Filter' }, { regex: '.' });

test('pipelined produce requests are stored in arrival order, whether a chain starts for them or not', async () => {
  await createTopic(node, 'arrival-order');
  const client = await RawClient.connect(node.spuPort);
  try {
    const values = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? `chain-${i}` : `plain-${i}`));
    // All written at once, before the node answers any of them.
    const frames = values.map((value) => produceFrame(client, 'arrival-order', [value], value.startsWith('chain') ? [keepAll()] : []));
    const answers = frames.map((frame) => client.requestRaw(frame));
    const responses = await Promise.all(answers);
    const offsets = responses.map((response) => partitionResponse(response).baseOffset);
    assert.deepEqual(offsets, [...values.keys()]);
    // A plain request after the line emptied goes on as before.
    assert.equal((await produceThrough(client, 'arrival-order', ['last'], [])).baseOffset, values.length);
    assert.deepEqual(await storedValues('arrival-order'), [...values, 'last']);
    assert.equal(node.replicas.appendOrder.busyPartitions, 0);
  } finally {
    await client.close();
  }
});

test('our client: a SmartModule producer pipelines its requests, and interleaved with a plain producer they are stored in send order', async () => {
  await createTopic(node, 'interleaved');
  // Five each: as many requests as one producer keeps in flight, so neither holds a batch back.
  const values = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? `chain-${i}` : `plain-${i}`));
  const freshet = await Freshet.connect({ endpoint: node.endpoint });
  try {
    const transformed = await freshet.producer('interleaved', {
      lingerMs: 0,
      smartmodules: [{ name: 'infinyon/regex-filter', kind: 'filter', params: { regex: '.' } }],
    });
    const plain = await freshet.producer('interleaved', { lingerMs: 0 });
    // Both connected before the interleaving starts.
    assert.equal(await transformed.send(null, 'first'), 0);
    assert.equal(await plain.send(null, 'second'), 1);
    const sends: Promise<number>[] = [];
    for (const value of values) {
      sends.push((value.startsWith('chain') ? transformed : plain).send(null, value));
      // Each value closes its own batch, which goes out at once.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await Promise.all(sends), values.map((_, i) => i + 2));
    assert.equal(transformed.requestCount, 6, 'every value of the SmartModule producer went in a request of its own');
    await transformed.close();
    await plain.close();
  } finally {
    await freshet.close();
  }
  assert.deepEqual(await storedValues('interleaved'), ['first', 'second', ...values]);
});
