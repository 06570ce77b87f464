import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, removeDir, tempDir } from '../helpers/test-node.js';
import { makeCertificates, type TestCertificates } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { Freshet, type ClientTlsOptions, type Consumer } from '../../src/client/index.js';

let certs: TestCertificates;
let node: Awaited<ReturnType<typeof startTestNode>>;
let dir: string;

before(async () => {
  dir = await tempDir('freshet-tls-');
  certs = await makeCertificates(path.join(dir, 'certs'));
  node = await startTestNode({
    tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
    limits: { ...DEFAULT_LIMITS, handshakeTimeoutMs: 500 },
    console: { enabled: false },
  });
});

after(async () => {
  await node.stop();
  await removeDir(node.dataDir);
  await removeDir(dir);
});

async function clientTls(name: string): Promise<ClientTlsOptions> {
  const pair = await certs.client(name);
  return { ca: certs.ca.cert, cert: pair.cert, key: pair.key };
}

async function readValues(consumer: Consumer, count: number): Promise<string[]> {
  const values: string[] = [];
  for await (const record of consumer) {
    values.push(record.valueString());
    if (values.length === count) break;
  }
  await consumer.close();
  return values;
}

test('our client over mutual TLS: admin, produce and consume through SC and SPU', async () => {
  const freshet = await Freshet.connect({ endpoint: node.endpoint, tls: await clientTls('alice') });
  try {
    await freshet.admin.createTopic('secured', { partitions: 2 });
    const producer = await freshet.producer('secured');
    await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send(`k${i % 7}`, `v${i}`)));
    await producer.flush();
    const values = [...(await readValues(await freshet.consumer('secured', { partition: 0, offset: 'beginning' }), node.replicas.get('secured', 0)!.highWatermark())), ...(await readValues(await freshet.consumer('secured', { partition: 1, offset: 'beginning' }), node.replicas.get('secured', 1)!.highWatermark()))];
    assert.equal(values.length, 100);
    assert.deepEqual(new Set(values).size, 100);
  } finally {
    await freshet.close();
  }
});

/** Resolves with the error a connection attempt fails with. */
async function connectError(options: ClientTlsOptions | undefined, endpoint = node.endpoint): Promise<Error & { code?: string }> {
  try {
    const freshet = await Freshet.connect({ endpoint, ...(options ? { tls: options } : {}), connectTimeoutMs: 5_000, retryTimeoutMs: 0 });
    await freshet.admin.listTopics();
    await freshet.close();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('the connection was expected to fail');
}

test('refused: no client certificate, one from another CA, an expired one, and an untrusted server', async () => {
  const before = node.stats();
  const none = await connectError({ ca: certs.ca.cert });
  assert.match(none.message, /refused the TLS handshake|closed|reset/i, none.message);
  const rogue = await connectError({ ca: certs.ca.cert, cert: certs.rogue.cert, key: certs.rogue.key });
  assert.match(rogue.message, /refused the TLS handshake|closed|reset/i, rogue.message);
  const expired = await connectError({ ca: certs.ca.cert, cert: certs.expired.cert, key: certs.expired.key });
  assert.match(expired.message, /refused the TLS handshake|closed|reset/i, expired.message);
  const alice = await certs.client('alice');
  const untrusted = await connectError({ ca: certs.otherCa.cert, cert: alice.cert, key: alice.key });
  assert.equal(untrusted.code, 'TLS');
  assert.match(untrusted.message, /not signed by a trusted CA/);
  const wrongName = await connectError({ ca: certs.ca.cert, cert: alice.cert, key: alice.key, domain: 'elsewhere.example' });
  assert.match(wrongName.message, /not valid for that name/);
  assert.ok(node.stats().scConnections <= before.scConnections, 'no refused client holds a connection');
  // Everyone else keeps working.
  const freshet = await Freshet.connect({ endpoint: node.endpoint, tls: await clientTls('bob') });
  assert.ok((await freshet.admin.listTopics()).some((t) => t.name === 'secured'));
  await freshet.close();
});

test('plain TCP to the TLS port is closed; TLS to a plain port says it does not speak TLS', async () => {
  const plain = net.connect(node.scPort, '127.0.0.1');
  plain.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 2, 0, 0, 0, 1, 0, 0]));
  await new Promise((resolve) => plain.once('close', resolve));

  const plainNode = await startTestNode({ console: { enabled: false } });
  try {
    const err = await connectError({ ca: certs.ca.cert }, plainNode.endpoint);
    assert.match(err.message, /does not speak TLS|refused the TLS handshake|closed/, err.message);
  } finally {
    await plainNode.stop();
    await removeDir(plainNode.dataDir);
  }
});

test('a TLS handshake that never completes is closed by the handshake timeout', async () => {
  const silent = net.connect(node.spuPort, '127.0.0.1');
  await new Promise((resolve) => silent.once('connect', resolve));
  await new Promise((resolve) => silent.once('close', resolve));
  // And a client that starts a handshake but never finishes it (sends a truncated ClientHello).
  const partial = net.connect(node.scPort, '127.0.0.1');
  partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  await new Promise((resolve) => partial.once('close', resolve));
  // A real handshake still works afterwards.
  const ok = tls.connect({ host: '127.0.0.1', port: node.scPort, ca: certs.ca.cert, ...(await certs.client('carol')) });
  await new Promise((resolve, reject) => ok.once('secureConnect', resolve).once('error', reject));
  ok.destroy();
});

test('the CLI connects with TLS from a fluvio-shaped profile and from the environment', async () => {
  const alice = await certs.client('alice');
  const profile = path.join(dir, 'config');
  await writeFile(
    profile,
    [
      'version = "2.0"',
      'current_profile = "secure"',
      '[profile.secure]',
      'cluster = "secure"',
      '[cluster.secure]',
      `endpoint = "${node.endpoint}"`,
      '[cluster.secure.tls]',
      'tls_policy = "verified"',
      'tls_source = "files"',
      '[cluster.secure.tls.certs]',
      'domain = "localhost"',
      `ca_cert = "${certs.ca.certFile}"`,
      `cert = "${alice.certFile}"`,
      `key = "${alice.keyFile}"`,
      '',
    ].join('\n'),
  );
  const viaProfile = await runCli(['topic', 'list', '-O', 'json'], { env: { FRESHET_PROFILE_PATH: profile } });
  assert.equal(viaProfile.code, 0, viaProfile.stderr);
  assert.ok(viaProfile.stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string }).some((t) => t.name === 'secured'));

  const viaEnv = await runCli(['-c', node.endpoint, 'topic', 'list'], {
    env: { FRESHET_TLS_CA: certs.ca.certFile, FRESHET_TLS_CERT: alice.certFile, FRESHET_TLS_KEY: alice.keyFile },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, /secured/);

  const viaFlags = await runCli(['-c', node.endpoint, '--tls', '--ca-cert', certs.ca.certFile, '--client-cert', alice.certFile, '--client-key', alice.keyFile, 'topic', 'list']);
  assert.equal(viaFlags.code, 0, viaFlags.stderr);
  assert.match(viaFlags.stdout, /secured/);

  const withoutCert = await runCli(['-c', node.endpoint, 'topic', 'list'], { env: { FRESHET_TLS_CA: certs.ca.certFile } });
  assert.notEqual(withoutCert.code, 0);
  assert.match(withoutCert.stderr, /TLS handshake|client certificate|closed/);

  const halfFlags = await runCli(['-c', node.endpoint, '--tls', '--client-cert', alice.certFile, 'topic', 'list']);
  assert.equal(halfFlags.code, 2);
  assert.match(halfFlags.stderr, /--client-cert and --client-key go together/);
});
