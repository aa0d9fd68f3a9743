/**
 * The seam to the Prometheus scraper (measure/metrics-scrape.ts, owned by the transport side). The profiler
 * starts it at the first window of a level and stops it at the level's end, as perf_analyzer does, and puts
 * the per-level aggregate on the level's merged measurement.
 */
import type { MetricsSummary } from '../report/model.ts';

export interface MetricsSampler {
  /** Begins periodic scraping. */
  start(): void;
  /** Ends scraping; returns the per-GPU aggregate of the scrapes since `start`, or undefined when none parsed. */
  stop(): MetricsSummary | undefined;
}
