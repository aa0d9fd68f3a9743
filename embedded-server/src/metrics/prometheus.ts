/**
 * Triton's Prometheus metrics (reference §6) on a private prom-client Registry: the same family names, HELP
 * texts, types and labels, so existing Grafana dashboards and perf_analyzer's `--collect-metrics` scraper
 * work against the reference server unchanged. Counters mirror the statistics recorders' events (so `/stats`
 * and `/metrics` can never disagree); gauges (pending requests, host, GPU) are read on scrape.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { nsToS, nsToWholeUs } from '../../../src/protocol/units.ts';
import { FAILURE_REASONS, type FailureReason, type StatsEvent } from '../stats/model-stats.ts';
import type { HostUsage } from './host-usage.ts';
import type { GpuReader } from './nvidia-smi.ts';

/** Labels of every per-model family (Triton prints labels sorted by name). */
export interface ModelLabels {
  model: string;
  version: string;
}

export interface PendingCount extends ModelLabels {
  count: number;
}

export interface TritonMetricsOptions {
  /** Requests enqueued but not yet picked by an instance, per loaded model version; read on scrape. */
  pendingCounts: () => Iterable<PendingCount>;
  /** The server has a response cache: only then the `nv_cache_*_per_model` families exist (as in Triton). */
  cacheEnabled?: boolean;
  host?: HostUsage;
  /** Present only when a GPU was detected; then the `nv_gpu_*` families exist. */
  gpu?: GpuReader;
}

export interface TritonMetrics {
  readonly registry: Registry;
  /** Prometheus text-exposition content type of `render()`. */
  readonly contentType: string;
  /** Mirrors one statistics update (ModelStatsRecorder's event) into the counters. */
  observe(labels: ModelLabels, event: StatsEvent): void;
  modelLoaded(labels: ModelLabels, loadNs: number): void;
  /** Makes a model version's series exist at 0 (Triton lists a model as soon as it is loaded). */
  registerModel(labels: ModelLabels): void;
  /** Drops a model version's series (Triton removes a model's reporter when it unloads). */
  removeModel(labels: ModelLabels): void;
  render(): Promise<string>;
}

export const METRIC_HELP = {
  nv_inference_request_success: 'Number of successful inference requests, all batch sizes',
  nv_inference_request_failure: 'Number of failed inference requests, all batch sizes',
  nv_inference_count: 'Number of inferences performed (does not include cached requests)',
  nv_inference_exec_count: 'Number of model executions performed (does not include cached requests)',
  nv_inference_request_duration_us:
    'Cumulative inference request duration in microseconds (includes cached requests)',
  nv_inference_queue_duration_us:
    'Cumulative inference queuing duration in microseconds (includes cached requests)',
  nv_inference_compute_input_duration_us:
    'Cumulative compute input duration in microseconds (does not include cached requests)',
  nv_inference_compute_infer_duration_us:
    'Cumulative compute inference duration in microseconds (does not include cached requests)',
  nv_inference_compute_output_duration_us:
    'Cumulative inference compute output duration in microseconds (does not include cached requests)',
  nv_inference_pending_request_count:
    'Instantaneous number of pending requests awaiting execution per-model.',
  nv_model_load_duration_secs: 'Model load time in seconds',
  nv_cache_num_hits_per_model: 'Number of cache hits per model',
  nv_cache_num_misses_per_model: 'Number of cache misses per model',
  nv_cache_hit_duration_per_model: 'Total cache hit duration per model, in microseconds',
  nv_cache_miss_duration_per_model: 'Total cache miss (insert+lookup) duration per model, in microseconds',
  nv_cpu_utilization: 'CPU utilization rate [0.0 - 1.0]',
  nv_cpu_memory_total_bytes: 'CPU total memory (RAM), in bytes',
  nv_cpu_memory_used_bytes: 'CPU used memory (RAM), in bytes',
  nv_gpu_utilization: 'GPU utilization rate [0.0 - 1.0)',
  nv_gpu_memory_total_bytes: 'GPU total memory, in bytes',
  nv_gpu_memory_used_bytes: 'GPU used memory, in bytes',
  nv_gpu_power_usage: 'GPU power usage in watts',
} as const;

