/**
 * `--collect-metrics`: scrapes Triton's Prometheus endpoint every `--metrics-interval` ms during a level and
 * aggregates the four GPU gauges per `gpu_uuid` as perf_analyzer does (utilization and power averaged,
 * memory used = max, total = first). The text-format parser is small and hand-written: only gauges with
 * labels are needed, and no maintained parser package fits better.
 */
import { request } from 'undici';
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import { msToNs, nsToMs } from '../protocol/units.ts';
import type { MetricsSummary } from '../report/model.ts';
import type { MetricsSampler } from './metrics-sampler.ts';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`invalid sample value '${text}'`);
  return v;
}

/** Parses `{a="x",b="y\"z"}` starting at `line[start] === '{'`; returns labels and the index after '}'. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error('malformed label');
    const key = line.slice(i, eq).trim();
    let quote = eq + 1;
    while (line[quote] === ' ') quote++;
    if (line[quote] !== '"') throw new Error('malformed label');
    let value = '';
    for (i = quote + 1; i < line.length && line[i] !== '"'; i++) {
      if (line[i] === '\\') {
        i++;
        value += line[i] === 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
    }
    if (i >= line.length) throw new Error('unterminated label value');
    labels[key] = value;
    i++;
  }
}

/**
 * Prometheus text exposition (0.0.4) → samples. Comments (# HELP/# TYPE) and blank lines are skipped;
 * timestamps are ignored; a malformed line is skipped rather than failing the whole scrape.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      const nameEnd = line.search(/[{\s]/);
      if (nameEnd <= 0) continue;
      const name = line.slice(0, nameEnd);
      let labels: Record<string, string> = {};
      let rest = line.slice(nameEnd);
      if (line[nameEnd] === '{') {
        const parsed = parseLabels(line, nameEnd);
        labels = parsed.labels;
        rest = line.slice(parsed.end);
      }
      const value = parseValue(rest.trim().split(/\s+/)[0] ?? '');
      samples.push({ name, labels, value });
    } catch {
      // skip the malformed line
    }
  }
  return samples;
}

/** The four per-GPU gauges perf_analyzer reads, keyed by MetricsSummary field. */
export const GPU_METRICS = {
  gpuUtilization: 'nv_gpu_utilization',
  gpuPowerUsageW: 'nv_gpu_power_usage',
  gpuMemoryUsedBytes: 'nv_gpu_memory_used_bytes',
  gpuMemoryTotalBytes: 'nv_gpu_memory_total_bytes',
} as const;

type MetricKey = keyof typeof GPU_METRICS;

/** One scrape: metric → gpu uuid → value. */
export type GpuScrape = Record<MetricKey, Record<string, number>>;

/** Picks the GPU gauges out of a parsed scrape; `missing` lists the metrics with no sample. */
export function gpuScrapeOf(samples: readonly PromSample[]): { scrape: GpuScrape; missing: string[] } {
  const scrape: GpuScrape = {
    gpuUtilization: {},
    gpuPowerUsageW: {},
    gpuMemoryUsedBytes: {},
    gpuMemoryTotalBytes: {},
  };
  const byName = new Map<string, MetricKey>(Object.entries(GPU_METRICS).map(([k, n]) => [n, k as MetricKey]));
  const seen = new Set<string>();
  for (const s of samples) {
    const key = byName.get(s.name);
    const uuid = s.labels.gpu_uuid;
    if (!key || uuid === undefined) continue;
    scrape[key][uuid] = s.value;
    seen.add(s.name);
  }
  return { scrape, missing: Object.values(GPU_METRICS).filter((n) => !seen.has(n)) };
}

/** perf_analyzer's aggregation over a level's scrapes: avg utilization & power, max used, first total. */
export function aggregateGpuScrapes(scrapes: readonly GpuScrape[]): MetricsSummary | undefined {
  if (scrapes.length === 0) return undefined;
  const avg = (key: MetricKey): Record<string, number> => {
    const sum: Record<string, { total: number; n: number }> = {};
    for (const s of scrapes) {
      for (const [uuid, v] of Object.entries(s[key])) {
        const acc = sum[uuid] ?? { total: 0, n: 0 };
        acc.total += v;
        acc.n++;
        sum[uuid] = acc;
      }
    }
    return Object.fromEntries(Object.entries(sum).map(([uuid, a]) => [uuid, a.total / a.n]));
  };
  const used: Record<string, number> = {};
  const total: Record<string, number> = {};
  for (const s of scrapes) {
    for (const [uuid, v] of Object.entries(s.gpuMemoryUsedBytes)) used[uuid] = Math.max(used[uuid] ?? v, v);
    for (const [uuid, v] of Object.entries(s.gpuMemoryTotalBytes)) total[uuid] ??= v;
  }
  return {
    gpuUtilization: avg('gpuUtilization'),
    gpuPowerUsageW: avg('gpuPowerUsageW'),
    gpuMemoryUsedBytes: used,
    gpuMemoryTotalBytes: total,
  };
}

export interface MetricsSamplerOptions {
  /** `--metrics-url`, with or without `http://`. */
  url: string;
  intervalMs: number;
  clock: Clock;
  /** Fetches the exposition text; default: an undici GET that rejects on non-2xx. */
  fetchText?: (url: string) => Promise<string>;
  /** Receives each warning once (perf_analyzer prints them on stderr). */
  warn: (message: string) => void;
}

async function fetchWithUndici(url: string): Promise<string> {
  const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
  return text;
}

/** Periodic scraper implementing MetricsSampler; one scrape at a time, the next one interval after the last began. */
export function createMetricsSampler(options: MetricsSamplerOptions): MetricsSampler {
  const url = /^https?:\/\//.test(options.url) ? options.url : `http://${options.url}`;
  const fetchText = options.fetchText ?? fetchWithUndici;
  const { clock } = options;
  const intervalNs = msToNs(options.intervalMs);
  const warned = new Set<string>();
  const warnOnce = (key: string, message: string): void => {
    if (warned.has(key)) return;
    warned.add(key);
    options.warn(message);
  };
  let scrapes: GpuScrape[] = [];
  let running = false;
  let generation = 0;
  let timer: TimerHandle | undefined;

  async function scrapeOnce(gen: number): Promise<void> {
    const startNs = clock.nowNs();
    try {
      const { scrape, missing } = gpuScrapeOf(parsePrometheusText(await fetchText(url)));
      if (gen !== generation) return;
      for (const m of missing) warnOnce(`missing:${m}`, `WARNING: Unable to parse '${m}' metric.`);
      scrapes.push(scrape);
    } catch (err) {
      if (gen !== generation) return;
      warnOnce('fetch', `WARNING: failed to scrape metrics from ${url}: ${(err as Error).message}`);
    }
    const durationNs = clock.nowNs() - startNs;
    if (durationNs > intervalNs) {
      warnOnce(
        'slow',
        `WARNING: Triton metrics endpoint latency (${Math.round(nsToMs(durationNs))}ms) is larger than the querying interval (${options.intervalMs}ms). Please try a larger querying interval via \`--metrics-interval\`.`,
      );
    }
    if (running && gen === generation) {
      timer = clock.setTimer(() => void scrapeOnce(gen), Math.max(0, intervalNs - durationNs));
    }
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      scrapes = [];
      generation++;
      void scrapeOnce(generation);
    },
    stop(): MetricsSummary | undefined {
      running = false;
      generation++;
      timer?.cancel();
      timer = undefined;
      return aggregateGpuScrapes(scrapes);
    },
  };
}
