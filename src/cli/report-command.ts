/**
 * `inferbench report RECORD.json`: re-renders a stored run without re-running it — the perf_analyzer text,
 * the CSV, the self-contained HTML report (overlaid with `--baseline` in compare mode) — and can gate a stored
 * record with `--threshold`. Exit 0, 1 when a threshold fails, 3 for a bad record.
 */
import { OptionError } from '../errors.ts';
import { comparableFromRecord } from '../gate/comparable.ts';
import { compareRuns, DEFAULT_COMPARE_METRICS } from '../gate/compare.ts';
import { parseThreshold, type Threshold } from '../gate/thresholds.ts';
import { renderHtmlReport } from '../html/report-html.ts';
import { csvRows, renderCsv } from '../report/csv.ts';
import { renderTextReport } from '../report/text-report.ts';
import type { CompareIo } from './compare-command.ts';
import { applyGates, exitCodeAfterGates, renderThresholdSection } from './gates.ts';
import type { ReportFlags } from './options.ts';
import { readRunRecord } from './read-record.ts';

function thresholdsOf(values: readonly string[]): Threshold[] {
  return values.map((text) => {
    const parsed = parseThreshold(text);
    if ('error' in parsed) throw new OptionError(`Failed to parse --threshold. ${parsed.error}`);
    return parsed.value;
  });
}

export function runReport(recordPath: string, flags: ReportFlags, io: CompareIo): number {
  const thresholds = thresholdsOf(flags.threshold ?? []);
  const record = readRunRecord(recordPath, io.files);
  const baseline = flags.baseline === undefined ? undefined : readRunRecord(flags.baseline, io.files);
  const wantsFile = flags.html !== undefined || flags.csv !== undefined;
  if (flags.text || (!wantsFile && thresholds.length === 0)) {
    io.stdout.write(renderTextReport(record, { verbose: false }));
  }
  if (flags.html !== undefined) {
    const comparison = baseline
      ? compareRuns(
          [comparableFromRecord(baseline, flags.baseline!)],
          [comparableFromRecord(record, recordPath)],
          {
            confidence: 0.95,
            minEffect: 0.05,
            metrics: [...DEFAULT_COMPARE_METRICS],
            errorRateTolerance: 0.001,
          },
        )
      : undefined;
    io.files.writeText(flags.html, renderHtmlReport(record, baseline ? { baseline, comparison } : {}), false);
  }
  if (flags.csv !== undefined) {
    const csv = renderCsv(record, { verboseCsv: false, extraCsvColumns: false });
    if (csvRows(record).length === 0)
      io.stderr.write(`${recordPath} has no reported level: the CSV has its header only.\n`);
    io.files.writeText(flags.csv, csv, false);
  }
  if (thresholds.length === 0) return 0;
  const { verdicts } = applyGates(record, thresholds);
  io.stderr.write(renderThresholdSection(verdicts));
  return exitCodeAfterGates(0, verdicts);
}
