import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names in lower case; repeated headers joined with "\n". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends `request` as bytes on a new connection (no client-side URL
 * normalisation, any Host header) and resolves with the response head and,
 * unless it is a 101, the Content-Length body; then closes the connection.
 */
export function rawRequest(port: number, request: string, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms: ${received.toString('latin1').slice(0, 200)}`));
    }, timeoutMs);
    const finish = (response: RawResponse): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine = '', ...lines] = received.toString('latin1', 0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}\n${value}`;
      }
      const status = Number(statusLine.split(' ')[1]);
      // An interim 100 Continue (RFC 9110 15.2.1) comes before the response: skip it.
      if (status === 100) {
        received = received.subarray(end + 4);
        return;
      }
      // Without Content-Length (chunked, or until close) the body is read when the connection ends.
      if (status !== 101 && headers['content-length'] === undefined) {
        parsed = { status, headers, bodyStart: end + 4 };
        return;
      }
      const length = status === 101 ? 0 : Number(headers['content-length']);
      if (received.length - (end + 4) < length) return;
      finish({ status, headers, body: received.toString('utf8', end + 4, end + 4 + length) });
    });
    let parsed: { status: number; headers: Record<string, string>; bodyStart: number } | undefined;
    socket.on('end', () => {
      if (parsed === undefined) return;
      const raw = received.subarray(parsed.bodyStart);
      finish({ status: parsed.status, headers: parsed.headers, body: parsed.headers['transfer-encoding'] === 'chunked' ? dechunk(raw) : raw.toString('utf8') });
    });
    socket.write(request);
  });
}

/** A chunked body (RFC 9112 7.1) joined; no trailers expected. */
function dechunk(raw: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(raw.toString('latin1', at, lineEnd), 16);
    if (!(size > 0)) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A plain GET with Connection: close. */
export function rawGet(port: number, target: string, headers: Readonly<Record<string, string>> = {}): Promise<RawResponse> {
  let text = `GET ${target} HTTP/1.1\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries({ Host: 'gw.test', ...headers })) text += `${name}: ${value}\r\n`;
  return rawRequest(port, `${text}\r\n`);
}

/** A valid WebSocket handshake (RFC 6455 4.1). */
export function rawUpgrade(port: number, target: string, headers: Readonly<Record<string, string>> = {}): Promise<RawResponse> {
  let text = `GET ${target} HTTP/1.1\r\n`;
  const all = { Host: 'gw.test', Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13', ...headers };
  for (const [name, value] of Object.entries(all)) text += `${name}: ${value}\r\n`;
  return rawRequest(port, `${text}\r\n`);
}
