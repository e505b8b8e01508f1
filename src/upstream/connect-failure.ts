/**
 * The one list of socket errors that mean a backend connection was never
 * established, so the request never reached the backend and another backend
 * may take it (HAProxy's `retry-on conn-failure` with `option redispatch`).
 * Passive health counts them as connect failures. ETIMEDOUT is the kernel's
 * own SYN timeout; name errors come from a backend given by host name.
 */
const CONNECT_FAILURES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Errors of wsgate's own process or host (issue 13): out of descriptors (EMFILE, ENFILE), socket
 * buffers (ENOBUFS), memory (ENOMEM), or ephemeral ports (EADDRNOTAVAIL from connect(2)). They say
 * nothing about the backend: they never count against it, never eject it, and are not retried on
 * another backend (it would fail the same way). The client gets 503 ERR_GATEWAY_RESOURCES.
 */
const LOCAL_FAULTS: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL']);

export function isLocalFault(code: string | undefined): boolean {
  return code !== undefined && LOCAL_FAULTS.has(code);
}

export function isConnectFailure(code: string | undefined): boolean {
  return code !== undefined && CONNECT_FAILURES.has(code);
}

/**
 * An upgrade is a GET, idempotent (RFC 9110 9.2.2), and nothing has gone to
 * the client before the backend answers: a reset before the response head is
 * retried on the next backend as a connect failure is. A plain request may not
 * be idempotent, so a reset there is never retried (proxy-request.ts).
 */
export function isUpgradeRetryable(code: string | undefined): boolean {
  return code === 'ECONNRESET' || isConnectFailure(code);
}
