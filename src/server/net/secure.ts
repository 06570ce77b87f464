// Plain TCP or TLS, one choice per listener. With TLS, the client
// certificate's subject common name is the connection's identity (as Fluvio
// takes its principal from x509); with `requireClientCert`, a client without
// a certificate signed by the CA fails the handshake. Handshakes are bounded
// by the handshake timeout; failed ones are logged and counted, and nobody
// else notices.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerTls } from '../../auth/index.js';

export type { ListenerTls };


/** Who the peer proved to be, as far as the transport knows. */
export interface TransportIdentity {
  /** The verified client certificate's subject CN; undefined without one. */
  certificateSubject: string | undefined;
  tls: boolean;
}

export interface SocketServer {
  server: net.Server;
  /** TLS handshakes that failed (wrong CA, expired, plain TCP on the TLS port, timeouts). */
  readonly failedHandshakes: number;
}

export function createSocketServer(
  options: { tls?: ListenerTls | undefined; handshakeTimeoutMs: number; name: string },
  log: Logger,
  onSocket: (socket: net.Socket, identity: TransportIdentity) => void,
): SocketServer {
  const config = options.tls;
  if (!config) {
    return { server: net.createServer((socket) => onSocket(socket, { certificateSubject: undefined, tls: false })), failedHandshakes: 0 };
  }
  const requireClientCert = config.requireClientCert ?? config.ca !== undefined;
  let failedHandshakes = 0;
  const server = tls.createServer(
    {
      cert: config.cert,
      key: config.key,
      ...(config.ca ? { ca: config.ca } : {}),
      requestCert: config.ca !== undefined,
      rejectUnauthorized: requireClientCert,
      handshakeTimeout: options.handshakeTimeoutMs,
      minVersion: 'TLSv1.2',
    },
    (socket: tls.TLSSocket) => {
      const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
      const cn = peer?.subject?.CN;
      onSocket(socket, { certificateSubject: Array.isArray(cn) ? cn[0] : cn, tls: true });
    },
  );
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    failedHandshakes++;
    log.warn({ listener: options.name, peer: `${socket.remoteAddress}:${socket.remotePort}`, reason: err.code ?? err.message }, 'TLS handshake failed');
    socket.destroy();
  });
  return {
    server,
    get failedHandshakes() {
      return failedHandshakes;
    },
  };
}
