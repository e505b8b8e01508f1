/**
 * One code per failure, each with the HTTP status it is answered with and the
 * sentence that goes to the client and to the log. Codes are stable: logs and
 * metrics are keyed by them, and README lists them.
 */
export const FAILURES = {
  ERR_HANDSHAKE_METHOD: { status: 400, message: 'Invalid HTTP method: a WebSocket handshake must be a GET (RFC 6455 4.2.1)' },
  ERR_HANDSHAKE_HTTP_VERSION: { status: 400, message: 'Invalid HTTP version: a WebSocket handshake needs HTTP/1.1 or higher' },
  ERR_HANDSHAKE_UPGRADE: { status: 400, message: 'Invalid Upgrade header: expected "websocket"' },
  ERR_HANDSHAKE_CONNECTION: { status: 400, message: 'Invalid Connection header: expected the "upgrade" token' },
  ERR_HANDSHAKE_KEY: { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header: expected 16 bytes in base64' },
  ERR_HANDSHAKE_WS_VERSION_MISSING: { status: 400, message: 'Missing Sec-WebSocket-Version header' },
  ERR_HANDSHAKE_WS_VERSION: { status: 426, message: 'Unsupported Sec-WebSocket-Version: only 13 is supported' },
  ERR_ROUTE_NOT_FOUND: { status: 404, message: 'No route matches this request' },
  ERR_ROUTE_BAD_PATH: { status: 400, message: 'Invalid request path: malformed percent-encoding, bytes that are not UTF-8, or NUL' },
  ERR_ROUTE_FORBIDDEN: { status: 403, message: 'This route only accepts connections through an allowed VPC endpoint' },
  ERR_LIMIT_ROUTE: { status: 503, message: 'The route has reached its connection limit' },
  ERR_LIMIT_CLIENT: { status: 503, message: 'Too many connections from this client address' },
  ERR_UPSTREAM_UNAVAILABLE: { status: 502, message: 'No backend of the route could be reached' },
  ERR_UPSTREAM_NO_HEALTHY: { status: 503, message: 'Every backend of the route is out of rotation (down or draining)' },
  ERR_UPSTREAM_BAD_RESPONSE: { status: 502, message: 'The backend sent an invalid or incomplete response' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'The backend did not answer in time' },
  ERR_GATEWAY_DRAINING: { status: 503, message: 'This gateway is shutting down: connect again (through the load balancer)' },
  ERR_GATEWAY_RESOURCES: { status: 503, message: 'This gateway is out of a local resource (file descriptors, ports or memory): try again shortly' },
} as const satisfies Record<string, { status: number; message: string }>;

export type FailureCode = keyof typeof FAILURES;

/** Thrown for configuration problems; `problems` lists every one found, by path. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG_INVALID';
  constructor(
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
