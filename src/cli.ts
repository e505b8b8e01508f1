#!/usr/bin/env -S node --initial-heap-size=64 --min-semi-space-size=4
/**
 * The shebang's V8 flags are WSGATE_NODE_FLAGS (runtime-flags.ts says why).
 *
 * The command line: turns flags into a validated configuration and calls the
 * library. It is the only place that chooses exit codes:
 * 0 normal stop, 1 runtime failure (cannot listen), 2 invalid flags or config.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { PrimaryGateway } from './cluster/primary-gateway.js';
import { processChannel, WorkerLink } from './cluster/worker-link.js';
import { describeConfig } from './config/describe-config.js';
import { restartOnlyChanges } from './config/restart-only.js';
import { channels } from './observability/events.js';
import { configFromFlags, FLAG_TABLE, FlagUsageError, type FlagRow } from './config/flag-table.js';
import { loadConfig } from './config/load-config.js';
import { ROUTING_EXAMPLES, type RouteInput } from './config/routing-flags.js';
import type { GatewayConfig } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { startEchoBackend } from './demo/echo-backend.js';
import { ConfigError } from './errors.js';
import { Gateway } from './gateway.js';
import { createLogger, flushLogger, type Logger } from './observability/logger.js';
import { superviseWorkers } from './supervisor.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;
/** How long a worker waits for the primary's backend state before it listens anyway. */
const WORKER_STATE_WAIT_MS = 5000;

/** What the commands read themselves; every setting goes through the flag table (config/flag-table.ts). */
interface CommandFlags {
  route: RouteInput[];
  config?: string;
}
interface RunFlags extends CommandFlags {
  workers: number;
  admin?: string;
}

/** Adds the table's rows to `command`, in order; `help` replaces a row's help text, and then its default is not shown or used. */
function addFlags(command: Command, rows: readonly FlagRow[], help?: (row: FlagRow) => string | undefined): Command {
  for (const row of rows) {
    const own = help?.(row);
    const option = new Option(row.flags, own ?? row.help);
    if (row.parse !== undefined) option.argParser(row.parse);
    if (row.choices !== undefined) option.choices(row.choices);
    if (row.default !== undefined && own === undefined) option.default(row.default);
    if (row.env !== undefined) option.env(row.env);
    command.addOption(option);
  }
  return command;
}

/**
 * The config the flags given to `command` set (a value left at its default
 * sets nothing, so the file's and the schema's apply); exit 2 for flags given
 * without one they need.
 */
function flagConfig(command: Command): Record<string, unknown> {
  const valueOf = (row: FlagRow): unknown => {
    const name = new Option(row.flags).attributeName();
    return command.getOptionValueSource(name) === 'default' ? undefined : command.getOptionValue(name);
  };
  try {
    return configFromFlags(valueOf);
  } catch (error) {
    if (error instanceof FlagUsageError) fail(EXIT_USAGE, error.message);
    throw error;
  }
}

function loadOrExit(load: () => GatewayConfig): GatewayConfig {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) fail(EXIT_USAGE, `invalid configuration:\n  ${error.problems.join('\n  ')}`);
    throw error;
  }
}

function fail(code: number, message: string): never {
  process.stderr.write(`wsgate: ${message}\n`);
  process.exit(code);
}

/**
 * Listens, then: SIGTERM/SIGINT drain (gateway.drain: 503 to new work, open
 * tunnels run for the drain timeout, then Close 1001) and exit 0; a second
 * signal exits 1 at once. SIGHUP re-reads the configuration (`reloadConfig`,
 * when a file is in use) and the TLS certificate. An invalid new
 * configuration is refused with a log line and the old one stays in force.
 */
async function serve(
  gateway: Gateway,
  config: GatewayConfig,
  logger: Logger,
  { onListening, cleanup, reloadConfig }: { onListening?: (url: string) => void; cleanup?: () => Promise<void>; reloadConfig?: () => GatewayConfig } = {},
): Promise<void> {
  try {
    const address = await gateway.listen();
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    onListening?.(`${host}:${address.port}`);
  } catch (error) {
    fail(EXIT_RUNTIME, `cannot listen: ${(error as Error).message}`);
  }
  let inForce = config;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal, tunnels: gateway.activeTunnels }, 'second signal: exiting without waiting for the drain');
      flushLogger(logger);
      process.exit(EXIT_RUNTIME);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    void gateway
      .drain()
      .then(() => cleanup?.())
      .then(() => {
        flushLogger(logger);
        process.exit(0);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => {
    if (reloadConfig !== undefined) {
      try {
        const next = reloadConfig();
        const needRestart = restartOnlyChanges(inForce, next);
        if (needRestart.length > 0) logger.warn({ fields: needRestart }, 'configuration reloaded, but these changes need a restart and were not applied');
        gateway.reload(next);
        inForce = next;
      } catch (error) {
        const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
        logger.error({ problems }, 'configuration reload refused; the old configuration stays in force');
        channels.reload.publish({ gateway, result: 'refused', routes: undefined });
      }
    }
    // The certificate and key are read again too (new connections get them; open ones keep theirs).
    if (inForce.tls === undefined) return;
    try {
      gateway.reloadCertificate();
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'TLS certificate reload failed; the old one stays in use');
    }
  });
  // A worker's stop comes from the primary as SIGTERM; Ctrl+C reaches the
  // whole process group, and must not count as a second, immediate signal.
  if (cluster.isWorker) process.on('SIGINT', () => {});
  else process.on('SIGINT', stop);
}

