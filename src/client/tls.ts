// TLS for the client's connections, set in the shape of Fluvio's profile
// `tls` section:
//
//   [cluster.prod.tls]
//   tls_policy = "verified"        # "disabled" | "anonymous" | "verified"
//   tls_source = "files"           # "files": paths; "inline": PEM text
//   [cluster.prod.tls.certs]
//   domain = "freshet.example.com" # the name the server's certificate must carry
//   ca_cert = "/etc/freshet/ca.crt"
//   cert = "/etc/freshet/alice.crt" # client certificate (mutual TLS), optional
//   key = "/etc/freshet/alice.key"
//
// or as options to Freshet.connect({ tls: {...} }), or from the environment
// (FRESHET_TLS_CA, FRESHET_TLS_CERT, FRESHET_TLS_KEY: file paths;
// FRESHET_TLS_DOMAIN; FRESHET_TLS=anonymous for TLS without verification).
// "anonymous" encrypts but does not check whom it talks to, as Fluvio's.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { FreshetError } from './errors.js';

export interface ClientTlsOptions {
  /** 'verified' (default): check the server's certificate against `ca` (or the system's roots) and `domain`. */
  policy?: 'verified' | 'anonymous';
  /** PEM text of the CA that signed the server's certificate. */
  ca?: string;
  /** PEM text of the client certificate and key, for mutual TLS. */
  cert?: string;
  key?: string;
  /** Name the server's certificate must be valid for (default: the endpoint's host). */
  domain?: string;
}

function readPem(file: string, what: string, source: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FreshetError('CONFIG', `cannot read the ${what} ${file} (${source}): ${(err as Error).message}`, { cause: err });
  }
}

/** The `tls` section of a profile's cluster, as Fluvio writes it. */
export function tlsFromProfile(section: unknown, source: string): ClientTlsOptions | undefined {
  if (section === undefined) return undefined;
  const tlsSection = section as { tls_policy?: string; tls_source?: string; certs?: Record<string, string | undefined> };
  const policy = tlsSection.tls_policy ?? 'disabled';
  if (policy === 'disabled') return undefined;
  if (policy === 'anonymous') return { policy: 'anonymous' };
  if (policy !== 'verified') throw new FreshetError('CONFIG', `${source}: tls_policy must be "disabled", "anonymous" or "verified", not "${policy}"`);
  const certs = tlsSection.certs ?? {};
  const inline = tlsSection.tls_source === 'inline';
  if (!inline && tlsSection.tls_source !== undefined && tlsSection.tls_source !== 'files') {
    throw new FreshetError('CONFIG', `${source}: tls_source must be "files" or "inline"`);
  }
  const pem = (key: string, what: string) => {
    const value = certs[key];
    if (value === undefined) return undefined;
    return inline ? value : readPem(value, what, `${source} tls.certs.${key}`);
  };
  const options: ClientTlsOptions = { policy: 'verified' };
  const ca = pem('ca_cert', 'CA certificate');
  const cert = pem('cert', 'client certificate');
  const key = pem('key', 'client key');
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  if (certs.domain !== undefined) options.domain = certs.domain;
  if ((cert === undefined) !== (key === undefined)) throw new FreshetError('CONFIG', `${source}: tls.certs needs both cert and key for a client certificate`);
  return options;
}

export function tlsFromEnv(env: NodeJS.ProcessEnv): ClientTlsOptions | undefined {
  if (env.FRESHET_TLS === 'anonymous') return { policy: 'anonymous' };
  if (!env.FRESHET_TLS_CA && !env.FRESHET_TLS_CERT && env.FRESHET_TLS !== 'verified') return undefined;
  const options: ClientTlsOptions = { policy: 'verified' };
  if (env.FRESHET_TLS_CA) options.ca = readPem(env.FRESHET_TLS_CA, 'CA certificate', 'FRESHET_TLS_CA');
  if (env.FRESHET_TLS_CERT) options.cert = readPem(env.FRESHET_TLS_CERT, 'client certificate', 'FRESHET_TLS_CERT');
  if (env.FRESHET_TLS_KEY) options.key = readPem(env.FRESHET_TLS_KEY, 'client key', 'FRESHET_TLS_KEY');
  if (env.FRESHET_TLS_DOMAIN) options.domain = env.FRESHET_TLS_DOMAIN;
  if ((options.cert === undefined) !== (options.key === undefined)) throw new FreshetError('CONFIG', 'FRESHET_TLS_CERT and FRESHET_TLS_KEY go together');
  return options;
}

/** Why a TLS handshake failed, in words a user can act on; undefined when the error is not about TLS. */
export function explainTlsError(err: NodeJS.ErrnoException, endpoint: string): string | undefined {
  const code = err.code ?? '';
  if (code === 'CERT_HAS_EXPIRED') return `the certificate of ${endpoint} has expired`;
  if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'SELF_SIGNED_CERT_IN_CHAIN' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') {
    return `the certificate of ${endpoint} is not signed by a trusted CA (${code}); give the CA with ca_cert / FRESHET_TLS_CA`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the certificate of ${endpoint} is not valid for that name (${err.message}); set the TLS domain`;
  if (/alert (certificate required|bad certificate|unknown ca|certificate expired|handshake failure)/i.test(err.message) || code.startsWith('ERR_SSL_')) {
    return `${endpoint} refused the TLS handshake (${err.message.trim()}): it may need a client certificate signed by its CA`;
  }
  if (/wrong version number|packet length too long|unexpected eof/i.test(err.message)) return `${endpoint} does not speak TLS (${err.message.trim()})`;
  if (/disconnected before secure TLS connection/i.test(err.message)) {
    return `${endpoint} closed the connection during the TLS handshake: it does not speak TLS on that port, or it refused our certificate`;
  }
  if (/TLS|SSL|certificate/i.test(err.message)) return `TLS with ${endpoint} failed: ${err.message}`;
  return undefined;
}

/** Opens a plain or TLS socket; resolves once it is connected (and the handshake is done). */
export function openSocket(host: string, port: number, options: ClientTlsOptions | undefined): { socket: net.Socket; ready: 'connect' | 'secureConnect' } {
  if (!options) return { socket: net.connect({ host, port }), ready: 'connect' };
  const servername = options.domain ?? (net.isIP(host) ? undefined : host);
  const socket = tls.connect({
    host,
    port,
    ...(servername ? { servername } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key } : {}),
    rejectUnauthorized: options.policy !== 'anonymous',
    // A certificate for an IP address is checked against its IP SAN; a domain set by the user is checked as the name.
    ...(options.domain ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(options.domain!, cert) } : {}),
  });
  return { socket, ready: 'secureConnect' };
}
