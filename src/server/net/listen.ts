import type net from 'node:net';

/** Binds `server` to host:port (port 0: a free one); resolves with the port, or rejects with the bind error (EADDRINUSE…). */
export async function listenOn(server: net.Server, host: string, port: number, name: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${name}: no TCP address`);
  return address.port;
}
