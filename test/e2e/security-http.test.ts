// The console's HTTP side on nodes with authorization: no token, a wrong
// token, a principal without the right — each refused with its status and a
// JSON error naming what is missing; the browser page logs in with a token
// (playwright-core + chromium) and sees the dataflow list, and sees the login
// form without one. On a node with TLS: HTTPS with the node's certificate,
// and thousands of failed logins from one address locked out (429) with the
// guard's memory bounded, while a client with a certificate keeps working.
// (Dataflows run on the plain node: the node's own connections to a TLS SC
// are not there yet.)

import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { makeCertificates, type CertPair, type TestCertificates } from '../helpers/certs.js';
import { removeDir, startTestNode, stopTestNode, tempDir } from '../helpers/test-node.js';

const CHROMIUM = process.env.FRESHET_CHROMIUM ?? '/usr/bin/chromium';

const DATAFLOW = (name: string) => `
apiVersion: 0.5.0
meta: { name: ${name}, version: 0.1.0 }
config:
  converter: json
topics:
  ${name}-in: {}
  ${name}-out: {}
services:
  count:
    sources: [{ type: topic, id: ${name}-in }]
    window:
      tumbling: { duration: 1s }
      assign-timestamp: $.ts
      partition:
        assign-key: $.k
        aggregate:
          n: count
    sinks:
      - { type: topic, id: ${name}-out }
`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: string; hint?: string; resource?: unknown; operation?: string } & Record<string, unknown>;
}

let dir: string;
let certs: TestCertificates;
let node: Awaited<ReturnType<typeof startTestNode>>;
let secured: Awaited<ReturnType<typeof startTestNode>>;
let adminToken: string;
let bobToken: string;
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });

function call(method: string, route: string, options: { token?: string; cert?: CertPair; body?: unknown; on?: typeof node } = {}): Promise<Answer> {
  const url = new URL(route, (options.on ?? node).consoleUrl);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      {
        method,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        ...(secure ? { ca: certs.ca.cert, ...(options.cert ? { cert: options.cert.cert, key: options.cert.key } : { agent }) } : {}),
        headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as Answer['body']) : { text } }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  dir = await tempDir('freshet-security-http-');
  certs = await makeCertificates(path.join(dir, 'certs'));
  node = await startTestNode({ auth: { enabled: true, superUsers: ['admin'] } });
  secured = await startTestNode({
    tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
    auth: { enabled: true, superUsers: ['admin'] },
  });
  await node.users.add('admin', {});
  await node.users.add('bob', {});
  await secured.users.add('admin', {});
  adminToken = (await node.users.issueToken('admin')).token;
  bobToken = (await node.users.issueToken('bob')).token;
  await node.authorizer.add({ principal: 'User:bob', resource: 'dataflow', name: 'public-', pattern: 'prefix', operations: ['describe'], effect: 'allow' });
  // The node's own dataflows connect without an identity of their own (yet): let anonymous use topics and groups.
  for (const resource of ['topic', 'group'] as const) await node.authorizer.add({ principal: 'User:anonymous', resource, name: '*', pattern: 'literal', operations: ['all'], effect: 'allow' });
});

after(async () => {
  agent.destroy();
  await stopTestNode(node);
  await stopTestNode(secured);
  await removeDir(dir);
});

