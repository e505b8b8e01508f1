import type { Socket } from 'node:net';
import { decodeProxyHeader } from './proxy-protocol/decode.js';
import type { ProxyProtocolErrorCode, ProxyProtocolHeader } from './proxy-protocol/types.js';

export type ProxyHeaderOutcome =
  /** `rest`: bytes that arrived behind the header; they belong to HTTP or TLS. */
  | { readonly kind: 'done'; readonly header: ProxyProtocolHeader; readonly rest: Buffer }
  | { readonly kind: 'error'; readonly code: ProxyProtocolErrorCode | 'timeout' | 'closed-before-header'; readonly message: string; readonly bytes: number };

/**
 * Socket glue for the PROXY protocol decoder: gathers bytes until a complete
 * header, pauses the socket and reports once, with the bytes that followed the
 * header for the next stage. The decoder is pure; this file only feeds it (proxy-protocol.txt 2:
 * the receiver must wait for the whole header before reading anything else).
 */
export function readProxyHeader(socket: Socket, timeoutMs: number, done: (outcome: ProxyHeaderOutcome) => void): void {
  let received: Buffer | undefined;
  let finished = false;
  const finish = (outcome: ProxyHeaderOutcome): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onEnd);
    done(outcome);
  };
  const onData = (chunk: Buffer): void => {
    received = received === undefined ? chunk : Buffer.concat([received, chunk]);
    const result = decodeProxyHeader(received);
    if (result.kind === 'need-more') return;
    if (result.kind === 'error') {
      finish({ kind: 'error', code: result.code, message: result.message, bytes: received.length });
      return;
    }
    socket.pause();
    finish({ kind: 'done', header: result.header, rest: received.subarray(result.length) });
  };
  const onEnd = (): void =>
    finish({ kind: 'error', code: 'closed-before-header', message: 'connection closed before a PROXY header', bytes: received?.length ?? 0 });
  const timer = setTimeout(
    () => finish({ kind: 'error', code: 'timeout', message: `no complete PROXY header within ${timeoutMs} ms`, bytes: received?.length ?? 0 }),
    timeoutMs,
  );
  timer.unref();
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
}
