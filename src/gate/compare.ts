/**
 * `inferbench compare BASELINE… CURRENT`: per level and metric, the change and whether it is a regression.
 * Noise-aware: a change only counts when it is larger than the tolerance PLUS the noise seen — the spread
 * across repeated baseline runs, or (one baseline) the window-to-window spread measured within each run.
 */
import type { ComparableLevel, ComparableRun } from './comparable.ts';
import { metricByName } from './metrics.ts';
import { formatMetricValue } from './thresholds.ts';

export interface CompareOptions {
  /** Relative tolerance, e.g. 0.10 for 10 %. */
  tolerance: number;
  /** Metrics to compare (names from gate/metrics.ts). */
  metrics: string[];
  /** error_rate is compared in absolute points (baselines are usually 0): allowed increase, e.g. 0.001. */
  errorRateTolerance: number;
}

export const DEFAULT_COMPARE_METRICS = [
  'throughput',
  'p50_latency',
  'p95_latency',
  'p99_latency',
  'error_rate',
];

export type ChangeVerdict = 'ok' | 'improved' | 'regressed' | 'missing';

export interface MetricChange {
  level: string;
  metric: string;
  baseline: number | undefined;
  current: number | undefined;
  /** (current − baseline) / baseline; undefined when either side is missing or the baseline is 0. */
  relativeChange: number | undefined;
  /** Relative change allowed before it counts: tolerance + noise. */
  allowed: number;
  verdict: ChangeVerdict;
}

