/**
 * The admin dashboard's memory (issue 12): the gateway's counters sampled on
 * one unref'd timer into a fixed-size ring, so a dashboard opened now can draw
 * the last 15 minutes at once instead of starting from an empty chart.
 */

/** The gateway's figures at one moment; totals count since the gateway started. */
export interface StatsSample {
  /** Date.now() when the sample was taken. */
  readonly at: number;
  readonly tunnelsActive: number;
  /** Tunnels opened since start. */
  readonly handshakesTotal: number;
  /** Upgrades and requests refused by wsgate itself. */
  readonly rejectedTotal: number;
  /** Both directions, including the tunnels still open. */
  readonly bytesTotal: number;
  /** Closed tunnels by Close code, e.g. {"1000": 5, "1001": 2, "abnormal": 1}. */
  readonly closeCodes: Readonly<Record<string, number>>;
}

export interface StatsHistoryOptions {
  /** Time between samples; default 5000 ms. */
  readonly intervalMs?: number;
  /** How far back the ring reaches; default 15 minutes. */
  readonly windowMs?: number;
  /** Called when `sample` throws; that tick is skipped. Default: the error is ignored. */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_STATS_INTERVAL_MS = 5000;
export const DEFAULT_STATS_WINDOW_MS = 15 * 60 * 1000;

export class StatsHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  /** windowMs / intervalMs, plus one: the oldest sample is a full window before the newest. */
  readonly capacity: number;
  readonly #sample: () => StatsSample;
  readonly #onError: (error: unknown) => void;
  readonly #ring: Array<StatsSample | undefined>;
  /** Where the next sample goes. */
  #next = 0;
  #count = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(sample: () => StatsSample, options: StatsHistoryOptions = {}) {
    const intervalMs = options.intervalMs ?? DEFAULT_STATS_INTERVAL_MS;
    const windowMs = options.windowMs ?? DEFAULT_STATS_WINDOW_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`intervalMs must be a positive number, got ${intervalMs}`);
    if (!Number.isFinite(windowMs) || windowMs < intervalMs) throw new RangeError(`windowMs must be at least intervalMs (${intervalMs}), got ${windowMs}`);
    this.intervalMs = intervalMs;
    this.windowMs = windowMs;
    this.capacity = Math.ceil(windowMs / intervalMs) + 1;
    this.#sample = sample;
    this.#onError = options.onError ?? (() => {});
    this.#ring = new Array<StatsSample | undefined>(this.capacity).fill(undefined);
  }

  /** Takes a sample now and then every intervalMs; a second call does nothing. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#take();
    this.#timer = setInterval(() => this.#take(), this.intervalMs);
    this.#timer.unref();
  }

  /** Stops sampling; the samples taken so far stay. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Oldest first; at most `capacity`. */
  samples(): readonly StatsSample[] {
    const out: StatsSample[] = [];
    const first = (this.#next - this.#count + this.capacity) % this.capacity;
    for (let i = 0; i < this.#count; i++) {
      const sample = this.#ring[(first + i) % this.capacity];
      if (sample !== undefined) out.push(sample);
    }
    return out;
  }

  #take(): void {
    let sample: StatsSample;
    try {
      sample = this.#sample();
    } catch (error) {
      this.#onError(error);
      return;
    }
    this.#ring[this.#next] = sample;
    this.#next = (this.#next + 1) % this.capacity;
    this.#count = Math.min(this.#count + 1, this.capacity);
  }
}
