#!/usr/bin/env -S node --initial-heap-size=64 --min-semi-space-size=4
/**
 * The shebang's V8 flags are WSGATE_NODE_FLAGS (runtime-flags.ts says why).
 *
 * The command line: turns flags into a validated configuration and calls the
 * library. It is the only place that chooses exit codes:
 * 0 normal stop, 1 runtime failure (cannot listen), 2 invalid flags or config.
 */
import cluster from 'node:cluster';
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeConfig } from './config/describe-config.js';
import { loadConfig } from './config/load-config.js';
import { addRoutingOptions, routingConfigFromFlags, ROUTING_EXAMPLES, withoutDefaultedOptions, type RoutingFlags } from './config/routing-flags.js';
import type { GatewayConfig, GatewayConfigInput } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { startEchoBackend } from './demo/echo-backend.js';
import { ConfigError } from './errors.js';
import { Gateway } from './gateway.js';
import { createLogger, flushLogger } from './observability/logger.js';
import { parseWorkerCount, superviseWorkers } from './supervisor.js';

const EXIT_RUNTIME = 1;
const EXIT_USAGE = 2;

/** `--route`, `--config` and the routing defaults are parsed in config/routing-flags.ts (issue 4). */
interface RunFlags extends RoutingFlags {
  listen: string;
  logLevel: string;
  connectTimeout: string;
  responseTimeout: string;
  workers: number;
  acceptProxyProtocol?: boolean;
  trustedProxies?: string[];
  proxyProtocolTimeout?: string;
  tlsCert?: string;
  tlsKey?: string;
  backendCa?: string;
  backendInsecure?: boolean;
  sendProxyProtocol?: 'v1' | 'v2';
  maxConnections?: number;
  maxConnectionsPerClient?: number;
  maxConnectionsPerRoute?: number;
  maxHeaderSize?: number;
  handshakeTimeout?: string;
  healthCheck?: { type: string; path?: string };
  healthInterval?: string;
  healthTimeout?: string;
  healthRise?: number;
  healthFall?: number;
  admin?: string;
  pingInterval?: string;
  idleTimeout?: string;
  tcpKeepalive?: string;
  healthPath?: string;
  drainTimeout?: string;
  closeSpread?: string;
}

/** `--health-check TYPE[:PATH]`: tcp, http[:/path] or websocket[:/path]; the schema checks both parts. */
export function parseHealthCheckFlag(value: string): { type: string; path?: string } {
  const colon = value.indexOf(':');
  return colon === -1 ? { type: value } : { type: value.slice(0, colon), path: value.slice(colon + 1) };
}

/** The health-check and admin flags (issue 6); the check applies to every route without its own. */
function healthConfigFromFlags(flags: RunFlags): Partial<GatewayConfigInput> {
  const tuning = { interval: flags.healthInterval, timeout: flags.healthTimeout, rise: flags.healthRise, fall: flags.healthFall };
  const given = Object.fromEntries(Object.entries(tuning).filter(([, value]) => value !== undefined));
  if (flags.healthCheck === undefined && Object.keys(given).length > 0) {
    fail(EXIT_USAGE, '--health-interval, --health-timeout, --health-rise and --health-fall need --health-check TYPE[:PATH]');
  }
  return {
    ...(flags.healthCheck !== undefined ? { healthCheck: { ...flags.healthCheck, ...given } as GatewayConfigInput['healthCheck'] } : {}),
    ...(flags.admin !== undefined ? { admin: flags.admin } : {}),
  };
}

function parseCount(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return Number(value);
}

function parseList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((part) => part.trim()).filter((part) => part !== '')];
}

