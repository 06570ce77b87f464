// Remote management and secrets. A node on free ports with mutual TLS and
// authorization: the CLI, given only the cluster endpoint (-c) and its TLS
// flags, finds the node's HTTP API through NodeInfo and manages a connector
// over HTTPS with a token (create, list, describe, delete); without the
// token it is its certificate's user, refused by name. A connector given a
// secret: its value is in no `connector describe|list|logs` output, no
// console answer and no line of the node's own log.

import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { makeCertificates, type TestCertificates } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { until } from '../helpers/dataflow.js';
import { removeDir, startTestNode, stopTestNode, tempDir } from '../helpers/test-node.js';

let dir: string;
let certs: TestCertificates;

before(async () => {
  dir = await tempDir('freshet-security-remote-');
  certs = await makeCertificates(path.join(dir, 'certs'));
});

after(async () => {
  await removeDir(dir);
});

function fileSource(name: string): string {
  return `apiVersion: 0.1.0\nmeta:\n  name: ${name}\n  type: file-source\n  version: 0.1.0\n  topic: ${name}-lines\nfile:\n  path: ${path.join(dir, `${name}.log`)}\n`;
}

describe('a node with mutual TLS and tokens, managed with -c alone', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let token: string;
  let tlsArgs: string[];

  before(async () => {
    node = await startTestNode({
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
      auth: { enabled: true, superUsers: ['admin'] },
    });
    await node.users.add('admin', {});
    token = (await node.users.issueToken('admin')).token;
    const operator = await certs.client('operator');
    tlsArgs = ['-c', node.endpoint, '--tls', '--ca-cert', certs.ca.certFile, '--client-cert', operator.certFile, '--client-key', operator.keyFile];
  });

  after(async () => {
    await stopTestNode(node);
  });

  test('the SC advertises an HTTPS API that wants a token', () => {
    assert.match(node.consoleUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test('connector create, list, describe and delete over HTTPS with the token', async () => {
    const config = path.join(dir, 'remote.yaml');
    await writeFile(config, fileSource('remote'));
    const env = { FRESHET_TOKEN: token };
    const created = await runCli([...tlsArgs, 'connector', 'create', '--config', config], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /connector "remote" \(file-source\) created/);
    const listed = await runCli([...tlsArgs, 'connector', 'list', '-O', 'json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { name: string }).name), ['remote']);
    const described = await runCli([...tlsArgs, 'connector', 'describe', 'remote'], { env });
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /Type\s+: file-source/);
    const dataflows = await runCli([...tlsArgs, 'dataflow', 'list', '-O', 'json'], { env });
    assert.equal(dataflows.code, 0, dataflows.stderr);

    // Without the token the caller is its certificate's user, who may do nothing here.
    const asOperator = await runCli([...tlsArgs, 'connector', 'delete', 'remote']);
    assert.equal(asOperator.code, 5);
    assert.match(asOperator.stderr, /operator may not delete connector "remote"/);
    const operatorList = await runCli([...tlsArgs, 'connector', 'list', '-O', 'json']);
    assert.equal(operatorList.code, 0, operatorList.stderr);
    assert.equal(operatorList.stdout.trim(), '', 'a list shows only what the caller may describe');

    const deleted = await runCli([...tlsArgs, 'connector', 'delete', 'remote'], { env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(node.connectors!.manager.list().length, 0);
  });

  test('with another CA than the node\'s, the CLI refuses the node and says why', async () => {
    const operator = await certs.client('operator');
    const untrusted = await runCli(['-c', node.endpoint, '--tls', '--ca-cert', certs.otherCa.certFile, '--client-cert', operator.certFile, '--client-key', operator.keyFile, 'connector', 'list'], {
      env: { FRESHET_TOKEN: token },
    });
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /not signed by a trusted CA/);
  });
});

describe('connector secrets stay secret', () => {
  const SECRET = 'sk-live-5ecr3t-v4lue-0042';
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let upstream: http.Server;
  let upstreamUrl: string;
  const nodeLog: string[] = [];

  before(async () => {
    upstream = http.createServer((_req, res) => res.writeHead(503).end('busy'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        nodeLog.push(chunk.toString('utf8'));
        done();
      },
    });
    node = await startTestNode({ logger: pino({ level: 'debug' }, sink), auth: { enabled: true, superUsers: ['admin'] } });
    await node.users.add('admin', {});
    // The node's own connectors connect without an identity of their own (yet): let anonymous use topics.
    await node.authorizer.add({ principal: 'User:anonymous', resource: 'topic', name: '*', pattern: 'literal', operations: ['all'], effect: 'allow' });
  });

  after(async () => {
    await stopTestNode(node);
    await new Promise((resolve) => upstream.close(resolve));
  });

  test('not in describe, list, logs, the console API or the node log', async () => {
    const { token } = await node.users.issueToken('admin');
    const config = path.join(dir, 'secret.yaml');
    await writeFile(
      config,
      `apiVersion: 0.1.0\nmeta:\n  name: keyed\n  type: http-source\n  version: 0.1.0\n  topic: keyed-out\n  secrets:\n    - name: API_KEY\nhttp:\n  endpoint: ${upstreamUrl}/v1?key=\${{ secrets.API_KEY }}\n  interval: 100ms\n`,
    );
    const env = { FRESHET_TOKEN: token, API_KEY: SECRET };
    const created = await runCli(['-c', node.endpoint, 'connector', 'create', '--config', config], { env });
    assert.equal(created.code, 0, created.stderr);
    // The connector ran and logged its failing requests (with the endpoint, which holds the secret).
    const logs = await until('a logged HTTP 503', async () => {
      const result = await runCli(['-c', node.endpoint, 'connector', 'logs', 'keyed', '--json'], { env });
      return result.stdout.includes('HTTP 503') ? result.stdout : undefined;
    });
    assert.match(logs, /key=\*\*\*/, 'the endpoint is logged, its secret masked');

    const outputs = [
      logs,
      (await runCli(['-c', node.endpoint, 'connector', 'describe', 'keyed', '-O', 'json'], { env })).stdout,
      (await runCli(['-c', node.endpoint, 'connector', 'list', '-O', 'json'], { env })).stdout,
      (await runCli(['-c', node.endpoint, 'connector', 'logs', 'keyed'], { env })).stdout,
    ];
    const headers = { authorization: `Bearer ${token}` };
    for (const route of ['/connectors', '/connectors/keyed', '/connectors/keyed/logs?lines=500', '/api/node', '/metrics']) {
      outputs.push(await (await fetch(`${node.consoleUrl}${route}`, { headers })).text());
    }
    outputs.push(nodeLog.join(''));
    for (const [index, text] of outputs.entries()) {
      assert.ok(!text.includes(SECRET), `output ${index} holds the secret`);
      assert.ok(!text.includes(token), `output ${index} holds the token`);
    }
    assert.ok(nodeLog.length > 0, 'the node log was captured');
  });
});