type MetricName = keyof typeof METRIC_HELP;
const MODEL_LABELS = ['model', 'version'] as const;

/** Label objects with keys in name order, because prom-client prints them in insertion order. */
function modelLabels(l: ModelLabels): ModelLabels {
  return { model: l.model, version: l.version };
}

/** One model version's counters (Triton adds whole microseconds per request, so the sums are of those). */
interface ModelSeries {
  readonly labels: ModelLabels;
  success: number;
  failures: Record<FailureReason, number>;
  inferenceCount: number;
  execCount: number;
  requestUs: number;
  queueUs: number;
  inputUs: number;
  inferUs: number;
  outputUs: number;
  cacheHits: number;
  cacheMisses: number;
  cacheHitUs: number;
  cacheMissUs: number;
}

function newSeries(labels: ModelLabels): ModelSeries {
  const failures = Object.fromEntries(FAILURE_REASONS.map((r) => [r, 0])) as Record<FailureReason, number>;
  return {
    labels,
    success: 0,
    failures,
    inferenceCount: 0,
    execCount: 0,
    requestUs: 0,
    queueUs: 0,
    inputUs: 0,
    inferUs: 0,
    outputUs: 0,
    cacheHits: 0,
    cacheMisses: 0,
    cacheHitUs: 0,
    cacheMissUs: 0,
  };
}

