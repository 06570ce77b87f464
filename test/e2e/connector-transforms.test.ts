// `transforms:` of connector configs: client-side for sources (a built-in
// SmartModule by its Hub name; a record the chain fails on goes to the
// dead-letter topic), on the SPU for sinks (a SmartModule registered on the
// node, by name).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import { freePort } from '../helpers/child-node.js';
import { readAll, readRecords, startConnector, stateDirOf, waitFor } from '../helpers/connectors.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';
import { asModule } from '../unit/smartengine/asc.js';

type Node = Awaited<ReturnType<typeof startTestNode>>;
let node: Node;
let dir: string;

before(async () => {
  node = await startTestNode();
  dir = await tempDir('freshet-transforms-');
});
after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
  await removeDir(dir);
});

test('source: a built-in jolt transform runs in the connector; a record it fails on goes to the dead-letter topic', async () => {
  const port = await freePort();
  const hook = startConnector(
    `apiVersion: 0.1.0
meta:
  name: jolted
  type: webhook
  version: 0.1.0
  topic: jolted
webhook:
  port: ${port}
transforms:
  - uses: infinyon/jolt@0.4.1
    with:
      spec:
        - operation: shift
          spec:
            name: user.name
`,
    { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) },
  );
  await hook.running;
  const post = (body: string, type: string) => fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers: { 'content-type': type } });
  assert.equal((await post('[{"name":"Ann","id":1},{"name":"Bob"}]', 'application/json')).status, 200);
  assert.equal((await post('not json at all', 'text/plain')).status, 200);
  const records = await readAll(node.endpoint, 'jolted');
  assert.deepEqual(
    records.map((r) => r.valueString()),
    ['{"user":{"name":"Ann"}}', '{"user":{"name":"Bob"}}'],
  );
  const [dead] = await readRecords(node.endpoint, 'jolted-dlq', 1);
  const entry = dead.json<{ value: string; error: string }>();
  assert.equal(entry.value, 'not json at all');
  assert.match(entry.error, /infinyon\/jolt/);
  assert.equal(hook.stats.deadLetters, 1);
  await hook.stop();
});

test('sink: a SmartModule registered on the node runs on the SPU (consumer smartmodules) before the sink sees the records', async () => {
  const client = await Freshet.connect({ endpoint: node.endpoint });
  await client.admin.createSmartModule('keep-a', await asModule('filter-on-a'));
  await client.admin.createTopic('words');
  const producer = await client.producer('words');
  for (const word of ['apple', 'kiwi', 'banana', 'plum', 'grape']) await producer.send(null, word);
  await producer.flush();
  const out = path.join(dir, 'a-words.txt');
  const sink = startConnector(
    `apiVersion: 0.1.0
meta:
  name: a-words
  type: file-sink
  version: 0.1.0
  topic: words
  consumer:
    offset:
      strategy: manual
      start: beginning
file:
  path: ${out}
transforms:
  - uses: keep-a
`,
    { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) },
  );
  await waitFor('3 words', async () => ((await readFile(out, 'utf8').catch(() => '')).split('\n').length === 4 ? true : undefined));
  await sink.stop();
  assert.equal(await readFile(out, 'utf8'), 'apple\nbanana\ngrape\n');
  await client.close();
});
