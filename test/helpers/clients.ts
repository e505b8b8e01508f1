import { connect } from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';

export interface OpenClient {
  readonly ws: WebSocket;
  /** The backend that answered, from its x-backend-id header on the 101. */
  readonly backendId: string | undefined;
}

/** Opens a real `ws` client and resolves once it is open (rejects on error or non-101). */
export function openClient(url: string, protocols?: string[], options?: ClientOptions): Promise<OpenClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    let backendId: string | undefined;
    ws.once('upgrade', (response) => {
      const id = response.headers['x-backend-id'];
      backendId = typeof id === 'string' ? id : undefined;
    });
    ws.once('open', () => resolve({ ws, backendId }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected response ${res.statusCode}`));
      res.resume();
    });
  });
}

/** Resolves with the status of a failed handshake (the `unexpected-response` event). */
export function expectRefusal(url: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('handshake unexpectedly succeeded'));
    });
    ws.once('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
  });
}

/** Resolves with the close code the client saw. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: 'already closed' });
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Sends raw bytes on a new TCP connection and resolves with everything received until the peer closes. */
export function rawExchange(port: number, request: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${received.slice(0, 200)}`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(request);
  });
}

/** A valid handshake request for `path`, with headers overridden or removed (value undefined). */
export function handshakeRequest(path: string, overrides: Record<string, string | undefined> = {}, requestLine?: string): string {
  const headers: Record<string, string | undefined> = {
    Host: 'example.test',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  let text = `${requestLine ?? `GET ${path} HTTP/1.1`}\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

/** A plain HTTP GET through the gateway; resolves with status, headers and body. */
export async function httpGet(url: string): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.text() };
}
