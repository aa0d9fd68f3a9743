/**
 * The figures a gate or a comparison can name, read off a level's merged measurement. One table so that
 * thresholds, `compare` and the docs agree on names, units and which direction is better.
 */
import { meanUs } from '../protocol/units.ts';
import type { LevelResult, Measurement } from '../report/model.ts';

export type MetricUnit = 'infer/s' | 'us' | 'ratio' | 'count';

export interface MetricDef {
  name: string;
  unit: MetricUnit;
  /** True when a larger value is better (throughput); false for latencies and error rates. */
  higherIsBetter: boolean;
  description: string;
  read(m: Measurement): number | undefined;
}

function percentile(m: Measurement, p: string): number | undefined {
  return m.latency.percentilesUs[p];
}

function errorRate(m: Measurement): number {
  const total = m.requestCount + m.errorCount;
  return total === 0 ? 0 : m.errorCount / total;
}

export const METRICS: readonly MetricDef[] = [
  {
    name: 'throughput',
    unit: 'infer/s',
    higherIsBetter: true,
    description: 'inferences per second',
    read: (m) => m.throughputPerSec,
  },
  {
    name: 'avg_latency',
    unit: 'us',
    higherIsBetter: false,
    description: 'mean client latency',
    read: (m) => m.latency.meanUs,
  },
  ...['50', '90', '95', '99'].map(
    (p): MetricDef => ({
      name: `p${p}_latency`,
      unit: 'us',
      higherIsBetter: false,
      description: `p${p} client latency`,
      read: (m) => percentile(m, p),
    }),
  ),
  {
    name: 'max_latency',
    unit: 'us',
    higherIsBetter: false,
    description: 'slowest request',
    read: (m) => m.latency.maxUs,
  },
  {
    name: 'error_rate',
    unit: 'ratio',
    higherIsBetter: false,
    description: 'failed / (failed + successful) requests',
    read: errorRate,
  },
  {
    name: 'errors',
    unit: 'count',
    higherIsBetter: false,
    description: 'failed requests',
    read: (m) => m.errorCount,
  },
  {
    name: 'delayed_rate',
    unit: 'ratio',
    higherIsBetter: false,
    description: 'open loop: requests sent late / sent',
    read: (m) => (m.sentCount === 0 ? 0 : m.delayedCount / m.sentCount),
  },
  {
    name: 'server_queue',
    unit: 'us',
    higherIsBetter: false,
    description: 'average server queue time',
    read: (m) => meanUs(m.server?.queue),
  },
  {
    name: 'server_compute_infer',
    unit: 'us',
    higherIsBetter: false,
    description: 'average server compute infer time',
    read: (m) => meanUs(m.server?.computeInfer),
  },
];

const BY_NAME = new Map(METRICS.map((m) => [m.name, m]));

export function metricByName(name: string): MetricDef | undefined {
  return BY_NAME.get(name);
}

/** Reads `metric` off a level's merged measurement; undefined when the level has none or the figure is absent. */
export function readMetric(level: LevelResult, metric: MetricDef): number | undefined {
  return level.merged ? metric.read(level.merged) : undefined;
}
