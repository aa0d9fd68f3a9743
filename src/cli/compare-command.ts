/**
 * `inferbench compare BASELINE... CURRENT`: per level and metric, the change and whether it is a regression
 * (noise-aware, see gate/compare.ts), printed as text, Markdown (pull-request comments) or JUnit XML (CI test
 * reports). Exit 0 = no regression, 1 = regression(s), 3 = bad files or options.
 */
import { ExitCode, OptionError } from '../errors.ts';
import {
  type CompareResult,
  compareRuns,
  DEFAULT_COMPARE_METRICS,
  renderCompareJUnit,
  renderCompareMarkdown,
  renderCompareText,
} from '../gate/compare.ts';
import { METRICS, metricByName } from '../gate/metrics.ts';
import type { CompareFlags } from './options.ts';
import { readComparable } from './read-record.ts';
import type { FileView } from './resolve-settings.ts';

export interface CompareIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  files: FileView & { writeText(path: string, text: string, exclusive: boolean): void };
}

const RENDERERS: Record<string, (r: CompareResult) => string> = {
  text: renderCompareText,
  markdown: renderCompareMarkdown,
  junit: renderCompareJUnit,
};

/** `10%`, `10` (both 10 %) or `0.5%` → a fraction. */
export function parsePercentOption(flag: string, text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*%?\s*$/.exec(text);
  if (!m)
    throw new OptionError(`Failed to parse ${flag}. Expected a percentage such as 10% (got '${text}').`);
  return Number(m[1]) / 100;
}

function metricsOf(text: string | undefined): string[] {
  if (text === undefined) return [...DEFAULT_COMPARE_METRICS];
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !metricByName(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new OptionError(
      `Failed to parse --metrics. Unknown metric(s): ${unknown.join(', ') || '(none given)'}. Known: ${METRICS.map((m) => m.name).join(', ')}`,
    );
  }
  return names;
}

/** Runs the command; returns the exit code (throws OptionError for bad input). */
export function runCompare(paths: readonly string[], flags: CompareFlags, io: CompareIo): number {
  if (paths.length < 2) {
    throw new OptionError(
      'compare needs at least one baseline and the current run: inferbench compare BASELINE... CURRENT',
    );
  }
  const format = flags.format ?? 'text';
  const render = RENDERERS[format];
  if (!render) {
    throw new OptionError(`Failed to parse --format. Expected text, markdown or junit (got '${format}').`);
  }
  const options = {
    tolerance: flags.tolerance === undefined ? 0.1 : parsePercentOption('--tolerance', flags.tolerance),
    errorRateTolerance:
      flags.errorRateTolerance === undefined
        ? 0.001
        : parsePercentOption('--error-rate-tolerance', flags.errorRateTolerance),
    metrics: metricsOf(flags.metrics),
  };
  const runs = paths.map((p) => readComparable(p, io.files));
  const current = runs.pop()!;
  for (const run of [...runs, current]) {
    if (run.levels.length === 0) throw new OptionError(`${run.source}: no measured level to compare`);
  }
  const result = compareRuns(runs, current, options);
  const text = render(result);
  if (flags.output === undefined) io.stdout.write(text);
  else io.files.writeText(flags.output, text, false);
  if (flags.markdown !== undefined) io.files.writeText(flags.markdown, renderCompareMarkdown(result), false);
  if (flags.junit !== undefined) io.files.writeText(flags.junit, renderCompareJUnit(result), false);
  if (flags.output !== undefined || format !== 'text') {
    io.stderr.write(
      result.regressions === 0
        ? 'compare: no regression.\n'
        : `compare: ${result.regressions} regression(s).\n`,
    );
  }
  return result.regressions === 0 ? ExitCode.Success : ExitCode.GateFailed;
}