export interface CompareResult {
  baselineSources: string[];
  currentSource: string;
  changes: MetricChange[];
  regressions: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Combines repeated baseline runs: median value per metric, noise = spread across the runs (or within, if larger). */
function combineBaselines(baselines: ComparableRun[]): Map<string, ComparableLevel> {
  const byKey = new Map<string, ComparableLevel[]>();
  for (const run of baselines) {
    for (const level of run.levels) {
      const list = byKey.get(level.key) ?? [];
      list.push(level);
      byKey.set(level.key, list);
    }
  }
  const combined = new Map<string, ComparableLevel>();
  for (const [key, levels] of byKey) {
    const metrics: Record<string, number> = {};
    const noise: Record<string, number> = {};
    const names = new Set(levels.flatMap((l) => Object.keys(l.metrics)));
    for (const name of names) {
      const values = levels.map((l) => l.metrics[name]).filter((v): v is number => v !== undefined);
      const m = median(values);
      metrics[name] = m;
      const across = values.length > 1 && m !== 0 ? (Math.max(...values) - Math.min(...values)) / m : 0;
      const within = Math.max(0, ...levels.map((l) => l.noise[name] ?? 0));
      noise[name] = Math.max(across, within);
    }
    combined.set(key, { key, metrics, noise });
  }
  return combined;
}

export function compareRuns(
  baselines: ComparableRun[],
  current: ComparableRun,
  options: CompareOptions,
): CompareResult {
  const base = combineBaselines(baselines);
  const cur = new Map(current.levels.map((l) => [l.key, l]));
  const keys = [...new Set([...base.keys(), ...cur.keys()])];
  const changes: MetricChange[] = [];
  for (const key of keys) {
    const b = base.get(key);
    const c = cur.get(key);
    for (const metric of options.metrics) {
      const def = metricByName(metric);
      if (!def) throw new Error(`unknown metric '${metric}'`);
      const bv = b?.metrics[metric];
      const cv = c?.metrics[metric];
      if (bv === undefined || cv === undefined) {
        if (bv === undefined && cv === undefined) continue;
        changes.push({
          level: key,
          metric,
          baseline: bv,
          current: cv,
          relativeChange: undefined,
          allowed: 0,
          verdict: 'missing',
        });
        continue;
      }
      if (metric === 'error_rate') {
        const worse = cv - bv > options.errorRateTolerance;
        changes.push({
          level: key,
          metric,
          baseline: bv,
          current: cv,
          relativeChange: bv === 0 ? undefined : (cv - bv) / bv,
          allowed: options.errorRateTolerance,
          verdict: worse ? 'regressed' : cv < bv ? 'improved' : 'ok',
        });
        continue;
      }
      const allowed = options.tolerance + Math.max(b?.noise[metric] ?? 0, c?.noise[metric] ?? 0);
      const rel = bv === 0 ? undefined : (cv - bv) / bv;
      let verdict: ChangeVerdict = 'ok';
      if (rel !== undefined) {
        const better = def.higherIsBetter ? rel : -rel;
        if (better < -allowed) verdict = 'regressed';
        else if (better > allowed) verdict = 'improved';
      }
      changes.push({ level: key, metric, baseline: bv, current: cv, relativeChange: rel, allowed, verdict });
    }
  }
  return {
    baselineSources: baselines.map((b) => b.source),
    currentSource: current.source,
    changes,
    regressions: changes.filter((c) => c.verdict === 'regressed' || c.verdict === 'missing').length,
  };
}

function fmt(metric: string, v: number | undefined): string {
  const def = metricByName(metric);
  if (v === undefined || !def) return '—';
  return formatMetricValue(def, v);
}

function pct(v: number | undefined): string {
  if (v === undefined) return '—';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
}

const MARK: Record<ChangeVerdict, string> = {
  ok: 'ok',
  improved: 'improved',
  regressed: 'REGRESSED',
  missing: 'MISSING',
};

/** Markdown for a pull-request comment. */
export function renderCompareMarkdown(result: CompareResult): string {
  const lines = [
    `### inferbench compare: ${result.regressions === 0 ? 'no regression' : `${result.regressions} regression(s)`}`,
    '',
    `Baseline: ${result.baselineSources.map((s) => `\`${s}\``).join(', ')} · Current: \`${result.currentSource}\``,
    '',
    '| level | metric | baseline | current | change | allowed | verdict |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const c of result.changes) {
    const allowed =
      c.metric === 'error_rate' ? `+${(c.allowed * 100).toFixed(2)} pp` : `±${(c.allowed * 100).toFixed(1)}%`;
    lines.push(
      `| ${c.level} | ${c.metric} | ${fmt(c.metric, c.baseline)} | ${fmt(c.metric, c.current)} | ${pct(c.relativeChange)} | ${allowed} | ${c.verdict === 'regressed' || c.verdict === 'missing' ? `**${MARK[c.verdict]}**` : MARK[c.verdict]} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Plain text for a terminal. */
export function renderCompareText(result: CompareResult): string {
  const rows = result.changes.map((c) => [
    c.level,
    c.metric,
    fmt(c.metric, c.baseline),
    fmt(c.metric, c.current),
    pct(c.relativeChange),
    MARK[c.verdict],
  ]);
  const head = ['level', 'metric', 'baseline', 'current', 'change', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    line(head),
    ...rows.map(line),
    '',
    result.regressions === 0 ? 'No regression.' : `${result.regressions} regression(s).`,
    '',
  ].join('\n');
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JUnit XML: one testcase per level × metric, failures for regressions, so CI systems show them natively. */
export function renderCompareJUnit(result: CompareResult): string {
  const cases = result.changes.map((c) => {
    const name = xmlEscape(`${c.level} ${c.metric}`);
    const body =
      c.verdict === 'regressed' || c.verdict === 'missing'
        ? `<failure message="${xmlEscape(`${MARK[c.verdict]}: ${fmt(c.metric, c.baseline)} → ${fmt(c.metric, c.current)} (${pct(c.relativeChange)})`)}"/>`
        : '';
    return `    <testcase classname="inferbench.compare" name="${name}">${body}</testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="inferbench compare" tests="${result.changes.length}" failures="${result.regressions}">`,
    `  <testsuite name="${xmlEscape(result.currentSource)}" tests="${result.changes.length}" failures="${result.regressions}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
