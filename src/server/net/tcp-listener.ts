import { listenOn } from './listen.js';
import type net from 'node:net';
import type { Logger } from 'pino';
import { ANONYMOUS, type Principal } from '../../auth/index.js';
import { Connection, type Router } from './connection.js';
import type { ServerLimits } from '../limits.js';
import { RequestByteBudget } from './request-budget.js';
import { createSocketServer, type ListenerTls, type SocketServer, type TransportIdentity } from './secure.js';

export interface ListenerSecurity {
  tls?: ListenerTls | undefined;
  /** The principal of a new connection, from what the transport proved (default: anonymous). */
  identify?: (identity: TransportIdentity) => Principal;
}

/**
 * A TCP (or TLS) listener that owns its connections and closes them all on
 * stop. The request byte budget is the node's, shared by all its listeners;
 * a listener given none has one of its own.
 */
export class TcpListener {
  private readonly server: net.Server;
  private readonly socketServer: SocketServer;
  private readonly connections = new Set<Connection>();
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly name: string,
    router: Router,
    limits: ServerLimits,
    private readonly log: Logger,
    security: ListenerSecurity = {},
    readonly budget = new RequestByteBudget(limits.maxNodeInFlightRequestBytes),
  ) {
    this.socketServer = createSocketServer({ tls: security.tls, handshakeTimeoutMs: limits.handshakeTimeoutMs, name }, log, (socket, identity) => {
      if (this.connections.size >= limits.maxConnections) {
        log.warn({ listener: name, limit: limits.maxConnections }, 'connection limit reached; refusing');
        socket.destroy();
        return;
      }
      const connection = new Connection(socket, router, limits, log.child({ listener: name }), this.budget);
      connection.principal = security.identify?.(identity) ?? ANONYMOUS;
      this.connections.add(connection);
      socket.on('close', () => this.connections.delete(connection));
    });
    this.server = this.socketServer.server;
    // Every accepted socket, TLS handshakes still under way included, is closed on stop.
    this.server.on('connection', (raw: net.Socket) => {
      this.sockets.add(raw);
      raw.on('close', () => this.sockets.delete(raw));
    });
  }

  /** TLS handshakes that failed on this listener. */
  get failedHandshakes(): number {
    return this.socketServer.failedHandshakes;
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port, this.name);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Response bytes queued in all of this listener's sockets, not yet taken by the kernel. */
  get queuedBytes(): number {
    let total = 0;
    for (const connection of this.connections) total += connection.queuedBytes;
    return total;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
