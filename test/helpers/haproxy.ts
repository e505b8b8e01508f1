import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { tempDir } from './temp-dir.js';

export interface HaproxyFrontend {
  /** What the frontend's server line adds, e.g. "send-proxy" or "send-proxy-v2". */
  readonly serverOptions: string;
  readonly targetPort: number;
}

export interface RunningHaproxy {
  /** One port per frontend, in the order given. */
  readonly ports: number[];
  stop(): Promise<void>;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Debian's HAProxy in TCP mode in front of wsgate, as a Classic ELB or NLB
 * would be. HAProxy cannot report a port chosen by the kernel, so ports are
 * drawn at random from a high range and the start is retried on a clash.
 */
export async function startHaproxy(frontends: readonly HaproxyFrontend[], idleTimeout = '30s'): Promise<RunningHaproxy> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const ports = frontends.map(() => 20_000 + Math.floor(Math.random() * 40_000));
    const dir = tempDir('wsgate-haproxy-');
    const config = [
      'global',
      '  maxconn 1000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      `  timeout client ${idleTimeout}`,
      `  timeout server ${idleTimeout}`,
      ...frontends.flatMap((frontend, i) => [
        `frontend f${i}`,
        `  bind 127.0.0.1:${ports[i]}`,
        `  default_backend b${i}`,
        `backend b${i}`,
        `  server wsgate 127.0.0.1:${frontend.targetPort} ${frontend.serverOptions}`,
      ]),
      '',
    ].join('\n');
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, config);
    const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 5000;
    let ready = false;
    let dead = false;
    void exited.then(() => (dead = true));
    while (!ready && !dead && Date.now() < deadline) {
      ready = (await Promise.all(ports.map(portAnswers))).every(Boolean);
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      return {
        ports,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    if (!/bind|address already in use/i.test(stderr)) throw new Error(`haproxy did not start: ${stderr}`);
  }
  throw new Error('haproxy could not bind after 5 attempts');
}
