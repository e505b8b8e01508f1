import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from 'ws';
import { demoPage } from './page.js';

export interface EchoBackendOptions {
  /** Reported in the `x-backend-id` header of every response and by the "whoami" message. */
  readonly id: string;
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly perMessageDeflate?: boolean;
  readonly handleProtocols?: ServerOptions['handleProtocols'];
}

export interface EchoBackend {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** "host:port", as a --route backend. */
  readonly address: string;
  readonly server: Server;
  readonly wss: WebSocketServer;
  close(): Promise<void>;
}

function answerHttp(id: string, req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('x-backend-id', id);
  if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(demoPage(id));
    return;
  }
  const body = JSON.stringify({ backend: id, method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
}

/**
 * A WebSocket echo server that says who it is: every message comes back as it
 * was sent (text stays text, binary stays binary), except the text "whoami",
 * answered with {"backend": id}. Plain GETs get JSON describing the request
 * (or the demo page for browsers). Used by `wsgate demo` and by the tests.
 */
export function startEchoBackend(options: EchoBackendOptions): Promise<EchoBackend> {
  const { id } = options;
  const server = createServer((req, res) => answerHttp(id, req, res));
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: options.perMessageDeflate ?? false,
    ...(options.handleProtocols ? { handleProtocols: options.handleProtocols } : {}),
  });
  wss.on('headers', (headers) => headers.push(`x-backend-id: ${id}`));
  wss.on('connection', (socket) => {
    socket.on('error', () => socket.terminate());
    socket.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'whoami') socket.send(JSON.stringify({ backend: id }));
      else socket.send(data, { binary: isBinary });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const address = server.address() as AddressInfo;
      const host = address.address;
      resolve({
        id,
        host,
        port: address.port,
        address: address.family === 'IPv6' ? `[${host}]:${address.port}` : `${host}:${address.port}`,
        server,
        wss,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
