/**
 * One latency distribution: an HDR histogram (integer µs, 3 significant digits, auto-resizing, JS
 * implementation) for percentiles, plus exact count/min/max/mean/M2 (Welford) so the mean and the sample
 * standard deviation are exact rather than bucket-rounded. Accumulators merge by ADDING (histograms added,
 * moments combined with Chan's formula), never by averaging percentiles.
 */
import * as hdr from 'hdr-histogram-js';
import { nsToUs } from '../protocol/units.ts';

export class LatencyAccumulator {
  readonly histogram: hdr.Histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2 ** 20,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: true,
    useWebAssembly: false,
  });
  count = 0;
  meanUs = 0;
  /** Sum of squared deviations from the mean (µs²). */
  m2Us2 = 0;
  minUs = Number.POSITIVE_INFINITY;
  maxUs = 0;

  /** Records one latency given in ns (negative values, from clock misuse, are clamped to 0). */
  recordNs(latencyNs: number): void {
    const us = nsToUs(Math.max(0, latencyNs));
    this.histogram.recordValue(Math.trunc(us));
    this.count++;
    const delta = us - this.meanUs;
    this.meanUs += delta / this.count;
    this.m2Us2 += delta * (us - this.meanUs);
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Adds `other` into this accumulator (pooled distribution). */
  add(other: LatencyAccumulator): void {
    if (other.count === 0) return;
    this.histogram.add(other.histogram);
    const total = this.count + other.count;
    const delta = other.meanUs - this.meanUs;
    this.m2Us2 += other.m2Us2 + (delta * delta * this.count * other.count) / total;
    this.meanUs += (delta * other.count) / total;
    this.count = total;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /** Sample standard deviation (n − 1); 0 below two samples (perf_analyzer would print UINT64_MAX for n = 1). */
  sampleStdUs(): number {
    return this.count < 2 ? 0 : Math.sqrt(Math.max(0, this.m2Us2) / (this.count - 1));
  }
}
