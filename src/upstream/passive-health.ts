/**
 * Passive health (issue 6): what live traffic says about a backend. Connect
 * failures and invalid handshake responses seen by open-tunnel.ts and
 * proxy-request.ts are counted; `failures` of them in a row eject the backend
 * for `coolOff`, without waiting for an active check. This is HAProxy's
 * `observe layer4` + `error-limit` + `on-error mark-down`, except that the way
 * back does not need active checks: after the cool-off the backend is tried
 * again (nginx's max_fails/fail_timeout does the same).
 *
 * After a cool-off the backend is on probation, like a circuit breaker's
 * half-open state: the count stays at failures-1, so the next failure ejects
 * it again at once and a dead backend costs one failed connect per cool-off,
 * not `failures` of them. Any success clears the count.
 *
 * Pure: the caller passes the clock and owns the timer that ends a cool-off.
 */
export interface PassiveSettings {
  /** Consecutive failures that eject; 0 turns passive checks off. */
  readonly failures: number;
  readonly coolOffMs: number;
}

export class PassiveHealth {
  private failures = 0;
  private until: number | undefined;
  lastFailure: string | undefined;

  constructor(readonly settings: PassiveSettings) {}

  get consecutiveFailures(): number {
    return this.failures;
  }

  get ejected(): boolean {
    return this.until !== undefined;
  }

  /** When the cool-off ends (ms since the epoch), while ejected. */
  get ejectedUntil(): number | undefined {
    return this.until;
  }

  /**
   * Counts one failure at `now`. Returns true when this failure ejects the
   * backend. Failures while already ejected (attempts that began before the
   * ejection) neither count nor extend the cool-off.
   */
  recordFailure(now: number, detail: string): boolean {
    if (this.settings.failures <= 0 || this.until !== undefined) return false;
    this.lastFailure = detail;
    this.failures++;
    if (this.failures < this.settings.failures) return false;
    this.until = now + this.settings.coolOffMs;
    return true;
  }

  /** A connection that got a valid response: the count starts again. */
  recordSuccess(): void {
    if (this.until === undefined) this.failures = 0;
  }

  /** The cool-off is over: back in rotation, on probation. Returns false if it was not ejected. */
  endCoolOff(): boolean {
    if (this.until === undefined) return false;
    this.until = undefined;
    this.failures = Math.max(0, this.settings.failures - 1);
    return true;
  }

  /** Forgets everything (an active check saw the backend come back). */
  reset(): void {
    this.failures = 0;
    this.until = undefined;
  }
}
