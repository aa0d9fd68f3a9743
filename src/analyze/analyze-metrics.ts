/**
 * The figures `analyze` can constrain or optimise: every gate metric (src/gate/metrics.ts: throughput,
 * latencies, error rates, server queue/compute) plus the GPU figures scraped during the windows
 * (`--collect-metrics`). Model Analyzer's names (perf_throughput, perf_latency_p99, gpu_used_memory, …) are
 * accepted as aliases so a seed-002 `perf.yaml` reads the same.
 */

import { METRICS as GATE_METRICS, type MetricDef } from '../gate/metrics.ts';
import { formatMetricValue } from '../gate/thresholds.ts';
import type { Measurement } from '../report/model.ts';

export interface AnalyzeMetric {
  name: string;
  /** 'us' latencies, 'infer/s', 'ratio' (0..1), 'count', 'MB' (GPU memory), 'percent' (GPU utilisation). */
  unit: MetricDef['unit'] | 'MB' | 'percent';
  higherIsBetter: boolean;
  /** Grows (or does not fall) as the load grows: a config breaking an upper bound on it at one load level breaks it at every higher level. */
  growsWithLoad: boolean;
  /** Needs `--collect-metrics` (a /metrics endpoint with GPU figures). */
  needsGpuMetrics: boolean;
  description: string;
  read(m: Measurement): number | undefined;
}

/** Sum over GPUs of a per-GPU figure; undefined when no GPU reported one. */
function sumOverGpus(values: Record<string, number> | undefined): number | undefined {
  const list = Object.values(values ?? {});
  return list.length === 0 ? undefined : list.reduce((a, b) => a + b, 0);
}

function maxOverGpus(values: Record<string, number> | undefined): number | undefined {
  const list = Object.values(values ?? {});
  return list.length === 0 ? undefined : Math.max(...list);
}

const LOAD_MONOTONE = new Set([
  'avg_latency',
  'p50_latency',
  'p90_latency',
  'p95_latency',
  'p99_latency',
  'max_latency',
  'server_queue',
]);

export const ANALYZE_METRICS: readonly AnalyzeMetric[] = [
  ...GATE_METRICS.map(
    (m): AnalyzeMetric => ({
      name: m.name,
      unit: m.unit,
      higherIsBetter: m.higherIsBetter,
      growsWithLoad: LOAD_MONOTONE.has(m.name),
      needsGpuMetrics: false,
      description: m.description,
      read: m.read,
    }),
  ),
  {
    name: 'gpu_memory',
    unit: 'MB',
    higherIsBetter: false,
    growsWithLoad: false,
    needsGpuMetrics: true,
    description: 'GPU memory used, summed over GPUs (MB = 10^6 bytes)',
    read: (m) => {
      const bytes = sumOverGpus(m.metrics?.gpuMemoryUsedBytes);
      return bytes === undefined ? undefined : bytes / 1e6;
    },
  },
  {
    name: 'gpu_utilization',
    unit: 'percent',
    higherIsBetter: true,
    growsWithLoad: false,
    needsGpuMetrics: true,
    description: 'GPU utilisation, busiest GPU, in percent',
    read: (m) => {
      const fraction = maxOverGpus(m.metrics?.gpuUtilization);
      return fraction === undefined ? undefined : fraction * 100;
    },
  },
];

/** Model Analyzer's metric names → ours. */
const ALIASES: Readonly<Record<string, string>> = {
  perf_throughput: 'throughput',
  perf_latency: 'p99_latency',
  perf_latency_avg: 'avg_latency',
  perf_latency_p90: 'p90_latency',
  perf_latency_p95: 'p95_latency',
  perf_latency_p99: 'p99_latency',
  gpu_used_memory: 'gpu_memory',
  gpu_utilization: 'gpu_utilization',
};

const BY_NAME = new Map(ANALYZE_METRICS.map((m) => [m.name, m]));

export function analyzeMetricByName(name: string): AnalyzeMetric | undefined {
  const key = name.trim().toLowerCase();
  return BY_NAME.get(ALIASES[key] ?? key);
}

export function analyzeMetricNames(): string[] {
  return ANALYZE_METRICS.map((m) => m.name);
}

/** Every figure of a measurement `analyze` knows, by name (absent figures left out): what a level keeps. */
export function readAnalyzeMetrics(m: Measurement): Record<string, number> {
  const out: Record<string, number> = {};
  for (const metric of ANALYZE_METRICS) {
    const v = metric.read(m);
    if (v !== undefined && Number.isFinite(v)) out[metric.name] = v;
  }
  return out;
}

/** A value of a metric in the unit a person reads it in. */
export function formatAnalyzeValue(metric: AnalyzeMetric, value: number): string {
  switch (metric.unit) {
    case 'MB':
      return `${value.toFixed(0)} MB`;
    case 'percent':
      return `${value.toFixed(1)}%`;
    default:
      return formatMetricValue({ unit: metric.unit }, value);
  }
}
