// file-source (tail, resume after a restart without duplicates, rotation)
// and file-sink (append, durable, resume from the committed offset).

import assert from 'node:assert/strict';
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Freshet } from '../../src/client/index.js';
import { readAll, readRecords, startConnector, stateDirOf, waitFor } from '../helpers/connectors.js';
import { removeDir, startTestNode, tempDir } from '../helpers/test-node.js';

type Node = Awaited<ReturnType<typeof startTestNode>>;
let node: Node;
let dir: string;

before(async () => {
  node = await startTestNode();
  dir = await tempDir('freshet-file-connector-');
});
after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
  await removeDir(dir);
});

const sourceYaml = (file: string) => `apiVersion: 0.1.0
meta:
  name: tail-app
  type: file-source
  version: 0.1.0
  topic: app-lines
file:
  path: ${file}
  poll_interval: 50ms
`;

test('file-source tails a file line by line and resumes after a restart without duplicates or gaps; a rotated file is read from its start', async () => {
  const file = path.join(dir, 'app.log');
  await writeFile(file, 'one\ntwo\r\n');
  const options = { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) };
  let source = startConnector(sourceYaml(file), options);
  await readRecords(node.endpoint, 'app-lines', 2);
  await appendFile(file, 'three\nfo');
  await readRecords(node.endpoint, 'app-lines', 3);
  await appendFile(file, 'ur\n');
  await readRecords(node.endpoint, 'app-lines', 4);
  await source.stop();

  // Lines written while it is stopped are picked up, nothing twice.
  await appendFile(file, 'five\nsix\n');
  source = startConnector(sourceYaml(file), options);
  await readRecords(node.endpoint, 'app-lines', 6);
  // Rotation: the file is moved away and a new one takes its place.
  await rename(file, `${file}.1`);
  await writeFile(file, 'seven\n');
  await readRecords(node.endpoint, 'app-lines', 7);
  await source.stop();
  const values = (await readAll(node.endpoint, 'app-lines')).map((r) => r.valueString());
  assert.deepEqual(values, ['one', 'two', 'three', 'four', 'five', 'six', 'seven']);
  const checkpoint = JSON.parse(await readFile(path.join(stateDirOf(node.dataDir), 'tail-app', 'checkpoint.json'), 'utf8')) as { state: { position: number } };
  assert.equal(checkpoint.state.position, 6);
});

test('file-sink appends records (value or JSON lines), commits after the write, and resumes without rewriting', async () => {
  const client = await Freshet.connect({ endpoint: node.endpoint });
  await client.admin.createTopic('to-file');
  const producer = await client.producer('to-file');
  for (let i = 0; i < 5; i++) await producer.send(`k${i}`, `v${i}`);
  await producer.flush();
  const out = path.join(dir, 'out.txt');
  const sinkYaml = (format: string, name: string, target: string) => `apiVersion: 0.1.0
meta:
  name: ${name}
  type: file-sink
  version: 0.1.0
  topic: to-file
  consumer:
    offset:
      strategy: manual
      start: beginning
file:
  path: ${target}
  format: ${format}
`;
  const options = { endpoint: node.endpoint, stateDir: stateDirOf(node.dataDir) };
  let sink = startConnector(sinkYaml('value', 'file-out', out), options);
  await waitFor('5 lines', async () => ((await readFile(out, 'utf8').catch(() => '')).split('\n').length === 6 ? true : undefined));
  await waitFor('the committed offset', async () => (await client.listConsumerOffsets()).find((o) => o.consumerId === 'connector-file-out' && o.offset === 4));
  await sink.stop();
  for (let i = 5; i < 8; i++) await producer.send(`k${i}`, `v${i}`);
  await producer.flush();
  sink = startConnector(sinkYaml('value', 'file-out', out), options);
  await waitFor('8 lines', async () => ((await readFile(out, 'utf8')).split('\n').length === 9 ? true : undefined));
  await sink.stop();
  assert.equal(await readFile(out, 'utf8'), 'v0\nv1\nv2\nv3\nv4\nv5\nv6\nv7\n');

  const jsonOut = path.join(dir, 'out.ndjson');
  const json = startConnector(sinkYaml('json', 'file-json', jsonOut), options);
  await waitFor('8 JSON lines', async () => ((await readFile(jsonOut, 'utf8').catch(() => '')).split('\n').length === 9 ? true : undefined));
  await json.stop();
  const first = JSON.parse((await readFile(jsonOut, 'utf8')).split('\n')[0]) as Record<string, unknown>;
  assert.deepEqual({ ...first, timestamp: typeof first.timestamp }, { topic: 'to-file', partition: 0, offset: 0, timestamp: 'number', key: 'k0', value: 'v0' });
  await client.close();
});
