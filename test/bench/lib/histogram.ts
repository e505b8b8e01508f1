// Latency histogram over integer microseconds. Log-linear buckets (the idea
// of HdrHistogram, without the dependency): exact below 256 µs, then 128
// sub-buckets per power of two, so any percentile is within 0.4% of the true
// value; fixed memory (a few KiB) however many samples are recorded.

const LINEAR = 256; // values below this get one bucket each
const SUB_BITS = 7; // 2^7 = 128 sub-buckets per power of two above LINEAR
const SUB = 1 << SUB_BITS;
const MAX_US = 2 ** 32 - 1; // ~71 minutes; clz32 below needs 32-bit values
const BUCKETS = LINEAR + (32 - 8) * SUB;

function bucketOf(us: number): number {
  if (us < LINEAR) return us;
  const e = 31 - Math.clz32(us); // floor(log2(us)), >= 8
  const mantissa = us >>> (e - SUB_BITS); // in [128, 256)
  return LINEAR + (e - 8) * SUB + (mantissa - SUB);
}

/** Midpoint of a bucket: the value reported for samples that fell in it. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const e = Math.floor((bucket - LINEAR) / SUB) + 8;
  const mantissa = ((bucket - LINEAR) % SUB) + SUB;
  const width = 2 ** (e - SUB_BITS);
  return mantissa * width + (width - 1) / 2;
}

/** Percentiles in milliseconds (3 decimals = µs resolution). */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private minUs = Infinity;
  private maxUs = 0;
  private sumUs = 0;

  get count(): number {
    return this.n;
  }

  /** Records a duration given in (fractional) milliseconds, as performance.now() differences are. */
  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (!(us >= 1)) us = 1; // also catches NaN
    if (us > MAX_US) us = MAX_US;
    this.counts[bucketOf(us)]! += 1;
    this.n++;
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Value (µs) at percentile p in [0, 100]: the smallest bucket covering p% of the samples. */
  percentileUs(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, valueOf(i)));
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number): number => Math.round(us) / 1000;
    if (this.n === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    return {
      count: this.n,
      min: ms(this.minUs),
      mean: ms(this.sumUs / this.n),
      p50: ms(this.percentileUs(50)),
      p90: ms(this.percentileUs(90)),
      p99: ms(this.percentileUs(99)),
      p999: ms(this.percentileUs(99.9)),
      max: ms(this.maxUs),
    };
  }
}