/** Creates the registry and its families; nothing is global, so several servers can live in one process. */
export function createTritonMetrics(options: TritonMetricsOptions): TritonMetrics {
  const registry = new Registry();
  // Per-model counters are plain numbers per model version, added up as the statistics events arrive and
  // copied into prom-client's families on scrape: a prom-client inc hashes and validates its labels (≈ 1 µs
  // hot, tens of µs on a cold path), and a request success updates 7 series. Measured on the bundled OCR
  // ensemble at c=1: 25–35 µs between each composing request's end and its ensemble's next step.
  const series = new Map<string, ModelSeries>();
  const seriesOf = (labels: ModelLabels): ModelSeries => {
    const key = `${labels.model}\u0000${labels.version}`;
    let s = series.get(key);
    if (!s) {
      s = newSeries(modelLabels(labels));
      series.set(key, s);
    }
    return s;
  };
  const counter = (name: MetricName, pick: (s: ModelSeries) => number) =>
    new Counter({
      name,
      help: METRIC_HELP[name],
      labelNames: MODEL_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.values()) this.inc(s.labels, pick(s));
      },
    });

  counter('nv_inference_request_success', (s) => s.success);
  new Counter({
    name: 'nv_inference_request_failure',
    help: METRIC_HELP.nv_inference_request_failure,
    labelNames: ['model', 'reason', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of series.values()) {
        for (const reason of FAILURE_REASONS) {
          this.inc({ model: s.labels.model, reason, version: s.labels.version }, s.failures[reason]);
        }
      }
    },
  });
  counter('nv_inference_count', (s) => s.inferenceCount);
  counter('nv_inference_exec_count', (s) => s.execCount);
  counter('nv_inference_request_duration_us', (s) => s.requestUs);
  counter('nv_inference_queue_duration_us', (s) => s.queueUs);
  counter('nv_inference_compute_input_duration_us', (s) => s.inputUs);
  counter('nv_inference_compute_infer_duration_us', (s) => s.inferUs);
  counter('nv_inference_compute_output_duration_us', (s) => s.outputUs);
  new Gauge({
    name: 'nv_inference_pending_request_count',
    help: METRIC_HELP.nv_inference_pending_request_count,
    labelNames: MODEL_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of options.pendingCounts()) this.set(modelLabels(p), p.count);
    },
  });
  const loadSecs = new Gauge({
    name: 'nv_model_load_duration_secs',
    help: METRIC_HELP.nv_model_load_duration_secs,
    labelNames: MODEL_LABELS,
    registers: [registry],
  });
  if (options.cacheEnabled) {
    counter('nv_cache_num_hits_per_model', (s) => s.cacheHits);
    counter('nv_cache_num_misses_per_model', (s) => s.cacheMisses);
    counter('nv_cache_hit_duration_per_model', (s) => s.cacheHitUs);
    counter('nv_cache_miss_duration_per_model', (s) => s.cacheMissUs);
  }

  const host = options.host;
  if (host) {
    new Gauge({
      name: 'nv_cpu_utilization',
      help: METRIC_HELP.nv_cpu_utilization,
      registers: [registry],
      collect() {
        this.set(host.cpuUtilization());
      },
    });
    new Gauge({
      name: 'nv_cpu_memory_total_bytes',
      help: METRIC_HELP.nv_cpu_memory_total_bytes,
      registers: [registry],
      collect() {
        this.set(host.memoryTotalBytes());
      },
    });
    new Gauge({
      name: 'nv_cpu_memory_used_bytes',
      help: METRIC_HELP.nv_cpu_memory_used_bytes,
      registers: [registry],
      collect() {
        this.set(host.memoryUsedBytes());
      },
    });
  }

  const gpu = options.gpu;
  if (gpu) {
    const gpuGauge = (
      name:
        | 'nv_gpu_utilization'
        | 'nv_gpu_memory_total_bytes'
        | 'nv_gpu_memory_used_bytes'
        | 'nv_gpu_power_usage',
      pick: (r: Awaited<ReturnType<GpuReader['read']>>[number]) => number | undefined,
    ) =>
      new Gauge({
        name,
        help: METRIC_HELP[name],
        labelNames: ['gpu_uuid'] as const,
        registers: [registry],
        async collect() {
          this.reset();
          for (const r of await gpu.read()) {
            const v = pick(r);
            if (v !== undefined) this.set({ gpu_uuid: r.uuid }, v);
          }
        },
      });
    gpuGauge('nv_gpu_utilization', (r) => r.utilization);
    gpuGauge('nv_gpu_memory_total_bytes', (r) => r.memoryTotalBytes);
    gpuGauge('nv_gpu_memory_used_bytes', (r) => r.memoryUsedBytes);
    gpuGauge('nv_gpu_power_usage', (r) => r.powerUsageW);
  }

  return {
    registry,
    contentType: registry.contentType,
    observe(labels, event) {
      const s = seriesOf(labels);
      switch (event.kind) {
        case 'request-success':
          s.success += 1;
          s.requestUs += nsToWholeUs(event.requestNs);
          s.queueUs += nsToWholeUs(event.queueNs);
          if (!event.cached) {
            s.inferenceCount += event.inferenceCount;
            s.inputUs += nsToWholeUs(event.computeInputNs);
            s.inferUs += nsToWholeUs(event.computeInferNs);
            s.outputUs += nsToWholeUs(event.computeOutputNs);
          }
          break;
        case 'request-failure':
          s.failures[event.reason] += 1;
          break;
        case 'execution':
          s.execCount += 1;
          break;
        case 'cache-hit':
          s.cacheHits += 1;
          s.cacheHitUs += nsToWholeUs(event.durationNs);
          break;
        case 'cache-miss':
          s.cacheMisses += 1;
          s.cacheMissUs += nsToWholeUs(event.durationNs);
          break;
      }
    },
    modelLoaded(labels, loadNs) {
      loadSecs.set(modelLabels(labels), nsToS(loadNs));
    },
    registerModel(labels) {
      seriesOf(labels);
    },
    removeModel(labels) {
      series.delete(`${labels.model}\u0000${labels.version}`);
      loadSecs.remove(modelLabels(labels));
    },
    render: () => registry.metrics(),
  };
}