/** The listener, TLS and limit flags; only those given are set, so the config's defaults apply to the rest. */
function listenerConfigFromFlags(flags: RunFlags): Partial<GatewayConfigInput> {
  const config: Partial<GatewayConfigInput> = {};
  if (flags.acceptProxyProtocol === true) config.acceptProxyProtocol = true;
  if (flags.trustedProxies !== undefined) config.trustedProxies = flags.trustedProxies;
  if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) config.tls = { cert: flags.tlsCert ?? '', key: flags.tlsKey ?? '' };
  if (flags.backendCa !== undefined || flags.backendInsecure === true) {
    config.backendTls = { ...(flags.backendCa !== undefined ? { ca: flags.backendCa } : {}), verify: flags.backendInsecure !== true };
  }
  const limits: NonNullable<GatewayConfigInput['limits']> = {};
  if (flags.maxConnections !== undefined) limits.maxConnections = flags.maxConnections;
  if (flags.maxConnectionsPerClient !== undefined) limits.maxConnectionsPerClient = flags.maxConnectionsPerClient;
  if (flags.maxHeaderSize !== undefined) limits.maxHeaderSize = flags.maxHeaderSize;
  if (Object.keys(limits).length > 0) config.limits = limits;
  return config;
}

function parseWorkersFlag(value: string): number {
  const count = parseWorkerCount(value);
  if (count === undefined) throw new InvalidArgumentError(`expected a number of workers or "auto", got "${value}"`);
  return count;
}

/** Keep-alive, idle, health endpoint and drain flags (issues 5 and 6); only those given, so the config's defaults apply. */
function lifecycleConfigFromFlags(flags: RunFlags): Partial<GatewayConfigInput> {
  const config: Partial<GatewayConfigInput> = {};
  const tunnels: NonNullable<GatewayConfigInput['tunnels']> = {};
  if (flags.pingInterval !== undefined) tunnels.pingInterval = flags.pingInterval;
  if (flags.idleTimeout !== undefined) tunnels.idleTimeout = flags.idleTimeout;
  if (flags.tcpKeepalive !== undefined) tunnels.tcpKeepAlive = flags.tcpKeepalive;
  if (Object.keys(tunnels).length > 0) config.tunnels = tunnels;
  const drain: NonNullable<GatewayConfigInput['drain']> = {};
  if (flags.drainTimeout !== undefined) drain.timeout = flags.drainTimeout;
  if (flags.closeSpread !== undefined) drain.closeSpread = flags.closeSpread;
  if (Object.keys(drain).length > 0) config.drain = drain;
  if (flags.healthPath !== undefined) config.healthPath = flags.healthPath === 'off' ? false : flags.healthPath;
  return config;
}

function configFromFlags(flags: RunFlags): GatewayConfigInput {
  return {
    listen: flags.listen,
    routes: flags.route,
    logLevel: flags.logLevel as GatewayConfigInput['logLevel'],
    timeouts: {
      backendConnect: flags.connectTimeout,
      backendResponse: flags.responseTimeout,
      ...(flags.handshakeTimeout !== undefined ? { handshake: flags.handshakeTimeout } : {}),
      ...(flags.proxyProtocolTimeout !== undefined ? { proxyProtocol: flags.proxyProtocolTimeout } : {}),
    },
    ...listenerConfigFromFlags(flags),
    ...healthConfigFromFlags(flags),
    ...lifecycleConfigFromFlags(flags),
  };
}

/** --send-proxy-protocol and --max-connections-per-route are route defaults: they apply to file routes too. */
function withRouteDefaultsFromFlags(flags: RunFlags, config: Record<string, unknown>): Record<string, unknown> {
  const extra = {
    ...(flags.sendProxyProtocol !== undefined ? { sendProxyProtocol: flags.sendProxyProtocol } : {}),
    ...(flags.maxConnectionsPerRoute !== undefined ? { maxConnections: flags.maxConnectionsPerRoute } : {}),
  };
  if (Object.keys(extra).length === 0) return config;
  const defaults = typeof config.defaults === 'object' && config.defaults !== null ? config.defaults : {};
  return { ...config, defaults: { ...defaults, ...extra } };
}

function fail(code: number, message: string): never {
  process.stderr.write(`wsgate: ${message}\n`);
  process.exit(code);
}

/**
 * Listens, then drains on SIGTERM/SIGINT (gateway.drain: 503 to new work, open
 * tunnels run for the drain timeout, then Close 1001) and exits 0; a second
 * signal exits 1 at once.
 */
/**
 * Listens, then: SIGTERM/SIGINT drain (a second signal exits at once); SIGHUP
 * re-reads the configuration (`reloadConfig`, when a file is in use) and the
 * TLS certificate. An invalid new configuration is refused with a log line and
 * the old one stays in force.
 */