/**
 * The primary of `--workers N`: the gateway's shared part (health checks,
 * backend state, the admin API; cluster/primary-gateway.ts), then the workers.
 * SIGHUP reloads the primary's table with the same file and flags, then every
 * worker's. Exits once every worker has gone.
 */
async function superviseAsPrimary(workers: number, config: GatewayConfig, logger: Logger, reloadConfig: (() => GatewayConfig) | undefined): Promise<never> {
  const primary = new PrimaryGateway(config, { logger });
  try {
    await primary.listen();
  } catch (error) {
    fail(EXIT_RUNTIME, `cannot listen: ${(error as Error).message}`);
  }
  const reload = (): void => {
    if (reloadConfig === undefined) return;
    try {
      primary.reload(reloadConfig());
    } catch (error) {
      // Each worker reads the same file and logs its own refusal.
      const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
      logger.debug({ problems }, 'primary: configuration reload refused');
    }
  };
  const code = await superviseWorkers(workers, logger, { primary, reload }).done;
  await primary.close();
  flushLogger(logger);
  process.exit(code);
}

/**
 * The version in package.json: from dist/src/cli.js two folders up, which is
 * the package root both in a checkout and installed (node_modules/wsgate/).
 */
function packageVersion(): string {
  try {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function buildProgram(): Command {
  const program = addFlags(new Command('wsgate'), FLAG_TABLE)
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .description('A WebSocket-aware reverse proxy: routes each upgrade by URL and pins it to one backend for its whole life.')
    .showHelpAfterError('(run wsgate --help for every flag)')
    // One style for every error, commander's own included (issue 13): "wsgate: <where>: <what>".
    .configureOutput({ outputError: (text, write) => write(`wsgate: ${text.replace(/^error: /, '')}`) })
    .enablePositionalOptions()
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    })
    .addHelpText(
      'after',
      `
Examples:
  $ wsgate --listen 127.0.0.1:8080 --route /chat=127.0.0.1:9001,127.0.0.1:9002 --route /feed=127.0.0.1:9003
  $ wsgate --listen [::]:8080 --route /=ws://10.0.0.5:3000 --log-level warn
  $ wsgate --route /=10.0.0.5:3000 --ping-interval 25s --drain-timeout 60s --close-spread 30s   # behind a Classic ELB
  $ wsgate demo            # two echo backends and a gateway in one process${ROUTING_EXAMPLES}`,
    )
    .action(async (flags: RunFlags, command: Command) => {
      if (flags.route.length === 0 && flags.config === undefined) {
        fail(EXIT_USAGE, 'at least one --route PREFIX=BACKEND (or --config FILE) is needed (see wsgate --help)');
      }
      // Flags override the file; those left at their default do not (issue 4).
      const fromFlags = flagConfig(command);
      const load = (): GatewayConfig => loadConfig(fromFlags, flags.config);
      const config = loadOrExit(load);
      const logger = createLogger(config.logLevel, { format: config.logFormat });
      // From the flag, else the file (issue 13: every flag has a file key), else 1.
      const workers = config.workers;
      if (workers > 1 && cluster.isPrimary) {
        // Each worker re-runs this command and serves; the primary holds what exists once (checks, backend state, admin API).
        await superviseAsPrimary(workers, config, logger, flags.config !== undefined ? load : undefined);
      }
      if (workers > 1 && cluster.isWorker) {
        // A worker: the primary decides health and serves the admin API; this gateway follows it.
        const link = new WorkerLink(processChannel(), logger);
        const served = { ...config, admin: undefined };
        const gateway = new Gateway(served, { logger, cluster: link });
        await link.whenReady(WORKER_STATE_WAIT_MS);
        await serve(gateway, served, logger, { reloadConfig: flags.config !== undefined ? () => ({ ...load(), admin: undefined }) : undefined });
        return;
      }
      await serve(new Gateway(config, { logger }), config, logger, { reloadConfig: flags.config !== undefined ? load : undefined });
    });

  // `check` has the routing flags, and its own --listen first.
  const check = program
    .command('check')
    .description('validate the configuration (--config FILE and/or flags) and print the effective route table; exit 2 listing every problem');
  addFlags(check, FLAG_TABLE.filter((row) => typeof row.check === 'string'), (row) => row.check as string);
  // Every other flag of the main command too (issue 13): a command line that runs must check.
  addFlags(check, FLAG_TABLE.filter((row) => typeof row.check !== 'string')).action((flags: CommandFlags, command: Command) => {
    if (flags.route.length === 0 && flags.config === undefined) fail(EXIT_USAGE, 'wsgate check needs --config FILE or --route');
    const config = loadOrExit(() => loadConfig(flagConfig(command), flags.config));
    process.stdout.write(describeConfig(config, flags.config ?? 'flags'));
  });

  program
    .command('demo')
    .description('start two echo backends and a gateway in front of them, then print the URLs to try')
    .option('--listen <host:port>', 'address for the gateway', '127.0.0.1:8080')
    .action(async (flags: { listen: string }) => {
      const backends = await Promise.all([startEchoBackend({ id: 'b1' }), startEchoBackend({ id: 'b2' })]);
      // Ctrl+C should stop a demo at once: open pages get their Close 1001 without a drain wait.
      const config = validateConfig({ listen: flags.listen, routes: [{ path: '/echo', backends: backends.map((b) => b.address) }], drain: { timeout: 0 } }, 'demo');
      const logger = createLogger(config.logLevel, { format: config.logFormat });
      await serve(new Gateway(config, { logger }), config, logger, {
        onListening: (where) => {
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
        cleanup: async () => {
          await Promise.all(backends.map((b) => b.close()));
        },
      });
    });
  return program;
}

await buildProgram().parseAsync(process.argv);
