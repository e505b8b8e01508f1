/**
 * wsgate's library API. The CLI is one user of it; nothing here imports the CLI.
 */
export { createGateway, Gateway, type DrainOptions, type GatewayOptions } from './gateway.js';
export { validateConfig } from './config/validate.js';
export type { GatewayConfig, GatewayConfigInput, RouteConfig, BackendConfig, LogLevel } from './config/schema.js';
export { ConfigError, FAILURES, type FailureCode } from './errors.js';
export type { TunnelSummary, ClosedBy } from './tunnel/tunnel.js';
export type { BackendReport, RouteReport } from './observability/backend-report.js';