async function serve(
  gateway: Gateway,
  onListening?: (url: string) => void,
  cleanup?: () => Promise<void>,
  reloadConfig?: () => GatewayConfig,
): Promise<void> {
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
      gateway.logger.warn({ signal, tunnels: gateway.activeTunnels }, 'second signal: exiting without waiting for the drain');
      flushLogger(gateway.logger);
      process.exit(EXIT_RUNTIME);
    }
    stopping = true;
    gateway.logger.info({ signal }, 'stopping');
    void gateway
      .drain()
      .then(() => cleanup?.())
      .then(() => {
        flushLogger(gateway.logger);
        process.exit(0);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => {
    if (reloadConfig !== undefined) {
      try {
        gateway.reload(reloadConfig());
      } catch (error) {
        const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
        gateway.logger.error({ problems }, 'configuration reload refused; the old configuration stays in force');
      }
    }
    // The certificate and key are read again too (new connections get them; open ones keep theirs).
    if (gateway.config.tls === undefined) return;
    try {
      gateway.reloadCertificate();
    } catch (error) {
      gateway.logger.error({ err: (error as Error).message }, 'TLS certificate reload failed; the old one stays in use');
    }
  });
  // A worker's stop comes from the primary as SIGTERM; Ctrl+C reaches the
  // whole process group, and must not count as a second, immediate signal.
  if (cluster.isWorker) process.on('SIGINT', () => {});
  else process.on('SIGINT', stop);
}

