/**
 * Constraints (`--constraint 'p95_latency<=20ms'`) and their check against one load level's figures. Parsing
 * returns errors as values; checking is pure. Units as in thresholds: latencies us/ms/s, rates % or a
 * fraction, GPU memory MB/GB, GPU utilisation %.
 */
import { holds } from '../gate/thresholds.ts';
import { LATENCY_UNIT_US } from '../protocol/units.ts';
import {
  type AnalyzeMetric,
  analyzeMetricByName,
  analyzeMetricNames,
  formatAnalyzeValue,
} from './analyze-metrics.ts';

export type Comparator = '<' | '<=' | '>' | '>=';

export interface Constraint {
  /** As the user wrote it, for messages and records. */
  source: string;
  metric: AnalyzeMetric;
  comparator: Comparator;
  /** In the metric's base unit (µs, infer/s, fraction, MB, percent). */
  limit: number;
}

const PATTERN =
  /^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z/%]*)\s*$/i;

const MEMORY_UNITS: Record<string, number> = { '': 1, mb: 1, gb: 1000 };

function unitFactor(metric: AnalyzeMetric, unit: string): number | undefined {
  const u = unit.toLowerCase();
  switch (metric.unit) {
    case 'us':
      return LATENCY_UNIT_US[u];
    case 'ratio':
      return u === '' ? 1 : u === '%' ? 0.01 : undefined;
    case 'infer/s':
      return u === '' || u === 'infer/s' ? 1 : undefined;
    case 'count':
      return u === '' ? 1 : undefined;
    case 'MB':
      return MEMORY_UNITS[u];
    case 'percent':
      return u === '' || u === '%' ? 1 : undefined;
  }
}

const UNIT_HINT: Record<AnalyzeMetric['unit'], string> = {
  us: 'us, ms or s',
  ratio: '% or none (a fraction)',
  'infer/s': 'infer/s or none',
  count: 'none',
  MB: 'MB or GB',
  percent: '% or none',
};

/** Parses `metric<op>value[unit]`, e.g. `p95_latency<=20ms`, `throughput>=500`, `gpu_memory<8GB`. */
export function parseConstraint(text: string): { value: Constraint } | { error: string } {
  const m = PATTERN.exec(text);
  if (!m) {
    return {
      error: `invalid constraint '${text}': expected <metric><op><value>[unit] with op one of <, <=, >, >=, e.g. 'p95_latency<=20ms'`,
    };
  }
  const [, name, comparator, numberText, unitText] = m as unknown as [string, string, string, string, string];
  const metric = analyzeMetricByName(name);
  if (!metric) {
    return {
      error: `invalid constraint '${text}': unknown metric '${name}'. Known: ${analyzeMetricNames().join(', ')}`,
    };
  }
  const number = Number(numberText);
  if (!Number.isFinite(number))
    return { error: `invalid constraint '${text}': '${numberText}' is not a number` };
  const factor = unitFactor(metric, unitText);
  if (factor === undefined) {
    return {
      error: `invalid constraint '${text}': unit '${unitText}' does not fit ${metric.name} (use ${UNIT_HINT[metric.unit]})`,
    };
  }
  return {
    value: { source: text.trim(), metric, comparator: comparator as Comparator, limit: number * factor },
  };
}

export interface ConstraintCheck {
  constraint: Constraint;
  passed: boolean;
  /** The level's value; undefined = not measured (counts as failed). */
  value?: number;
  /**
   * How far the value is past the limit, relative to the limit (0 when passed; 1 when not measured): lets a
   * search tell "slightly over" from "far over" among configs that meet no constraint.
   */
  excess: number;
}

export function checkConstraint(
  constraint: Constraint,
  figures: Readonly<Record<string, number>>,
): ConstraintCheck {
  const value = figures[constraint.metric.name];
  if (value === undefined) return { constraint, passed: false, excess: 1 };
  const passed = holds(value, constraint.comparator, constraint.limit);
  if (passed) return { constraint, passed, value, excess: 0 };
  const scale = Math.max(Math.abs(constraint.limit), 1e-12);
  return { constraint, passed, value, excess: Math.abs(value - constraint.limit) / scale };
}

export function checkConstraints(
  constraints: readonly Constraint[],
  figures: Readonly<Record<string, number>>,
): ConstraintCheck[] {
  return constraints.map((c) => checkConstraint(c, figures));
}

/**
 * True when more load cannot bring this failed check back within its limit: an upper bound (<, <=) on a
 * figure that grows with load (latencies, queue time). The search stops raising the load of a config then.
 */
export function failsForHigherLoad(check: ConstraintCheck): boolean {
  const { constraint } = check;
  return (
    !check.passed &&
    check.value !== undefined &&
    constraint.metric.growsWithLoad &&
    (constraint.comparator === '<' || constraint.comparator === '<=')
  );
}

/** `p95_latency 23.10 ms > 20 ms`: why a level failed. */
export function describeFailure(check: ConstraintCheck): string {
  const { constraint } = check;
  if (check.value === undefined) return `${constraint.metric.name} not measured`;
  return `${constraint.metric.name} ${formatAnalyzeValue(constraint.metric, check.value)} breaks ${constraint.comparator} ${formatAnalyzeValue(constraint.metric, constraint.limit)}`;
}
