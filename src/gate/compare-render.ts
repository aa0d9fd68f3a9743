/**
 * `compare` results as text (terminal), Markdown (pull-request comment) and JUnit XML (CI test reports): per
 * level and metric the baseline, the current value, the change with its confidence interval, the verdict
 * and what the noise estimate rests on — regressions first.
 */
import type { ChangeVerdict, CompareResult, MetricChange } from './compare.ts';
import { metricByName } from './metrics.ts';
import { formatMetricValue } from './thresholds.ts';

function fmt(metric: string, v: number | undefined): string {
  const def = metricByName(metric);
  if (v === undefined || !def || !Number.isFinite(v)) return '—';
  return formatMetricValue(def, v);
}

function signed(v: number, absolute: boolean): string {
  const sign = v >= 0 ? '+' : '−';
  const a = Math.abs(v);
  return absolute ? `${sign}${(a * 100).toFixed(2)} pp` : `${sign}${(a * 100).toFixed(1)}%`;
}

export function changeText(c: MetricChange): string {
  if (c.change === undefined || !Number.isFinite(c.change)) return '—';
  return signed(c.change, c.absolute);
}

export function intervalText(c: MetricChange): string {
  if (!c.interval) return '—';
  return `[${signed(c.interval.lower, c.absolute)}, ${signed(c.interval.upper, c.absolute)}]`;
}

const MARK: Record<ChangeVerdict, string> = {
  regressed: 'REGRESSED',
  missing: 'MISSING',
  inconclusive: 'inconclusive',
  improved: 'improved',
  unchanged: 'unchanged',
};

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(6))}%`;
}

function summaryLine(r: CompareResult): string {
  const parts = [r.regressions === 0 ? 'no regression' : `${r.regressions} regression(s)`];
  if (r.inconclusive > 0) parts.push(`${r.inconclusive} inconclusive`);
  return parts.join(', ');
}

function sources(r: CompareResult, quote: (s: string) => string): string {
  return `Baseline: ${r.baselineSources.map(quote).join(', ')} · Current: ${r.currentSources.map(quote).join(', ')}`;
}

/** Plain text for a terminal. */
export function renderCompareText(result: CompareResult): string {
  const ci = `${pct(result.confidence)} interval`;
  const head = ['level', 'metric', 'baseline', 'current', 'change', ci, 'verdict', 'noise from'];
  const rows = result.changes.map((c) => [
    c.level,
    c.metric,
    fmt(c.metric, c.baseline),
    fmt(c.metric, c.current),
    changeText(c),
    intervalText(c),
    MARK[c.verdict],
    c.basis,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    ...result.warnings.map((w) => `WARNING: ${w}`),
    ...(result.warnings.length > 0 ? [''] : []),
    line(head),
    ...rows.map(line),
    '',
    `${capitalize(summaryLine(result))} (confidence ${pct(result.confidence)}, min effect ${pct(result.minEffect)}).`,
    '',
  ].join('\n');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Markdown for a pull-request comment. */
export function renderCompareMarkdown(result: CompareResult): string {
  const lines = [
    `### inferbench compare: ${summaryLine(result)}`,
    '',
    `${sources(result, (s) => `\`${s}\``)} · confidence ${pct(result.confidence)} · min effect ${pct(result.minEffect)}`,
    '',
  ];
  for (const w of result.warnings) lines.push(`> ⚠️ ${w}`, '');
  lines.push(
    `| level | metric | baseline | current | change | ${pct(result.confidence)} interval | verdict | noise from |`,
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
  );
  for (const c of result.changes) {
    const mark =
      c.verdict === 'regressed' || c.verdict === 'missing' ? `**${MARK[c.verdict]}**` : MARK[c.verdict];
    lines.push(
      `| ${c.level} | ${c.metric} | ${fmt(c.metric, c.baseline)} | ${fmt(c.metric, c.current)} | ${changeText(c)} | ${intervalText(c)} | ${mark} | ${c.basis} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * JUnit XML: one testcase per level × metric; regressions (and missing levels) are failures, inconclusive
 * ones are failures only with --fail-on-inconclusive (else skipped, with the interval as the message).
 */
export function renderCompareJUnit(result: CompareResult, failOnInconclusive = false): string {
  let failures = 0;
  let skipped = 0;
  const cases = result.changes.map((c) => {
    const name = xmlEscape(`${c.level} ${c.metric}`);
    const message = xmlEscape(
      `${MARK[c.verdict]}: ${fmt(c.metric, c.baseline)} → ${fmt(c.metric, c.current)} (${changeText(c)}, ${pct(result.confidence)} interval ${intervalText(c)}, noise from ${c.basis})`,
    );
    let body = `<system-out>${message}</system-out>`;
    if (
      c.verdict === 'regressed' ||
      c.verdict === 'missing' ||
      (failOnInconclusive && c.verdict === 'inconclusive')
    ) {
      failures += 1;
      body = `<failure message="${message}"/>`;
    } else if (c.verdict === 'inconclusive') {
      skipped += 1;
      body = `<skipped message="${message}"/>`;
    }
    return `    <testcase classname="inferbench.compare" name="${name}">${body}</testcase>`;
  });
  const suite = xmlEscape(result.currentSources.join(', '));
  const counts = `tests="${result.changes.length}" failures="${failures}" skipped="${skipped}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="inferbench compare" ${counts}>`,
    `  <testsuite name="${suite}" ${counts}>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
