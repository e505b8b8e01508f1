import { readdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createGateway, type Gateway, type GatewayConfigInput } from '../../src/index.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly port: number;
  /** "127.0.0.1:PORT" */
  readonly host: string;
  readonly logs: LogLine[];
  close(): Promise<void>;
}

/** A gateway on 127.0.0.1, a free port, logging at debug into `logs` (parsed JSON lines). */
export async function startGateway(config: Omit<GatewayConfigInput, 'listen'>): Promise<RunningGateway> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const gateway = createGateway({ logLevel: 'debug', ...config, listen: '127.0.0.1:0' }, { logger: pino({ level: 'debug' }, sink) });
  const address = await gateway.listen();
  return { gateway, port: address.port, host: `127.0.0.1:${address.port}`, logs, close: () => gateway.close() };
}

/** Open file descriptors of this process. */
export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls `check` every 10 ms until it is true or `timeoutMs` passes; returns the last result. */
export async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
