import type { AddressInfo, Server } from 'node:net';

/**
 * Listens on `host:port` for the public and the admin listener alike: the
 * promise rejects on a bind error (EADDRINUSE, EACCES), and once bound, later
 * server errors go to `onError` so that none is left unhandled.
 */
export function listenOn(server: Server, host: string, port: number, onError: (error: Error) => void): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      server.on('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The address a server is bound to, while it listens on TCP. */
export function boundAddress(server: Server): AddressInfo | undefined {
  const address = server.address();
  return address !== null && typeof address === 'object' ? address : undefined;
}