function buildProgram(): Command {
  const program = new Command('wsgate');
  addRoutingOptions(program);
  program
    .description('A WebSocket-aware reverse proxy: routes each upgrade by URL and pins it to one backend for its whole life.')
    .showHelpAfterError('(run wsgate --help for every flag)')
    .enablePositionalOptions()
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
    })
    .option('--listen <host:port>', 'address to accept clients on ([::1]:8080 for IPv6)', '0.0.0.0:8080')
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    )
    .option('--connect-timeout <duration>', 'backend TCP connect timeout; a backend that misses it is skipped', '5s')
    .option('--response-timeout <duration>', 'time a backend has to answer an upgrade (504 after)', '30s')
    .option('--workers <n>', 'worker processes sharing the listener; "auto" for one per core', parseWorkersFlag, 1)
    .option('--accept-proxy-protocol', 'expect a PROXY protocol v1 or v2 header on every connection (ELB/NLB with proxy protocol on); needs --trusted-proxies')
    .option('--trusted-proxies <cidrs>', 'comma-separated addresses or CIDR ranges whose PROXY headers and X-Forwarded-*/Forwarded headers are believed (default: none)', parseList)
    .option('--proxy-protocol-timeout <duration>', 'time a PROXY header has to arrive after accept (default 5s)')
    .option('--tls-cert <file>', 'PEM certificate (chain) to terminate TLS (wss://, https://); reloaded on SIGHUP')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--backend-ca <file>', 'PEM CA to trust for wss:// and https:// backends')
    .option('--backend-insecure', 'do not verify wss:// and https:// backends\' certificates')
    .addOption(new Option('--send-proxy-protocol <version>', 'send a PROXY header to every backend (HAProxy\'s send-proxy)').choices(['v1', 'v2']))
    .option('--max-connections <n>', 'open client connections in all; more are closed at accept', parseCount)
    .option('--max-connections-per-client <n>', 'open tunnels per client address (after PROXY protocol); more get 503', parseCount)
    .option('--max-connections-per-route <n>', 'open tunnels per route; more get 503', parseCount)
    .option('--max-header-size <bytes>', 'largest request head; larger gets 431 (default 16384)', parseCount)
    .option('--handshake-timeout <duration>', 'time a client has to send its whole request head; 408 after (default 10s)')
    .option(
      '--health-check <type[:path]>',
      'active health check for every route: tcp (connect), http[:/path] (GET, 2xx passes; default path /) or websocket[:/path] (a full handshake)',
      parseHealthCheckFlag,
    )
    .option('--health-interval <duration>', 'time between two checks of one backend (default 2s)')
    .option('--health-timeout <duration>', 'time one check may take (default: the interval)')
    .option('--health-rise <n>', 'consecutive passes that bring a down backend back (default 2)', parseCount)
    .option('--health-fall <n>', 'consecutive failures that take an up backend out (default 3)', parseCount)
    .option('--admin <host:port>', 'serve the admin API (JSON: list, drain, undrain, weight) on its own listener; off by default, no authentication: bind to loopback')
    .option('--ping-interval <duration>', 'send a WebSocket ping to a client whose tunnel has been quiet this long, so a balancer that counts data (Classic ELB: 60s) keeps it; default off')
    .option('--idle-timeout <duration>', 'close a tunnel quiet this long (no byte from either side) with a Close 1001; default off')
    .option('--tcp-keepalive <duration>', 'TCP keep-alive initial delay on client and backend sockets (an NLB counts probes, 350s idle timeout); 0 turns it off (default 30s)')
    .option('--health-path <path>', 'path wsgate answers itself for the balancer\'s HTTP health check: 200 while serving, 503 while draining; "off" for none (default /healthz)')
    .option('--drain-timeout <duration>', 'on SIGTERM/SIGINT: how long open tunnels keep running before each gets a Close 1001 (default 30s)')
    .option('--close-spread <duration>', 'spread those closes evenly over this window, so clients do not all reconnect at once (default 0)')
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
      let config;
      // Flags override the file; those left at their default do not (issue 4).
      const load = (): GatewayConfig =>
        loadConfig(withoutDefaultedOptions(withRouteDefaultsFromFlags(flags, { ...configFromFlags(flags), ...routingConfigFromFlags(flags) }), command), flags.config);
      try {
        config = load();
      } catch (error) {
        if (error instanceof ConfigError) fail(EXIT_USAGE, `invalid configuration:\n  ${error.problems.join('\n  ')}`);
        throw error;
      }
      // Each worker would hold its own backend state, and the admin port would reach one of them at random.
      if (flags.workers > 1 && flags.admin !== undefined) fail(EXIT_USAGE, '--admin works with --workers 1 only');
      if (flags.workers > 1 && cluster.isPrimary) {
        // The primary only supervises; each worker re-runs this command and serves.
        const logger = createLogger(config.logLevel);
        const code = await superviseWorkers(flags.workers, logger).done;
        flushLogger(logger);
        process.exit(code);
      }
      await serve(new Gateway(config), undefined, undefined, flags.config !== undefined ? load : undefined);
    });

  addRoutingOptions(
    program
      .command('check')
      .description('validate the configuration (--config FILE and/or flags) and print the effective route table; exit 2 listing every problem')
      .option('--listen <host:port>', 'the listen address to check'),
  ).action((flags: RoutingFlags & { listen?: string }) => {
    if (flags.route.length === 0 && flags.config === undefined) fail(EXIT_USAGE, 'wsgate check needs --config FILE or --route');
    const fromFlags = {
      ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
      ...(flags.route.length > 0 ? { routes: flags.route } : {}),
      ...routingConfigFromFlags(flags),
    };
    try {
      process.stdout.write(describeConfig(loadConfig(fromFlags, flags.config), flags.config ?? 'flags'));
    } catch (error) {
      if (error instanceof ConfigError) fail(EXIT_USAGE, `invalid configuration:\n  ${error.problems.join('\n  ')}`);
      throw error;
    }
  });

  program
    .command('demo')
    .description('start two echo backends and a gateway in front of them, then print the URLs to try')
    .option('--listen <host:port>', 'address for the gateway', '127.0.0.1:8080')
    .action(async (flags: { listen: string }) => {
      const backends = await Promise.all([startEchoBackend({ id: 'b1' }), startEchoBackend({ id: 'b2' })]);
      const gateway = new Gateway(
        // Ctrl+C should stop a demo at once: open pages get their Close 1001 without a drain wait.
        validateConfig({ listen: flags.listen, routes: [{ path: '/echo', backends: backends.map((b) => b.address) }], drain: { timeout: 0 } }, 'demo'),
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
