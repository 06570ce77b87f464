import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import pino from 'pino';
import { Authorizer, LoginGuard, UserStore } from '../../../src/auth/index.js';
import { HttpAuthenticator, httpRefusal, requestToken, SESSION_COOKIE } from '../../../src/auth/http-auth.js';
import { SecretRedactor } from '../../../src/connectors/redact.js';
import { removeDir, tempDir } from '../../helpers/test-node.js';

/** The parts of a request the authenticator reads. */
function request(headers: http.IncomingHttpHeaders, remoteAddress = '10.0.0.1'): http.IncomingMessage {
  return { headers, socket: { remoteAddress, encrypted: false } } as unknown as http.IncomingMessage;
}

async function parts(maxEntries = 100) {
  const dir = await tempDir('freshet-http-auth-');
  const users = await UserStore.open(dir);
  const authorizer = await Authorizer.open(dir, { enabled: true, superUsers: [], policyRules: [] }, pino({ level: 'silent' }));
  let now = 1_000_000;
  const guard = new LoginGuard({ maxEntries }, () => now);
  return { dir, users, authorizer, guard, auth: new HttpAuthenticator({ users, authorizer, guard }), advance: (ms: number) => (now += ms) };
}

test('a token from the header or the session cookie; the header wins', () => {
  assert.equal(requestToken(request({ authorization: 'Bearer fst_a' })), 'fst_a');
  assert.equal(requestToken(request({ cookie: `other=1; ${SESSION_COOKIE}=fst_b` })), 'fst_b');
  assert.equal(requestToken(request({ authorization: 'Bearer fst_a', cookie: `${SESSION_COOKIE}=fst_b` })), 'fst_a');
  assert.equal(requestToken(request({})), undefined);
});

test('valid, revoked and missing tokens; refusals as HTTP answers', async () => {
  const { dir, users, auth } = await parts();
  try {
    await users.add('carol', {});
    const { id, token } = await users.issueToken('carol');
    const ok = auth.authenticate(request({ authorization: `Bearer ${token}` }));
    assert.ok(ok.ok && ok.principal.user === 'carol' && ok.principal.mechanism === 'token');
    await users.revokeToken('carol', id);
    const revoked = auth.authenticate(request({ authorization: `Bearer ${token}` }));
    assert.equal(httpRefusal(revoked)?.status, 401);
    assert.equal(httpRefusal(revoked)?.body.error, 'invalid or revoked token');
    const none = httpRefusal(auth.authenticate(request({})));
    assert.equal(none?.status, 401);
    assert.equal(none?.headers['www-authenticate'], 'Bearer realm="freshet"');
    assert.equal(httpRefusal(new Error('other')), undefined, 'other errors are not refusals');
  } finally {
    await removeDir(dir);
  }
});

test('thousands of failed logins from thousands of addresses: the guard stays within its bound', async () => {
  const { dir, guard, auth } = await parts(100);
  try {
    for (let i = 0; i < 5000; i++) {
      const result = auth.authenticate(request({ authorization: `Bearer fst_${i.toString(16).padStart(12, '0')}_${'y'.repeat(32)}` }, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
      assert.equal(result.ok, false);
    }
    assert.equal(guard.failed, 5000);
    assert.ok(guard.entries <= 200, `${guard.entries} entries (100 per table at most)`);
  } finally {
    await removeDir(dir);
  }
});

test('one address locked out after its free failures, with Retry-After, until the lockout passes', async () => {
  const { dir, users, auth, advance } = await parts();
  try {
    await users.add('dave', {});
    const { token } = await users.issueToken('dave');
    const wrong = request({ authorization: 'Bearer fst_00000000000a_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' });
    for (let i = 0; i < 6; i++) assert.equal(httpRefusal(auth.authenticate(wrong))?.status, 401);
    const locked = httpRefusal(auth.authenticate(request({ authorization: `Bearer ${token}` })));
    assert.equal(locked?.status, 429);
    assert.equal(locked?.headers['retry-after'], '1');
    advance(1_001);
    assert.ok(auth.authenticate(request({ authorization: `Bearer ${token}` })).ok);
  } finally {
    await removeDir(dir);
  }
});

test('the redactor masks secret values raw, JSON-escaped and URL-encoded, longest first', () => {
  const redactor = new SecretRedactor();
  redactor.update(['s3cr3t"value', 'abc', undefined, 's3cr3t"value-long']);
  assert.equal(redactor.redact('a=s3cr3t"value-long b=s3cr3t"value'), 'a=*** b=***');
  assert.equal(redactor.redact(JSON.stringify({ msg: 'got s3cr3t"value' })), '{"msg":"got ***"}');
  assert.equal(redactor.redact(`u?k=${encodeURIComponent('s3cr3t"value')}`), 'u?k=***');
  assert.equal(redactor.redact('abc stays: too short to mask'), 'abc stays: too short to mask');
});
