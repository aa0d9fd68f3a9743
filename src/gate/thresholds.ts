/**
 * Threshold gates: `p95_latency<=20ms`, `throughput>=500`, `error_rate<0.1%`, optionally scoped:
 * `level=16:throughput>=500` (only that load level), `any:throughput>=1000` (at least one level),
 * default `each:` (every reported level). Parsing returns errors as values; evaluation is pure.
 */
import { LATENCY_UNIT_US, usToMs } from '../protocol/units.ts';
import type { LevelResult, RunResult } from '../report/model.ts';
import { METRICS, type MetricDef, metricByName, readMetric } from './metrics.ts';

export type Comparator = '<' | '<=' | '>' | '>=' | '==';

export type Scope = { kind: 'each' } | { kind: 'any' } | { kind: 'level'; value: number };

export interface Threshold {
  /** The text as the user wrote it, for messages. */
  source: string;
  scope: Scope;
  metric: MetricDef;
  comparator: Comparator;
  /** In the metric's base unit (µs for latencies, a fraction for rates). */
  limit: number;
}

export interface ThresholdVerdict {
  threshold: Threshold;
  passed: boolean;
  /** One line per level checked: `concurrency 8: p95_latency 21.3 ms > 20 ms`. */
  details: string[];
}

const PATTERN =
  /^\s*(?:(each|any|level\s*=\s*([0-9.]+))\s*:)?\s*([a-z0-9_]+)\s*(<=|>=|==|<|>)\s*([-+0-9.eE]+)\s*([a-z/%]*)\s*$/;

/** Parses one threshold expression. */
export function parseThreshold(text: string): { value: Threshold } | { error: string } {
  const m = PATTERN.exec(text);
  if (!m) {
    return {
      error: `invalid threshold '${text}': expected [each:|any:|level=N:]<metric><op><value>[unit], e.g. 'p95_latency<=20ms'`,
    };
  }
  const [, scopeText, levelText, metricName, comparator, numberText, unitText] = m as unknown as string[];
  const metric = metricByName(metricName as string);
  if (!metric) {
    return {
      error: `invalid threshold '${text}': unknown metric '${metricName}'. Known: ${METRICS.map((d) => d.name).join(', ')}`,
    };
  }
  const number = Number(numberText);
  if (!Number.isFinite(number))
    return { error: `invalid threshold '${text}': '${numberText}' is not a number` };
  const unit = unitText ?? '';
  let limit: number;
  if (metric.unit === 'us') {
    const factor = LATENCY_UNIT_US[unit];
    if (factor === undefined)
      return { error: `invalid threshold '${text}': latency unit must be us, ms or s` };
    limit = number * factor;
  } else if (metric.unit === 'ratio') {
    if (unit !== '' && unit !== '%')
      return { error: `invalid threshold '${text}': rate unit must be % or none` };
    limit = unit === '%' ? number / 100 : number;
  } else {
    if (unit !== '' && unit !== 'infer/s')
      return { error: `invalid threshold '${text}': unexpected unit '${unit}'` };
    limit = number;
  }
  let scope: Scope = { kind: 'each' };
  if (scopeText === 'any') scope = { kind: 'any' };
  else if (levelText !== undefined) scope = { kind: 'level', value: Number(levelText) };
  return { value: { source: text.trim(), scope, metric, comparator: comparator as Comparator, limit } };
}

/** Whether `value comparator limit` holds (gate thresholds and analyze constraints). */
export function holds(value: number, comparator: Comparator, limit: number): boolean {
  switch (comparator) {
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '==':
      return value === limit;
  }
}

/** Formats a value of a metric for messages, in the unit a person reads it in. */
export function formatMetricValue(metric: Pick<MetricDef, 'unit'>, value: number): string {
  switch (metric.unit) {
    case 'us':
      return value >= 1000 ? `${usToMs(value).toFixed(2)} ms` : `${value.toFixed(0)} us`;
    case 'ratio':
      return `${(value * 100).toFixed(3)}%`;
    case 'infer/s':
      return `${value.toFixed(1)} infer/s`;
    case 'count':
      return String(value);
  }
}

function levelLabel(level: LevelResult): string {
  return `${level.mode === 'concurrency' ? 'concurrency' : 'request rate'} ${level.value}`;
}

/** Checks one threshold against the levels of a run that have a merged measurement. */
export function evaluateThreshold(run: RunResult, threshold: Threshold): ThresholdVerdict {
  const candidates = run.levels.filter(
    (l) => l.merged && (threshold.scope.kind !== 'level' || l.value === threshold.scope.value),
  );
  const details: string[] = [];
  const results: boolean[] = [];
  for (const level of candidates) {
    const value = readMetric(level, threshold.metric);
    if (value === undefined) {
      details.push(`${levelLabel(level)}: ${threshold.metric.name} not measured`);
      results.push(false);
      continue;
    }
    const ok = holds(value, threshold.comparator, threshold.limit);
    results.push(ok);
    details.push(
      `${levelLabel(level)}: ${threshold.metric.name} ${formatMetricValue(threshold.metric, value)} ${ok ? 'ok' : 'FAILS'} ${threshold.comparator} ${formatMetricValue(threshold.metric, threshold.limit)}`,
    );
  }
  if (candidates.length === 0) details.push('no measured level matches this threshold');
  const passed =
    candidates.length > 0 &&
    (threshold.scope.kind === 'any' ? results.some(Boolean) : results.every(Boolean));
  return { threshold, passed, details };
}

export function evaluateThresholds(run: RunResult, thresholds: readonly Threshold[]): ThresholdVerdict[] {
  return thresholds.map((t) => evaluateThreshold(run, t));
}
