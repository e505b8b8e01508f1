import type { GatewayConfig } from './schema.js';

/**
 * What a reload (SIGHUP) cannot change, because it is bound when the process
 * starts: the listening socket and how it reads connections (PROXY protocol,
 * TLS files are reloaded separately), the worker processes, the admin
 * listener, the HTTP parser's limits and the timeouts, the log output.
 */
const RESTART_ONLY = ['listen', 'workers', 'admin', 'adminToken', 'acceptProxyProtocol', 'tls', 'limits', 'timeouts', 'logLevel', 'logFormat'] as const;

/** The restart-only fields whose value differs between two configurations (issue 13: a reload warns about them). */
export function restartOnlyChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  return RESTART_ONLY.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}
