/**
 * Objectives (`--objective throughput`, `--objective p95_latency:0.5`) and the score they give a level's
 * figures. The score is Σ weight × ln(value), negated for lower-is-better figures: a scalar, so ranking is a
 * total order (Model Analyzer's pairwise weighted comparison is not transitive), and it compares relative
 * changes, so figures with different units mix: +10 % throughput weighs as much as −10 % latency.
 */
import { type AnalyzeMetric, analyzeMetricByName, analyzeMetricNames } from './analyze-metrics.ts';

export interface Objective {
  metric: AnalyzeMetric;
  /** Relative importance (> 0). */
  weight: number;
}

const PATTERN = /^\s*([a-z0-9_]+)\s*(?::\s*([0-9]*\.?[0-9]+)\s*)?$/i;

/** Parses `metric` or `metric:weight`. */
export function parseObjective(text: string): { value: Objective } | { error: string } {
  const m = PATTERN.exec(text);
  if (!m)
    return {
      error: `invalid objective '${text}': expected <metric>[:<weight>], e.g. 'throughput' or 'p95_latency:0.5'`,
    };
  const metric = analyzeMetricByName(m[1] as string);
  if (!metric) {
    return { error: `unknown objective '${m[1]}'. Known: ${analyzeMetricNames().join(', ')}` };
  }
  const weight = m[2] === undefined ? 1 : Number(m[2]);
  if (!(weight > 0) || !Number.isFinite(weight)) {
    return { error: `invalid objective '${text}': the weight must be a number > 0` };
  }
  return { value: { metric, weight } };
}

/** Values at or below this are taken as this (ln 0 = −∞ would make every zero figure tie at −∞). */
const FLOOR = 1e-9;

/** The objectives' score of one level (higher is better); undefined when a figure it needs is absent. */
export function objectiveScore(
  objectives: readonly Objective[],
  figures: Readonly<Record<string, number>>,
): number | undefined {
  let score = 0;
  for (const { metric, weight } of objectives) {
    const value = figures[metric.name];
    if (value === undefined || !Number.isFinite(value)) return undefined;
    const term = weight * Math.log(Math.max(value, FLOOR));
    score += metric.higherIsBetter ? term : -term;
  }
  return score;
}
