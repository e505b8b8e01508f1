import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface RecordingRawServer {
  readonly server: Server;
  readonly port: number;
  /** Everything every connection sent since the last clear(), in order. */
  received(): string;
  clear(): void;
  close(): Promise<void>;
}

/**
 * A raw TCP backend that records every byte it gets and answers request heads
 * with `answer(head)`: only the first head of a connection (then the bytes are
 * frames, after a 101), or every head when `everyHead` (keep-alive HTTP).
 */
export function startRecordingRawServer(answer: (head: string) => string, options: { everyHead?: boolean } = {}): Promise<RecordingRawServer> {
  const chunks: Buffer[] = [];
  const server = createServer((socket: Socket) => {
    socket.on('error', () => {});
    let pending = '';
    let done = false;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (done) return;
      pending += chunk.toString('latin1');
      let end = pending.indexOf('\r\n\r\n');
      while (end !== -1 && !done) {
        socket.write(answer(pending.slice(0, end)));
        pending = pending.slice(end + 4);
        done = options.everyHead !== true;
        end = pending.indexOf('\r\n\r\n');
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        received: () => Buffer.concat(chunks).toString('latin1'),
        clear: () => void chunks.splice(0),
        close: () => new Promise((closed) => server.close(() => closed())),
      }),
    ),
  );
}
