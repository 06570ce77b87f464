// NATS URLs as users give them (`--nats`, the node config). No NATS client
// import here: the CLI parses URLs before deciding to load the backend.

/** Splits `nats://a:4222,nats://b:4222` and checks each URL. */
export function parseNatsUrls(list: string): string[] {
  const urls = list.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new Error('no NATS URL given (expected nats://host:port[,nats://host:port...])');
  if (urls.length > 32) throw new Error(`${urls.length} NATS URLs given; at most 32`);
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`invalid NATS URL "${url}" (expected nats://host:port)`);
    }
    if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') throw new Error(`invalid NATS URL "${url}": the scheme must be nats:// or tls://`);
  }
  return urls;
}
