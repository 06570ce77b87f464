// SCRAM (RFC 5802, RFC 7677) as Kafka uses it for SASL: credentials are kept
// as salt, iteration count, StoredKey and ServerKey — never the password —
// and the server side of the exchange checks a client's proof against them.
// PLAIN logins are checked against the same stored keys.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's minimum; RFC 7677 recommends at least 4096 as well. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;
const MAX_SCRAM_ITERATIONS = 100_000;

export interface ScramCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

const digestOf = (mechanism: ScramMechanism) => (mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512');
const lengthOf = (mechanism: ScramMechanism) => (mechanism === 'SCRAM-SHA-256' ? 32 : 64);

function hmac(mechanism: ScramMechanism, key: Buffer, data: string): Buffer {
  return createHmac(digestOf(mechanism), key).update(data).digest();
}

function saltedPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(password.normalize('NFKC'), salt, iterations, lengthOf(mechanism), digestOf(mechanism));
}

export function scramCredential(mechanism: ScramMechanism, password: string, iterations = DEFAULT_SCRAM_ITERATIONS, salt = randomBytes(24)): ScramCredential {
  if (!Number.isInteger(iterations) || iterations < DEFAULT_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw new Error(`SCRAM iterations must be ${DEFAULT_SCRAM_ITERATIONS}-${MAX_SCRAM_ITERATIONS}`);
  }
  const salted = saltedPassword(mechanism, password, salt, iterations);
  const clientKey = hmac(mechanism, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash(digestOf(mechanism)).update(clientKey).digest('base64'),
    serverKey: hmac(mechanism, salted, 'Server Key').toString('base64'),
  };
}

/** Does `password` match the credential (for SASL/PLAIN)? Constant time in the comparison. */
export function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string): boolean {
  const again = scramCredential(mechanism, password, credential.iterations, Buffer.from(credential.salt, 'base64'));
  return timingSafeEqual(Buffer.from(again.storedKey, 'base64'), Buffer.from(credential.storedKey, 'base64'));
}

/** SCRAM's saslname escaping: `=2C` is `,` and `=3D` is `=`. */
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new ScramError('invalid-encoding', 'malformed user name');
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function attributes(message: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq !== 1) throw new ScramError('invalid-encoding', `malformed attribute "${part.slice(0, 20)}"`);
    map.set(part[0]!, part.slice(2));
  }
  return map;
}

export class ScramError extends Error {
  constructor(
    /** The RFC 5802 server-error value sent back as `e=...`. */
    readonly code: 'invalid-encoding' | 'unknown-user' | 'invalid-proof' | 'other-error',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The server side of one SCRAM exchange: `first` takes the client-first
 * message and returns the server-first; `final` takes the client-final and
 * returns the server-final (`v=...`) once the proof checks out.
 */
export class ScramServer {
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private credential: ScramCredential | undefined;
  user = '';

  constructor(
    private readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string) => ScramCredential | undefined,
    /** The server's part of the nonce; random unless a test pins it. */
    private readonly serverNonce = randomBytes(18).toString('base64'),
  ) {}

  first(clientFirst: string): string {
    // gs2 header: "n,," or "n,a=authzid," (no channel binding over SASL in Kafka).
    const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(clientFirst);
    if (!match) throw new ScramError('invalid-encoding', 'malformed client-first message');
    this.clientFirstBare = match[3]!;
    const attrs = attributes(this.clientFirstBare);
    const user = attrs.get('n');
    const clientNonce = attrs.get('r');
    if (user === undefined || !clientNonce) throw new ScramError('invalid-encoding', 'client-first message without user or nonce');
    this.user = decodeSaslName(user);
    this.credential = this.lookup(this.user);
    // An unknown user still gets a well-formed challenge (with a throwaway
    // salt) so that a scan cannot tell unknown users from wrong passwords.
    const salt = this.credential?.salt ?? randomBytes(24).toString('base64');
    const iterations = this.credential?.iterations ?? DEFAULT_SCRAM_ITERATIONS;
    this.nonce = clientNonce + this.serverNonce;
    this.serverFirst = `r=${this.nonce},s=${salt},i=${iterations}`;
    return this.serverFirst;
  }

  final(clientFinal: string): string {
    const proofAt = clientFinal.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('invalid-encoding', 'client-final message without proof');
    const withoutProof = clientFinal.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    if (attrs.get('r') !== this.nonce) throw new ScramError('invalid-proof', 'nonce mismatch');
    if (!this.credential) throw new ScramError('unknown-user', `unknown user "${this.user}"`);
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const storedKey = Buffer.from(this.credential.storedKey, 'base64');
    const signature = hmac(this.mechanism, storedKey, authMessage);
    if (proof.length !== signature.length) throw new ScramError('invalid-proof', 'wrong password');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    const computed = createHash(digestOf(this.mechanism)).update(clientKey).digest();
    if (!timingSafeEqual(computed, storedKey)) throw new ScramError('invalid-proof', 'wrong password');
    return `v=${hmac(this.mechanism, Buffer.from(this.credential.serverKey, 'base64'), authMessage).toString('base64')}`;
  }
}
