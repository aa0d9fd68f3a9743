/**
 * `--html FILE` and `inferbench report RECORD.json`: one self-contained HTML file (no network, no script,
 * styles inlined) with the latency-vs-throughput curve, the per-level table, the server-side time breakdown
 * (with an ensemble's composing models per level), errors and the run's settings. Given a second run it
 * overlays it (compare mode).
 */
import type { CompareResult } from '../gate/compare.ts';
import { meanUs, usToMs } from '../protocol/units.ts';
import type { LevelResult, RunResult, ServerStatsDelta } from '../report/model.ts';
import { ensembleFigures, serverFigures } from '../report/server-figures.ts';
import { compareSection } from './compare-section.ts';
import { renderLineChart, renderStackedBars, type Series, type StackedBar } from './svg-chart.ts';

const COLORS = { p50: '#2b7bb9', p95: '#e07b00', p99: '#c62828' };
const SEGMENT_COLORS: Record<string, string> = {
  queue: '#8e6c8a',
  'compute input': '#6aa84f',
  'compute infer': '#2b7bb9',
  'compute output': '#45a0a0',
  'server overhead': '#b0b0b0',
  'client + network': '#e0a030',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function levelName(l: LevelResult): string {
  return l.mode === 'concurrency' ? `c=${l.value}` : `${l.value}/s`;
}

function measured(run: RunResult): LevelResult[] {
  return run.levels.filter((l) => l.merged);
}

function latencySeries(run: RunResult, suffix: string, dashed: boolean): Series[] {
  return (['50', '95', '99'] as const).map((p) => ({
    name: `p${p}${suffix}`,
    color: COLORS[`p${p}`],
    dashed,
    // One labelled series per run: the p95/p99 points of a level sit right above its p50 label.
    labelled: p === '50',
    points: measured(run).map((l) => ({
      x: l.merged!.throughputPerSec,
      y: usToMs(l.merged!.latency.percentilesUs[p] ?? 0),
      label: levelName(l),
      errorLevel: l.errorRateExceeded === true,
    })),
  }));
}

function breakdown(l: LevelResult): StackedBar {
  const m = l.merged!;
  const s = m.server;
  const queue = meanUs(s?.queue) ?? 0;
  const input = meanUs(s?.computeInput) ?? 0;
  const infer = meanUs(s?.computeInfer) ?? 0;
  const output = meanUs(s?.computeOutput) ?? 0;
  const request = meanUs(s?.success) ?? 0;
  const serverOverhead = Math.max(0, request - queue - input - infer - output);
  const client = Math.max(0, m.latency.meanUs - (s ? request : 0));
  return {
    label: levelName(l),
    // ms, as every other time in the report.
    segments: [
      { name: 'queue', value: usToMs(queue) },
      { name: 'compute input', value: usToMs(input) },
      { name: 'compute infer', value: usToMs(infer) },
      { name: 'compute output', value: usToMs(output) },
      { name: 'server overhead', value: usToMs(serverOverhead) },
      { name: 'client + network', value: usToMs(client) },
    ],
  };
}

/** µs figures shown in ms (the report's one unit for times). */
function ms(us: number): string {
  return usToMs(us).toFixed(3);
}

function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The baseline's level with the same load, for the delta columns. */
function baselineLevel(base: RunResult | undefined, l: LevelResult): LevelResult | undefined {
  return base?.levels.find((b) => b.mode === l.mode && b.value === l.value && b.merged);
}

/** `+12.3 %` (relative change from the baseline), '—' when either side is missing. */
export function deltaText(current: number | undefined, baseline: number | undefined): string {
  if (current === undefined || baseline === undefined || !(baseline > 0)) return '—';
  const change = (current / baseline - 1) * 100;
  return `${change >= 0 ? '+' : '−'}${Math.abs(change).toFixed(1)} %`;
}

function levelTable(run: RunResult, base?: RunResult): string {
  const rows = run.levels.map((l) => {
    const m = l.merged;
    const p = m?.latency.percentilesUs ?? {};
    const cell = (v: number | undefined) => (v === undefined ? '—' : fmt(usToMs(v), 2));
    const errors =
      m && m.errorCount > 0
        ? Object.entries(m.errorsByKind)
            .map(([k, n]) => `${esc(k)}: ${n}`)
            .join(', ')
        : '0';
    const b = baselineLevel(base, l)?.merged;
    const deltas = base
      ? `<td class="delta">${deltaText(m?.throughputPerSec, b?.throughputPerSec)}</td><td class="delta">${deltaText(p['99'], b?.latency.percentilesUs['99'])}</td>`
      : '';
    const errorMark = l.errorRateExceeded
      ? ` <b class="error-mark">error rate ${fmt((l.errorRate ?? 0) * 100, 1)} %</b>`
      : '';
    const cls = `status-${esc(l.status)}${l.errorRateExceeded ? ' error-level' : ''}`;
    return `<tr class="${cls}"><td>${esc(l.mode === 'concurrency' ? 'concurrency' : 'request rate')} ${l.value}</td><td>${m ? fmt(m.throughputPerSec) : '—'}</td>${deltas}<td>${cell(p['50'])}</td><td>${cell(p['90'])}</td><td>${cell(p['95'])}</td><td>${cell(p['99'])}</td><td>${m ? fmt(usToMs(m.latency.meanUs), 2) : '—'}</td><td>${m ? m.requestCount : '—'}</td><td>${errors}${errorMark}</td><td>${l.windows.length}</td><td>${esc(l.status)}${l.reported ? '' : ' (not reported)'}</td></tr>`;
  });
  const deltaHead = base ? '<th>Δ infer/s vs baseline</th><th>Δ p99 vs baseline</th>' : '';
  return `<table class="levels"><thead><tr><th>level</th><th>infer/s</th>${deltaHead}<th>p50 ms</th><th>p90 ms</th><th>p95 ms</th><th>p99 ms</th><th>avg ms</th><th>requests</th><th>errors</th><th>windows</th><th>status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The figures a reader looks for first: best throughput, its latency, errors. */
function headline(run: RunResult): string {
  const levels = measured(run);
  if (levels.length === 0) return '<p class="headline">No level was measured.</p>';
  const best = levels.reduce((a, b) => (b.merged!.throughputPerSec > a.merged!.throughputPerSec ? b : a));
  const m = best.merged!;
  const failed = run.levels.reduce((n, l) => n + l.windows.reduce((k, w) => k + w.errorCount, 0), 0);
  const errorLevels = run.levels.filter((l) => l.errorRateExceeded).length;
  const item = (value: string, what: string) => `<div><b>${value}</b><span>${what}</span></div>`;
  return `<div class="headline">${[
    item(fmt(m.throughputPerSec), `infer/s at most (${esc(levelName(best))})`),
    item(
      `${fmt(usToMs(m.latency.percentilesUs['50'] ?? 0), 2)} ms`,
      `p50 latency at ${esc(levelName(best))}`,
    ),
    item(
      `${fmt(usToMs(m.latency.percentilesUs['99'] ?? 0), 2)} ms`,
      `p99 latency at ${esc(levelName(best))}`,
    ),
    item(String(run.levels.length), 'levels measured'),
    item(
      String(failed),
      errorLevels > 0
        ? `failed requests; ${errorLevels} level(s) over the error threshold`
        : 'failed requests',
    ),
  ].join('')}</div>`;
}

const TIMELINE_COLORS = ['#2b7bb9', '#e07b00', '#6aa84f', '#8e6c8a', '#c62828', '#45a0a0', '#b8860b', '#555'];

/** Per level, throughput and latency window by window: shows drift, warm-up and what the stability rule saw. */
function timelineSection(run: RunResult): string {
  const levels = run.levels.filter((l) => l.windows.length > 0);
  if (levels.length === 0) return '';
  const series = (pick: (w: LevelResult['windows'][number]) => number) =>
    levels.map((l, i) => ({
      name: levelName(l),
      color: TIMELINE_COLORS[i % TIMELINE_COLORS.length] as string,
      labelled: false,
      points: l.windows
        .filter((w) => w.requestCount > 0)
        .map((w) => ({
          x: w.index,
          y: pick(w),
          label: `${levelName(l)} w${w.index}`,
          errorLevel: l.errorRateExceeded === true,
        })),
    }));
  const throughput = renderLineChart({
    title: 'Throughput per window',
    xLabel: 'window',
    yLabel: 'throughput (infer/s)',
    series: series((w) => w.throughputPerSec),
    height: 300,
  });
  const latency = renderLineChart({
    title: 'Average latency per window',
    xLabel: 'window',
    yLabel: 'latency (ms)',
    series: series((w) => usToMs(w.latency.meanUs)),
    height: 300,
  });
  return `<h2>Timeline per level</h2>${throughput}${latency}`;
}

/** The run's settings as a two-column table (nested keys dotted), not a JSON dump. */
export function settingsRows(config: Record<string, unknown>, prefix = ''): [string, string][] {
  const rows: [string, string][] = [];
  for (const [key, value] of Object.entries(config)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      rows.push(...settingsRows(value as Record<string, unknown>, name));
    } else if (value !== undefined) {
      rows.push([
        name,
        Array.isArray(value) || typeof value === 'object' ? JSON.stringify(value) : String(value),
      ]);
    }
  }
  return rows;
}

function settingsTable(run: RunResult): string {
  const rows = settingsRows(run.config).map(
    ([k, v]) => `<tr><td><code>${esc(k)}</code></td><td>${esc(v)}</td></tr>`,
  );
  return `<table class="settings"><thead><tr><th>setting</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Width of a composing model's share bar when its request takes all of the ensemble's request time. */
const SHARE_BAR_PX = 160;

/**
 * Where a composing model's request time goes, as part of the ensemble's: a bar of its queue, compute and overhead
 * segments scaled to the ensemble's mean request time, and its request time as a percentage of the ensemble's.
 */
function shareCell(parts: [string, number][], requestUs: number, ensembleRequestUs: number): string {
  if (!(ensembleRequestUs > 0)) return '<td></td>';
  const spans = parts
    .filter(([, us]) => us > 0)
    .map(([label, us]) => {
      const px = Math.max(1, Math.round((us / ensembleRequestUs) * SHARE_BAR_PX));
      return `<span title="${esc(label)} ${ms(us)} ms" style="display:inline-block;height:10px;width:${px}px;background:${SEGMENT_COLORS[label] ?? '#999'}"></span>`;
    })
    .join('');
  const pct = `${((requestUs / ensembleRequestUs) * 100).toFixed(0)} %`;
  return `<td style="text-align:left;white-space:nowrap">${spans} ${pct}</td>`;
}

/** One composing model (and, below it, its own composing models) as table rows, indented by depth. */
function composingRows(
  stats: ServerStatsDelta,
  depth: number,
  cacheEnabled: boolean,
  ensembleRequestUs: number,
): string[] {
  const name = `<td style="padding-left:${8 + depth * 16}px">${esc(stats.model)}</td><td>${esc(stats.version)}</td>`;
  const counts = `<td>${stats.inferenceCount}</td><td>${stats.executionCount}</td><td>${stats.success.count}</td><td>${stats.fail.count}</td><td>${stats.cacheHit.count}</td>`;
  const cacheCells = (hit: number | string, miss: number | string) =>
    cacheEnabled ? `<td>${hit}</td><td>${miss}</td>` : '';
  if (stats.composing.length > 0) {
    // A nested ensemble: perf_analyzer's summary (its leaves' queue and compute summed), then its own models.
    const e = ensembleFigures(stats);
    const share = shareCell(
      [
        ['queue', e.queueUs],
        ['compute infer', e.computeUs],
        ['server overhead', e.overheadUs],
      ],
      e.requestUs,
      ensembleRequestUs,
    );
    const row = `<tr class="ensemble">${name}${counts}<td>${ms(e.requestUs)}</td><td>${ms(e.overheadUs)}</td><td>${ms(e.queueUs)}</td><td colspan="3" style="text-align:center">compute ${ms(e.computeUs)}</td>${cacheCells('—', '—')}${share}</tr>`;
    return [
      row,
      ...stats.composing.flatMap((c) => composingRows(c, depth + 1, cacheEnabled, ensembleRequestUs)),
    ];
  }
  const f = serverFigures(stats, cacheEnabled);
  const share = shareCell(
    [
      ['queue', f.queueUs],
      ['compute input', f.computeInputUs],
      ['compute infer', f.computeInferUs],
      ['compute output', f.computeOutputUs],
      ['server overhead', f.overheadUs],
    ],
    f.requestUs,
    ensembleRequestUs,
  );
  return [
    `<tr>${name}${counts}<td>${ms(f.requestUs)}</td><td>${ms(f.overheadUs)}</td><td>${ms(f.queueUs)}</td><td>${ms(f.computeInputUs)}</td><td>${ms(f.computeInferUs)}</td><td>${ms(f.computeOutputUs)}</td>${cacheCells(ms(f.cacheHitUs), ms(f.cacheMissUs))}${share}</tr>`,
  ];
}

/**
 * Per level, the server figures of an ensemble's composing models in the text report's tree (nested ensembles
 * indented below their parent), with the figures the CSV of each composing model holds. Empty for a run
 * without an ensemble.
 */
function composingSection(run: RunResult): string {
  const levels = measured(run).filter((l) => (l.merged?.server?.composing.length ?? 0) > 0);
  if (levels.length === 0) return '';
  const cache = run.model.responseCache;
  const head =
    `<thead><tr><th></th><th></th><th colspan="5" style="text-align:center">count</th><th colspan="${cache ? 8 : 6}" style="text-align:center">average ms</th><th></th></tr>` +
    `<tr><th>model</th><th>version</th><th>inferences</th><th>executions</th><th>requests</th><th>failed</th><th>cache hits</th><th>request</th><th>overhead</th><th>queue</th><th>compute input</th><th>compute infer</th><th>compute output</th>${cache ? '<th>cache hit</th><th>cache miss</th>' : ''}<th style="text-align:left">share of the ensemble's request (queue, compute, overhead)</th></tr></thead>`;
  const tables = levels.map((l) => {
    const top = l.merged!.server!;
    const e = ensembleFigures(top);
    const rows = top.composing.flatMap((c) => composingRows(c, 0, cache, e.requestUs));
    return `<h3>${esc(l.mode === 'concurrency' ? 'concurrency' : 'request rate')} ${l.value}</h3><p class="meta">${esc(top.model)} version ${esc(top.version)}: avg request ${ms(e.requestUs)} ms (overhead ${ms(e.overheadUs)} ms + queue ${ms(e.queueUs)} ms + compute ${ms(e.computeUs)} ms)</p><table class="composing" style="font-size:12px">${head}<tbody>${rows.join('')}</tbody></table>`;
  });
  return `<h2>Composing models</h2>${tables.join('')}`;
}

function errorsSection(run: RunResult): string {
  const totals = new Map<string, number>();
  for (const l of run.levels)
    for (const w of l.windows)
      for (const [k, n] of Object.entries(w.errorsByKind)) totals.set(k, (totals.get(k) ?? 0) + n);
  if (totals.size === 0) return '<p>No request failed.</p>';
  const items = [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `<li><code>${esc(k)}</code>: ${n}</li>`);
  return `<ul class="errors">${items.join('')}</ul>`;
}

function gatesSection(run: RunResult): string {
  if (!run.gates || run.gates.length === 0) return '';
  const items = run.gates.map(
    (g) =>
      `<li class="${g.passed ? 'pass' : 'fail'}"><b>${g.passed ? 'PASS' : 'FAIL'}</b> <code>${esc(g.threshold)}</code><ul>${g.details.map((d) => `<li>${esc(d)}</li>`).join('')}</ul></li>`,
  );
  return `<h2>Thresholds</h2><ul class="gates">${items.join('')}</ul>`;
}

function warningsSection(run: RunResult): string {
  const all = [...run.warnings, ...run.levels.flatMap((l) => l.merged?.generator.bottleneckWarnings ?? [])];
  if (all.length === 0) return '';
  return `<h2>Warnings</h2><ul class="warnings">${[...new Set(all)].map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`;
}

const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:980px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
tr.status-unstable td,tr.status-errors_over_limit td{color:#a33}
.chart{max-width:100%;height:auto;display:block;margin:8px 0}.chart .grid{stroke:#eee}.chart .tick,.chart .legend,.chart .label{font-size:11px;fill:#444}
.chart .axis{font-size:12px;fill:#333}.chart .title{font-size:14px;font-weight:600;fill:#222}
pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}
.gates .pass>b{color:#2e7d32}.gates .fail>b{color:#c62828}
.headline{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.headline div{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}
.headline b{display:block;font-size:20px}.headline span{color:#555;font-size:12px}
tr.error-level td{background:#fdecea}.error-mark{color:#c62828}.settings td{text-align:left}`;

export interface HtmlReportOptions {
  /** A second run to overlay (compare mode); drawn dashed. */
  baseline?: RunResult;
  /** `compare` of the baseline with this run: the change per metric with its interval and verdict. */
  comparison?: CompareResult;
  title?: string;
}

export function renderHtmlReport(run: RunResult, options: HtmlReportOptions = {}): string {
  const base = options.baseline;
  const series = [
    ...latencySeries(run, base ? ' (current)' : '', false),
    ...(base ? latencySeries(base, ' (baseline)', true) : []),
  ];
  const chart = renderLineChart({
    title: 'Latency vs throughput',
    xLabel: 'throughput (infer/s)',
    yLabel: 'latency (ms)',
    series,
  });
  const bars = measured(run).map(breakdown);
  const breakdownSvg = run.serverStats.available
    ? renderStackedBars('Where the time goes (average per request)', 'ms', bars, SEGMENT_COLORS)
    : `<p>Server statistics were not available${run.serverStats.reason ? `: ${esc(run.serverStats.reason)}` : ''}. Only client-side figures are shown.</p>`;
  const title = options.title ?? `inferbench: ${run.model.name}`;
  const started = new Date(run.startedAtWallMs).toISOString();
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="meta">Model <b>${esc(run.model.name)}</b> version ${esc(run.model.version)} (${esc(run.model.platform)}) · ${esc(started)} · inferbench ${esc(run.tool.version)} · Node ${esc(run.environment.node)} · ${run.environment.cpus}× ${esc(run.environment.cpuModel)}${base ? ` · overlaid with the baseline of ${esc(new Date(base.startedAtWallMs).toISOString())}` : ''}</p>
${headline(run)}
<h2>Latency vs throughput</h2>
${chart}
<h2>Levels</h2>
${levelTable(run, base)}
${base ? `<h3>Baseline</h3>${levelTable(base)}` : ''}${options.comparison ? compareSection(options.comparison) : ''}
<h2>Server-side breakdown</h2>
${breakdownSvg}${composingSection(run)}
${timelineSection(run)}
<h2>Errors</h2>
${errorsSection(run)}${gatesSection(run)}
${warningsSection(run)}
<h2>Settings</h2>
${settingsTable(run)}
</body></html>
`;
}
