/**
 * Thresholds after a run (or over a stored record): evaluate, print the "Thresholds:" section on stderr, record
 * the verdicts in the RunResult and decide the exit code. Precedence: a run that failed by itself (unstable,
 * errors over the limit, no data, interrupted…) keeps its own exit code; gates can only turn a successful run
 * into exit code 1, so a CI log never blames a threshold for a broken server.
 */
import { ExitCode } from '../errors.ts';
import { evaluateThresholds, type Threshold, type ThresholdVerdict } from '../gate/thresholds.ts';
import type { GateVerdict, RunResult } from '../report/model.ts';

/** The verdicts as the run record stores them. */
export function gateRecords(verdicts: readonly ThresholdVerdict[]): GateVerdict[] {
  return verdicts.map((v) => ({ threshold: v.threshold.source, passed: v.passed, details: [...v.details] }));
}

/** The stderr section: one PASS/FAIL line per threshold with its per-level details, then a total. */
export function renderThresholdSection(verdicts: readonly ThresholdVerdict[]): string {
  const lines = ['Thresholds:'];
  for (const v of verdicts) {
    lines.push(`  ${v.passed ? 'PASS' : 'FAIL'}  ${v.threshold.source}`);
    for (const detail of v.details) lines.push(`          ${detail}`);
  }
  const failed = verdicts.filter((v) => !v.passed).length;
  lines.push(
    failed === 0
      ? `Thresholds: all ${verdicts.length} passed.`
      : `Thresholds: ${failed} of ${verdicts.length} failed: ${verdicts
          .filter((v) => !v.passed)
          .map((v) => v.threshold.source)
          .join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** The exit code after gates: the run's own failure wins, else 1 when any threshold failed. */
export function exitCodeAfterGates(runExitCode: number, verdicts: readonly ThresholdVerdict[]): number {
  if (runExitCode !== ExitCode.Success) return runExitCode;
  return verdicts.some((v) => !v.passed) ? ExitCode.GateFailed : ExitCode.Success;
}

/** Evaluates `thresholds` on `result`; returns the result with `gates` recorded (unchanged when there are none). */
export function applyGates(
  result: RunResult,
  thresholds: readonly Threshold[],
): { result: RunResult; verdicts: ThresholdVerdict[] } {
  if (thresholds.length === 0) return { result, verdicts: [] };
  const verdicts = evaluateThresholds(result, thresholds);
  return { result: { ...result, gates: gateRecords(verdicts) }, verdicts };
}
