import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { passwordMatches, ScramError, ScramServer, scramCredential } from '../../../src/auth/index.js';

// RFC 7677 section 3: user "user", password "pencil".
const RFC = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

test('SCRAM-SHA-256 server side reproduces the RFC 7677 exchange', () => {
  const credential = scramCredential('SCRAM-SHA-256', 'pencil', 4096, Buffer.from(RFC.salt, 'base64'));
  const server = new ScramServer('SCRAM-SHA-256', (user) => (user === 'user' ? credential : undefined), RFC.serverNonce);
  assert.equal(server.first(RFC.clientFirst), RFC.serverFirst);
  assert.equal(server.final(RFC.clientFinal), RFC.serverFinal);
  assert.equal(server.user, 'user');
});

/** A client's side of SCRAM, written from RFC 5802's formulas. */
function clientFinal(mechanism: 'sha256' | 'sha512', password: string, clientFirstBare: string, serverFirst: string): string {
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), mechanism === 'sha256' ? 32 : 64, mechanism);
  const clientKey = createHmac(mechanism, salted).update('Client Key').digest();
  const storedKey = createHash(mechanism).update(clientKey).digest();
  const withoutProof = `c=biws,r=${attrs.r}`;
  const signature = createHmac(mechanism, storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

test('SCRAM-SHA-512: the right password passes, a wrong one and an unknown user fail alike', () => {
  const credential = scramCredential('SCRAM-SHA-512', 'correct horse');
  const lookup = (user: string) => (user === 'alice' ? credential : undefined);
  const ok = new ScramServer('SCRAM-SHA-512', lookup);
  const serverFirst = ok.first('n,,n=alice,r=abc123');
  assert.match(ok.final(clientFinal('sha512', 'correct horse', 'n=alice,r=abc123', serverFirst)), /^v=/);

  const wrong = new ScramServer('SCRAM-SHA-512', lookup);
  const first2 = wrong.first('n,,n=alice,r=xyz');
  assert.throws(() => wrong.final(clientFinal('sha512', 'battery staple', 'n=alice,r=xyz', first2)), (e: ScramError) => e.code === 'invalid-proof');

  const unknown = new ScramServer('SCRAM-SHA-512', lookup);
  const first3 = unknown.first('n,,n=mallory,r=q');
  assert.match(first3, /^r=q.+,s=.+,i=4096$/, 'an unknown user still gets a challenge');
  assert.throws(() => unknown.final(clientFinal('sha512', 'x', 'n=mallory,r=q', first3)), (e: ScramError) => e.code === 'unknown-user');
});

test('malformed SCRAM messages are refused with invalid-encoding', () => {
  const server = new ScramServer('SCRAM-SHA-256', () => undefined);
  for (const bad of ['', 'x,,n=a,r=b', 'n,,n=a', 'n,,garbage', 'n,,n=a=ZZ,r=b']) {
    assert.throws(() => new ScramServer('SCRAM-SHA-256', () => undefined).first(bad), (e: ScramError) => e.code === 'invalid-encoding', bad);
  }
  server.first('n,,n=a,r=b');
  assert.throws(() => server.final('c=biws,r=b'), (e: ScramError) => e.code === 'invalid-encoding');
  assert.throws(() => server.final('c=biws,r=other,p=AAAA'), (e: ScramError) => e.code === 'invalid-proof');
});

test('PLAIN passwords are checked against the stored keys; the password itself is not stored', () => {
  const credential = scramCredential('SCRAM-SHA-256', 's3cret-pass');
  assert.equal(passwordMatches('SCRAM-SHA-256', credential, 's3cret-pass'), true);
  assert.equal(passwordMatches('SCRAM-SHA-256', credential, 's3cret-pasS'), false);
  assert.ok(!JSON.stringify(credential).includes('s3cret'));
  assert.throws(() => scramCredential('SCRAM-SHA-256', 'x', 10), /iterations/);
});
