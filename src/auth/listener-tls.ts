// The TLS material of a listener, shared by every protocol's listener (SC,
// SPU, console and HTTP APIs, Kafka).

export interface ListenerTls {
  /** PEM text of the server's certificate chain and key. */
  cert: string;
  key: string;
  /** PEM text of the CA that signs client certificates (mutual TLS). */
  ca?: string;
  /** Refuse clients without a certificate signed by `ca` (default: true when `ca` is set). */
  requireClientCert?: boolean;
}
