/**
 * `inferbench compare`: per level and metric, a confidence interval on the change and a verdict (see
 * gate/compare.ts), printed as text, Markdown (pull-request comments) or JUnit XML (CI test reports).
 *
 * Files: `compare BASELINE... CURRENT` (the last file is the current run), or with several current runs
 * `compare --baseline B1 --baseline B2 --current C1 --current C2`; with only --baseline the files given are
 * the current runs, with only --current they are the baselines.
 * Exit 0 = no regression, 1 = a regression (or, with --fail-on-inconclusive, an inconclusive metric),
 * 3 = bad files or options.
 */
import { ExitCode, OptionError } from '../errors.ts';
import {
  type CompareOptions,
  type CompareResult,
  compareRuns,
  DEFAULT_COMPARE_METRICS,
  DEFAULT_COMPARE_OPTIONS,
} from '../gate/compare.ts';
import { renderCompareJUnit, renderCompareMarkdown, renderCompareText } from '../gate/compare-render.ts';
import { METRICS, metricByName } from '../gate/metrics.ts';
import type { CompareFlags } from './options.ts';
import { readComparable } from './read-record.ts';
import type { FileView } from './resolve-settings.ts';

export interface CompareIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  files: FileView & { writeText(path: string, text: string, exclusive: boolean): void };
}

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

/** --confidence: a percentage strictly between 50 % and 100 % (e.g. 95 or 99.9%). */
function confidenceOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_COMPARE_OPTIONS.confidence;
  const c = parsePercentOption('--confidence', text);
  if (!(c >= 0.5 && c < 1)) {
    throw new OptionError(
      `Failed to parse --confidence. Expected a percentage from 50% to below 100% (got '${text}').`,
    );
  }
  return c;
}

/** --min-effect: a relative change from 0 % to below 100 %. */
function minEffectOf(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = parsePercentOption(flag, text);
  if (!(m < 1))
    throw new OptionError(`Failed to parse ${flag}. Expected a percentage below 100% (got '${text}').`);
  return m;
}

/** The baseline and current files from the positional files and --baseline/--current. */
export function splitSides(
  paths: readonly string[],
  flags: CompareFlags,
): { baselines: string[]; currents: string[] } {
  const b = flags.baseline ?? [];
  const c = flags.current ?? [];
  const usage = 'inferbench compare BASELINE... CURRENT, or compare --baseline B... --current C...';
  if (b.length > 0 && c.length > 0) {
    if (paths.length > 0) {
      throw new OptionError(
        `compare: with both --baseline and --current, give no other files (got ${paths.join(' ')}). Usage: ${usage}`,
      );
    }
    return { baselines: [...b], currents: [...c] };
  }
  if (b.length > 0) {
    if (paths.length === 0) throw new OptionError(`compare needs the current run(s) too. Usage: ${usage}`);
    return { baselines: [...b], currents: [...paths] };
  }
  if (c.length > 0) {
    if (paths.length === 0) throw new OptionError(`compare needs the baseline run(s) too. Usage: ${usage}`);
    return { baselines: [...paths], currents: [...c] };
  }
  if (paths.length < 2)
    throw new OptionError(`compare needs at least one baseline and the current run. Usage: ${usage}`);
  return { baselines: paths.slice(0, -1), currents: paths.slice(-1) };
}

/** Runs the command; returns the exit code (throws OptionError for bad input). */
export function runCompare(paths: readonly string[], flags: CompareFlags, io: CompareIo): number {
  const { baselines, currents } = splitSides(paths, flags);
  const format = flags.format ?? 'text';
  if (!['text', 'markdown', 'junit'].includes(format)) {
    throw new OptionError(`Failed to parse --format. Expected text, markdown or junit (got '${format}').`);
  }
  if (flags.tolerance !== undefined && flags.minEffect !== undefined) {
    throw new OptionError('compare: --tolerance is the old name of --min-effect; give only --min-effect.');
  }
  if (flags.tolerance !== undefined) {
    io.stderr.write('compare: --tolerance is now --min-effect (the smallest change worth failing on).\n');
  }
  const options: CompareOptions = {
    confidence: confidenceOf(flags.confidence),
    minEffect:
      minEffectOf('--min-effect', flags.minEffect) ??
      minEffectOf('--tolerance', flags.tolerance) ??
      DEFAULT_COMPARE_OPTIONS.minEffect,
    errorRateTolerance:
      flags.errorRateTolerance === undefined
        ? DEFAULT_COMPARE_OPTIONS.errorRateTolerance
        : parsePercentOption('--error-rate-tolerance', flags.errorRateTolerance),
    metrics: metricsOf(flags.metrics),
  };
  const read = (p: string) => readComparable(p, io.files);
  const baseRuns = baselines.map(read);
  const curRuns = currents.map(read);
  for (const run of [...baseRuns, ...curRuns]) {
    if (run.levels.length === 0) throw new OptionError(`${run.source}: no measured level to compare`);
  }
  const result = compareRuns(baseRuns, curRuns, options);
  const failOnInconclusive = Boolean(flags.failOnInconclusive);
  const renderers: Record<string, (r: CompareResult) => string> = {
    text: renderCompareText,
    markdown: renderCompareMarkdown,
    junit: (r) => renderCompareJUnit(r, failOnInconclusive),
  };
  const text = (renderers[format] as (r: CompareResult) => string)(result);
  if (flags.output === undefined) io.stdout.write(text);
  else io.files.writeText(flags.output, text, false);
  if (flags.markdown !== undefined) io.files.writeText(flags.markdown, renderCompareMarkdown(result), false);
  if (flags.junit !== undefined)
    io.files.writeText(flags.junit, renderCompareJUnit(result, failOnInconclusive), false);
  if (flags.output !== undefined || format !== 'text') {
    for (const w of result.warnings) io.stderr.write(`compare: WARNING: ${w}\n`);
    io.stderr.write(
      `compare: ${result.regressions === 0 ? 'no regression' : `${result.regressions} regression(s)`}` +
        `${result.inconclusive > 0 ? `, ${result.inconclusive} inconclusive` : ''}.\n`,
    );
  }
  const fails = result.regressions > 0 || (failOnInconclusive && result.inconclusive > 0);
  return fails ? ExitCode.GateFailed : ExitCode.Success;
}
