// A 2022-era SmartModule on a node, consume and produce side: clients ask
// for input version 23 and batches carry timestamps, on which such a module
// fails with DecodingBaseInput in Fluvio. The node's engine runs it at
// version 22 instead (engine side: test/unit/smartengine/eras.test.ts). The
// module is filter-template, our twin of fluvio-smdk-filter-template (init
// needs param `key`; keeps values containing "a").

import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../src/protocol/index.js';
import { Freshet } from '../../src/client/index.js';
import { startTestNode, removeDir } from '../helpers/test-node.js';
import { RawClient, PRODUCE_VERSION } from '../helpers/raw-client.js';
import { asModule } from '../unit/smartengine/asc.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let freshet: Freshet;

// a node per test: its engine has not met the module yet
beforeEach(async () => {
  node = await startTestNode();
  freshet = await Freshet.connect({ endpoint: node.endpoint });
  await freshet.admin.createSmartModule('logs-2022', await asModule('filter-template'));
});

afterEach(async () => {
  await freshet.close();
  await node.stop();
  await removeDir(node.dataDir);
});

async function consumeThrough(topic: string): Promise<string[]> {
  const consumer = await freshet.consumer(topic, {
    partition: 0,
    offset: 'beginning',
    continuous: false,
    smartmodules: [{ name: 'logs-2022', params: { key: 'a' } }],
  });
  const values: string[] = [];
  for await (const record of consumer) values.push(record.valueString());
  return values;
}

test('consume side: a stream at version 23 over timestamped batches gets the 2022-era module’s output', async () => {
  assert.ok(PRODUCE_VERSION >= 23);
  await freshet.admin.createTopic('animals');
  const producer = await freshet.producer('animals');
  for (const value of ['cat', 'dog', 'bat', 'owl']) await producer.send(null, value);
  await producer.flush();
  assert.deepEqual(await consumeThrough('animals'), ['cat', 'bat']);
  // and again: the engine remembered the module (it starts at 22)
  assert.deepEqual(await consumeThrough('animals'), ['cat', 'bat']);
});

test('produce side: a Produce request at version 23 with the 2022-era module stores what it keeps', async () => {
  await freshet.admin.createTopic('birds');
  const client = await RawClient.connect(node.spuPort);
  try {
    const batch = p.encodeBatch(['crow', 'jay', 'hawk', 'wren'].map((value) => ({ key: null, value: Buffer.from(value) })), { firstTimestamp: Date.now() });
    const response = await client.request(p.SpuApiKey.Produce, PRODUCE_VERSION, (w) =>
      p.encodeProduceRequest(
        w,
        {
          isolation: p.Isolation.ReadUncommitted,
          timeoutMs: 1500,
          topics: [{ name: 'birds', partitions: [{ partitionIndex: 0, records: batch }] }],
          smartmodules: [{ wasm: { type: 'Predefined', name: 'logs-2022' }, kind: { type: 'Filter' }, params: { params: new Map([['key', 'a']]) } }],
        },
        PRODUCE_VERSION,
      ),
    );
    const partition = p.decodeProduceResponse(response.body, PRODUCE_VERSION).responses[0].partitions[0];
    assert.equal(partition.errorCode.code, p.ErrorCode.None);
  } finally {
    client.close();
  }
  const consumer = await freshet.consumer('birds', { partition: 0, offset: 'beginning', continuous: false });
  const values: string[] = [];
  for await (const record of consumer) values.push(record.valueString());
  assert.deepEqual(values, ['jay', 'hawk']);
});