describe('console refusals', () => {
  it('no token: 401 saying how to authenticate', async () => {
    const answer = await call('GET', '/dataflows');
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'authentication required');
    assert.match(answer.body.hint ?? '', /Authorization: Bearer/);
    assert.equal(answer.headers['www-authenticate'], 'Bearer realm="freshet"');
    assert.equal((await call('GET', '/metrics')).status, 401);
    assert.equal((await call('GET', '/api/node')).status, 401);
    assert.equal((await call('GET', '/health')).status, 200, 'health needs no token');
  });

  it('a wrong token: 401', async () => {
    const answer = await call('GET', '/connectors', { token: 'fst_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'invalid or revoked token');
  });

  it('a principal without the right: 403 naming the resource; lists show only what it may describe', async () => {
    await node.dataflows!.create(DATAFLOW('public-prices'));
    await node.dataflows!.create(DATAFLOW('private-costs'));
    const metrics = await call('GET', '/metrics', { token: bobToken });
    assert.equal(metrics.status, 403);
    assert.deepEqual(metrics.body.resource, { type: 'cluster', name: 'freshet' });
    assert.equal(metrics.body.operation, 'describe');
    assert.match(metrics.body.error ?? '', /bob may not describe cluster "freshet"/);

    const list = await call('GET', '/dataflows', { token: bobToken });
    assert.equal(list.status, 200);
    assert.deepEqual((list.body as unknown as { name: string }[]).map((d) => d.name), ['public-prices']);
    const adminList = await call('GET', '/dataflows', { token: adminToken });
    assert.deepEqual((adminList.body as unknown as { name: string }[]).map((d) => d.name), ['private-costs', 'public-prices']);

    assert.equal((await call('GET', '/dataflows/public-prices', { token: bobToken })).status, 200);
    const hidden = await call('GET', '/dataflows/private-costs', { token: bobToken });
    assert.equal(hidden.status, 403);
    assert.deepEqual(hidden.body.resource, { type: 'dataflow', name: 'private-costs' });
    const stop = await call('POST', '/dataflows/public-prices/stop', { token: bobToken });
    assert.equal(stop.status, 403, 'describe does not allow alter');
    assert.equal(stop.body.operation, 'alter');
    const create = await call('POST', '/dataflows', { token: bobToken, body: { config: DATAFLOW('public-new') } });
    assert.equal(create.status, 403);
    assert.deepEqual(create.body.resource, { type: 'dataflow', name: 'public-new' });
    const counted = await call('GET', '/metrics', { token: adminToken });
    assert.match(String(counted.body.text), /freshet_auth_denials_total\{resource="dataflow",operation="describe"\} [1-9]/);
    const users = await call('POST', '/admin/users', { token: bobToken, body: { name: 'mallory' } });
    assert.equal(users.status, 403);
    assert.equal(node.users.get('mallory'), undefined);
    assert.ok((node.authorizer.denials.get('dataflow:describe') ?? 0) >= 1, 'denials are counted');
  });
});

describe('the browser console with a token', () => {
  let context: BrowserContext;

  before(async () => {
    context = await chromium.launchPersistentContext(path.join(dir, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await context.close();
  });

  it('without a token: the login form, and the API refuses; with one: the dataflow list', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${node.consoleUrl}/`);
    await page.waitForSelector('#login-form');
    const refused = await page.evaluate(async () => (await fetch('/dataflows')).status);
    assert.equal(refused, 401);

    // A wrong token says so and stays on the form.
    await page.fill('#token', 'fst_0123456789ab_wrongwrongwrongwrongwrongwrongwron');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => (document.getElementById('login-error')?.textContent ?? '') !== '');
    assert.match((await page.textContent('#login-error')) ?? '', /invalid or revoked token/);

    await page.fill('#token', adminToken);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => /public-prices/.test(document.getElementById('dataflows')?.textContent ?? ''), null, { timeout: 15_000 });
    assert.match((await page.textContent('#dataflows')) ?? '', /private-costs/);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'freshet_token');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page script cannot read the token');
  });
});

describe('the connector admin endpoint of a node without a console', () => {
  it('has the same authentication and checks', async () => {
    const bare = await startTestNode({ console: { enabled: false }, auth: { enabled: true, superUsers: ['admin'] } });
    try {
      await bare.users.add('admin', {});
      await bare.users.add('eve', {});
      const admin = (await bare.users.issueToken('admin')).token;
      const eve = (await bare.users.issueToken('eve')).token;
      const url = bare.connectors!.adminUrl!;
      const none = await fetch(`${url}/connectors`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="freshet"');
      assert.equal((await fetch(`${url}/connectors`, { headers: { authorization: `Bearer ${admin}` } })).status, 200);
      const refused = await fetch(`${url}/connectors/anything`, { method: 'DELETE', headers: { authorization: `Bearer ${eve}` } });
      assert.equal(refused.status, 403);
      assert.deepEqual(((await refused.json()) as { resource: unknown }).resource, { type: 'connector', name: 'anything' });
    } finally {
      await stopTestNode(bare);
    }
  });
});

// Last: it locks 127.0.0.1 out for tokens.
describe('failed logins', () => {
  it('thousands of failed logins from one address: locked out, memory bounded; a certificate client keeps working', async () => {
    const attempts = 2000;
    const statuses = new Map<number, number>();
    const first: number[] = [];
    for (let i = 0; i < attempts; i++) {
      const token = `fst_${i.toString(16).padStart(12, '0')}_${'x'.repeat(32)}`;
      const { status, headers } = await call('GET', '/api/node', { token, on: secured });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (first.length < 7) first.push(status);
      if (status === 429) assert.ok(Number(headers['retry-after']) >= 1);
    }
    assert.deepEqual(first.slice(0, 7), [401, 401, 401, 401, 401, 401, 429], 'six failures, then the address is locked out');
    // Each lockout doubles (1 s, 2 s, 4 s, ...): a new failure can only be counted when one ends.
    assert.ok((statuses.get(401) ?? 0) <= 6 + 20, `${statuses.get(401)} attempts were checked`);
    assert.equal((statuses.get(401) ?? 0) + (statuses.get(429) ?? 0), attempts);
    // Refused attempts cost nothing: the address, and one entry per checked token id.
    assert.ok(secured.loginGuard.entries <= 1 + (statuses.get(401) ?? 0), `the guard holds ${secured.loginGuard.entries} entries`);
    // The right token from the locked address waits too; a client certificate (another identity path) does not.
    const { token: adminToken } = await secured.users.issueToken('admin');
    assert.equal((await call('GET', '/api/node', { token: adminToken, on: secured })).status, 429);
    const admin = await certs.client('admin');
    const byCert = await call('GET', '/metrics', { cert: admin, on: secured });
    assert.equal(byCert.status, 200);
    const metrics = String(byCert.body.text);
    assert.match(metrics, new RegExp(`freshet_auth_failed_logins_total ${statuses.get(401)}\\b`));
    assert.match(metrics, new RegExp(`freshet_auth_locked_out_logins_total ${(statuses.get(429) ?? 0) + 1}\\b`), 'the locked-out attempts, and the admin token\'s');
    assert.match(secured.consoleUrl ?? '', /^https:/, 'HTTPS with the node certificate');
  });
});
