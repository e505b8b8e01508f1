#!/usr/bin/env node
/**
 * The command line: turns flags into a validated configuration and calls the
 * library. It is the only place that chooses exit codes:
 * 0 normal stop, 1 runtime failure (cannot listen), 2 invalid flags or config.
 */
import cluster from 'node:cluster';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { GatewayConfigInput } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { startEchoBackend } from './demo/echo-backend.js';
import { ConfigError } from './errors.js';
import { Gateway } from './gateway.js';
import { createLogger, flushLogger } from './observability/logger.js';
import { parseWorkerCount, superviseWorkers } from './supervisor.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

interface RouteFlag {
  path: string;
  backends: string[];
}

/** `--route PREFIX=BACKEND[,BACKEND...]`; backends are checked by the config schema. */
export function parseRouteFlag(value: string, previous: RouteFlag[] = []): RouteFlag[] {
  const eq = value.indexOf('=');
  if (eq === -1) throw new InvalidArgumentError(`expected PREFIX=BACKEND[,BACKEND...], got "${value}"`);
  const path = value.slice(0, eq).trim();
  if (!path.startsWith('/')) throw new InvalidArgumentError(`the prefix must start with "/", got "${path}"`);
  const backends = value
    .slice(eq + 1)
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (backends.length === 0) throw new InvalidArgumentError(`route "${path}" names no backend`);
  return [...previous, { path, backends }];
}

interface RunFlags {
  listen: string;
  route: RouteFlag[];
  logLevel: string;
  connectTimeout: string;
  responseTimeout: string;
  workers: number;
}

function parseWorkersFlag(value: string): number {
  const count = parseWorkerCount(value);
  if (count === undefined) throw new InvalidArgumentError(`expected a number of workers or "auto", got "${value}"`);
  return count;
}

function configFromFlags(flags: RunFlags): GatewayConfigInput {
  return {
    listen: flags.listen,
    routes: flags.route,
    logLevel: flags.logLevel as GatewayConfigInput['logLevel'],
    timeouts: { backendConnect: flags.connectTimeout, backendResponse: flags.responseTimeout },
  };
}

function fail(code: number, message: string): never {
  process.stderr.write(`wsgate: ${message}\n`);
  process.exit(code);
}

/** Listens, then stops cleanly on SIGTERM/SIGINT; a second signal exits at once. */
async function serve(gateway: Gateway, onListening?: (url: string) => void, cleanup?: () => Promise<void>): Promise<void> {
  try {
    const address = await gateway.listen();
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    onListening?.(`${host}:${address.port}`);
  } catch (error) {
    fail(EXIT_RUNTIME, `cannot listen: ${(error as Error).message}`);
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      flushLogger(gateway.logger);
      process.exit(EXIT_RUNTIME);
    }
    stopping = true;
    gateway.logger.info({ signal }, 'stopping');
    void gateway
      .close()
      .then(() => cleanup?.())
      .then(() => {
        flushLogger(gateway.logger);
        process.exit(0);
      });
  };
  process.on('SIGTERM', stop);
  // A worker's stop comes from the primary as SIGTERM; Ctrl+C reaches the
  // whole process group, and must not count as a second, immediate signal.
  if (cluster.isWorker) process.on('SIGINT', () => {});
  else process.on('SIGINT', stop);
}

function buildProgram(): Command {
  const program = new Command('wsgate');
  program
    .description('A WebSocket-aware reverse proxy: routes each upgrade by URL and pins it to one backend for its whole life.')
    .showHelpAfterError('(run wsgate --help for every flag)')
    .enablePositionalOptions()
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    })
    .option('--listen <host:port>', 'address to accept clients on ([::1]:8080 for IPv6)', '0.0.0.0:8080')
    .option(
      '--route <prefix=backends>',
      'route a path prefix to backends, comma-separated host:port, ws://host:port or http://host:port; repeatable; the longest prefix wins and matches at a "/" boundary',
      parseRouteFlag,
      [],
    )
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    )
    .option('--connect-timeout <duration>', 'backend TCP connect timeout; a backend that misses it is skipped', '5s')
    .option('--response-timeout <duration>', 'time a backend has to answer an upgrade (504 after)', '30s')
    .option('--workers <n>', 'worker processes sharing the listener; "auto" for one per core', parseWorkersFlag, 1)
    .addHelpText(
      'after',
      `
Examples:
  $ wsgate --listen 127.0.0.1:8080 --route /chat=127.0.0.1:9001,127.0.0.1:9002 --route /feed=127.0.0.1:9003
  $ wsgate --listen [::]:8080 --route /=ws://10.0.0.5:3000 --log-level warn
  $ wsgate demo            # two echo backends and a gateway in one process`,
    )
    .action(async (flags: RunFlags) => {
      if (flags.route.length === 0) fail(EXIT_USAGE, 'at least one --route PREFIX=BACKEND is needed (see wsgate --help)');
      let config;
      try {
        config = validateConfig(configFromFlags(flags), 'flags');
      } catch (error) {
        if (error instanceof ConfigError) fail(EXIT_USAGE, `invalid configuration:\n  ${error.problems.join('\n  ')}`);
        throw error;
      }
      if (flags.workers > 1 && cluster.isPrimary) {
        // The primary only supervises; each worker re-runs this command and serves.
        const logger = createLogger(config.logLevel);
        const code = await superviseWorkers(flags.workers, logger).done;
        flushLogger(logger);
        process.exit(code);
      }
      await serve(new Gateway(config));
    });

  program
    .command('demo')
    .description('start two echo backends and a gateway in front of them, then print the URLs to try')
    .option('--listen <host:port>', 'address for the gateway', '127.0.0.1:8080')
    .action(async (flags: { listen: string }) => {
      const backends = await Promise.all([startEchoBackend({ id: 'b1' }), startEchoBackend({ id: 'b2' })]);
      const gateway = new Gateway(
        validateConfig({ listen: flags.listen, routes: [{ path: '/echo', backends: backends.map((b) => b.address) }] }, 'demo'),
      );
      await serve(
        gateway,
        (where) => {
          process.stderr.write(
            [
              '',
              `wsgate demo: gateway on ${where}, route /echo -> backends b1 (${backends[0]?.address}) and b2 (${backends[1]?.address}), round-robin.`,
              `  Browser:   http://${where}/echo/   (a page that opens a WebSocket through the gateway)`,
              `  WebSocket: ws://${where}/echo      (send any message, it comes back; send "whoami" to see which backend you reached)`,
              `  HTTP:      curl http://${where}/echo/hello   (JSON from the backend that answered)`,
              'Press Ctrl+C to stop.',
              '',
            ].join('\n'),
          );
        },
        async () => {
          await Promise.all(backends.map((b) => b.close()));
        },
      );
    });
  return program;
}

await buildProgram().parseAsync(process.argv);
