/**
 * Every bound the server enforces, in one place (TigerBeetle style: nothing
 * unbounded). Values are defaults; a node can override them in its config.
 */
export interface ServerLimits {
  /** Largest request frame accepted; a bigger length prefix closes the connection. */
  maxFrameBytes: number;
  /** Connections accepted per listener; more are refused at accept time. */
  maxConnections: number;
  /** Requests decoded but not yet answered on one connection; reading pauses above it. */
  maxInFlightRequests: number;
  /** Request bytes decoded but not yet answered on one connection; reading pauses above it. */
  maxInFlightRequestBytes: number;
  /**
   * Request bytes held in memory across all connections of the node (partial
   * frames, frames waiting, requests being served); a connection that finds
   * it spent stops reading until bytes are released (see RequestByteBudget).
   */
  maxNodeInFlightRequestBytes: number;
  /** Response bytes queued in one socket before streams stop producing frames for it and the connection stops reading requests (until the peer takes them). */
  maxQueuedResponseBytes: number;
  /** Stream fetches open on one connection. */
  maxStreamsPerConnection: number;
  /** Watches open on one connection (the Fluvio client opens two sets of three). */
  maxWatchesPerConnection: number;
  /** Upper bound on max_bytes a stream fetch may ask for. */
  maxFetchBytes: number;
  /** A connection that has not sent a complete first frame by then is closed. */
  handshakeTimeoutMs: number;
  /**
   * A frame that started arriving must be complete within this time (counted
   * while the connection reads; not while the node holds its reading back),
   * else the connection is closed: a peer that stalls mid-frame holds a
   * partial frame and a connection slot.
   */
  frameTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxFrameBytes: 64 * 1024 * 1024,
  maxConnections: 4096,
  maxInFlightRequests: 256,
  maxInFlightRequestBytes: 128 * 1024 * 1024,
  maxNodeInFlightRequestBytes: 256 * 1024 * 1024,
  maxQueuedResponseBytes: 8 * 1024 * 1024,
  maxStreamsPerConnection: 1024,
  maxWatchesPerConnection: 64,
  maxFetchBytes: 16 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  frameTimeoutMs: 30_000,
};
