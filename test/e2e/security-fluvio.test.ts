// The real @fluvio/client over mutual TLS, configured the way its users do
// it: a ~/.fluvio/config (in a temporary HOME) whose cluster has a
// `[cluster.X.tls]` section — tls_policy "verified", tls_source "files",
// domain, ca_cert, cert and key — and no address given to connect(). Fluvio
// checks the SC's certificate against the domain and each SPU's against
// "<spu name>.<domain>" (custom-spu-5001.localhost here, in the test
// server certificate). The
// node requires client certificates and authorization; the certificate's CN
// is a super user. It creates a topic, produces and consumes through the SC
// and the SPU. With a certificate from another CA it is refused.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { makeCertificates, type CertPair, type TestCertificates } from '../helpers/certs.js';
import { repoRoot } from '../helpers/child-node.js';
import { removeDir, startTestNode, stopTestNode, tempDir } from '../helpers/test-node.js';

const CLIENT = path.join(repoRoot, 'test', 'fixtures', 'node', 'fluvio-tls-client.cjs');

let dir: string;
let certs: TestCertificates;
let node: Awaited<ReturnType<typeof startTestNode>>;

before(async () => {
  dir = await tempDir('freshet-security-fluvio-');
  certs = await makeCertificates(path.join(dir, 'certs'));
  node = await startTestNode({
    tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
    auth: { enabled: true, superUsers: ['fluvio-app'] },
    console: { enabled: false },
    connectors: { enabled: false },
    dataflows: { enabled: false },
  });
});

after(async () => {
  await stopTestNode(node);
  await removeDir(dir);
});

/** A HOME whose ~/.fluvio/config points at the node with TLS from these files. */
async function fluvioHome(name: string, client: CertPair): Promise<string> {
  const home = path.join(dir, `home-${name}`);
  await mkdir(path.join(home, '.fluvio'), { recursive: true });
  const config = [
    'version = "2.0"',
    'current_profile = "secure"',
    '',
    '[profile.secure]',
    'cluster = "secure"',
    '',
    '[cluster.secure]',
    `endpoint = "${node.endpoint}"`,
    '',
    '[cluster.secure.tls]',
    'tls_policy = "verified"',
    'tls_source = "files"',
    '',
    '[cluster.secure.tls.certs]',
    'domain = "localhost"',
    `ca_cert = "${certs.ca.certFile}"`,
    `cert = "${client.certFile}"`,
    `key = "${client.keyFile}"`,
    '',
  ].join('\n');
  await writeFile(path.join(home, '.fluvio', 'config'), config);
  return home;
}

function runFluvioClient(home: string, topic: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.FLV_PROFILE_PATH;
  delete env.FLUVIO_DIR;
  const child = spawn(process.execPath, [CLIENT, topic], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('@fluvio/client with a verified TLS profile: admin, produce and consume', async () => {
  const home = await fluvioHome('app', await certs.client('fluvio-app'));
  const result = await runFluvioClient(home, 'fluvio-over-tls');
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout.trim()), { values: [0, 1, 2, 3, 4].map((i) => `over-tls-${i}`) });
  assert.equal(node.replicas.get('fluvio-over-tls', 0)?.highWatermark(), 5);
});

test('@fluvio/client with a certificate from another CA is refused', async () => {
  const home = await fluvioHome('rogue', certs.rogue);
  const result = await runFluvioClient(home, 'never-created');
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /terminated connection|handshake|ssl/i, result.stderr);
  assert.equal(node.topics.get('never-created'), undefined);
});
