/**
 * The analyze HTML report (pure, self-contained: no script, no network): the Pareto frontier of throughput vs
 * p95 latency over every load level of every config tried, the configs' chosen levels, the best config
 * marked, the constraint on p95 drawn as a line, then the ranked table and the best config.pbtxt.
 */

import { niceTicks } from '../html/svg-chart.ts';
import { LATENCY_UNIT_US, usToMs } from '../protocol/units.ts';
import { analyzeMetricByName, formatAnalyzeValue } from './analyze-metrics.ts';
import type { AnalyzeRecord } from './analyze-record.ts';
import { shownMetrics } from './analyze-report.ts';
import { paretoFrontier } from './ranking.ts';
import { isUsableLevel, loadLabel } from './trial.ts';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Dot {
  throughputPerSec: number;
  latencyUs: number;
  label: string;
  rank: number;
  /** The level its config is ranked by. */
  chosen: boolean;
}

/** Every usable level measured, with the rank of its config. */
export function chartDots(record: AnalyzeRecord): Dot[] {
  const entryOf = new Map(record.ranking.map((e) => [e.key, e]));
  const dots: Dot[] = [];
  for (const t of record.trials) {
    const entry = entryOf.get(t.key);
    for (const l of t.levels) {
      const x = l.figures.throughput;
      const y = l.figures.p95_latency;
      if (!isUsableLevel(l) || x === undefined || y === undefined) continue;
      dots.push({
        throughputPerSec: x,
        latencyUs: y,
        label: `#${entry?.rank ?? '?'} ${t.key}, ${loadLabel(l)}`,
        rank: entry?.rank ?? 0,
        chosen: entry?.level?.mode === l.mode && entry.level.value === l.value,
      });
    }
  }
  return dots;
}

const W = 760;
const H = 440;
const M = { left: 70, right: 20, top: 36, bottom: 50 };

/** Scatter of every level (grey), frontier (orange line), chosen levels (blue), best (red ring). */
export function renderParetoChart(record: AnalyzeRecord): string {
  const dots = chartDots(record);
  const limitUs = p95Limit(record);
  const frontier = paretoFrontier(dots);
  const xTicks = niceTicks(Math.max(0, ...dots.map((d) => d.throughputPerSec)));
  const yTicks = niceTicks(
    Math.max(0, ...dots.map((d) => usToMs(d.latencyUs)), limitUs !== undefined ? usToMs(limitUs) : 0),
  );
  const xMax = xTicks.at(-1) as number;
  const yMax = yTicks.at(-1) as number;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (v: number) => M.left + (xMax > 0 ? (v / xMax) * pw : 0);
  const sy = (ms: number) => M.top + ph - (yMax > 0 ? (ms / yMax) * ph : 0);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">`,
  );
  parts.push(
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Throughput vs p95 latency, every level of every config tried</text>`,
  );
  for (const t of xTicks) {
    parts.push(
      `<line x1="${sx(t).toFixed(1)}" y1="${M.top}" x2="${sx(t).toFixed(1)}" y2="${M.top + ph}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${sx(t).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle" font-size="11">${t}</text>`,
    );
  }
  for (const t of yTicks) {
    parts.push(
      `<line x1="${M.left}" y1="${sy(t).toFixed(1)}" x2="${M.left + pw}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${t}</text>`,
    );
  }
  parts.push(
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12">throughput (infer/s)</text>`,
  );
  parts.push(
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${M.top + ph / 2})">p95 latency (ms)</text>`,
  );
  if (limitUs !== undefined) {
    const y = sy(usToMs(limitUs)).toFixed(1);
    parts.push(
      `<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#c62828" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${M.left + pw - 4}" y="${Number(y) - 4}" text-anchor="end" font-size="11" fill="#c62828">p95 limit</text>`,
    );
  }
  if (frontier.length > 1) {
    const path = frontier
      .map((d) => `${sx(d.throughputPerSec).toFixed(1)},${sy(usToMs(d.latencyUs)).toFixed(1)}`)
      .join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="#e07b00" stroke-width="2"/>`);
  }
  for (const d of dots) {
    const isChosen = d.chosen;
    const fill = isChosen ? '#2b7bb9' : '#bbb';
    const x = sx(d.throughputPerSec).toFixed(1);
    const y = sy(usToMs(d.latencyUs)).toFixed(1);
    parts.push(
      `<circle cx="${x}" cy="${y}" r="${isChosen ? 4 : 3}" fill="${fill}"><title>${esc(d.label)}: ${d.throughputPerSec.toFixed(1)} infer/s, p95 ${usToMs(d.latencyUs).toFixed(2)} ms</title></circle>`,
    );
    if (d.rank === 1 && isChosen && record.best) {
      parts.push(`<circle cx="${x}" cy="${y}" r="8" fill="none" stroke="#c62828" stroke-width="2"/>`);
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function p95Limit(record: AnalyzeRecord): number | undefined {
  for (const c of record.constraints) {
    const m = /^\s*(p95_latency|perf_latency_p95)\s*<=?\s*([0-9.eE+-]+)\s*(us|ms|s)?\s*$/i.exec(c);
    if (m) return Number(m[2]) * (LATENCY_UNIT_US[(m[3] ?? 'us').toLowerCase()] ?? 1);
  }
  return undefined;
}

export function renderAnalyzeHtml(record: AnalyzeRecord): string {
  const metrics = shownMetrics(record);
  const byKey = new Map(record.trials.map((t) => [t.key, t]));
  const rows = record.ranking
    .map((e) => {
      const t = byKey.get(e.key);
      const figures = metrics.map((m) => {
        const def = analyzeMetricByName(m);
        const v = e.figures?.[m];
        return `<td>${def && v !== undefined ? esc(formatAnalyzeValue(def, v)) : '-'}</td>`;
      });
      const status = e.feasible ? (record.constraints.length ? 'meets constraints' : 'ok') : (e.reason ?? '');
      return `<tr class="${e.feasible ? 'ok' : 'miss'}"><td>${e.rank}</td><td>${esc(e.key)}</td><td>${e.level ? esc(loadLabel(e.level)) : '-'}</td>${figures.join('')}<td>${t?.levels.length ?? 0}</td><td>${esc(status)}</td></tr>`;
    })
    .join('\n');
  const head = metrics.map((m) => `<th>${esc(m)}</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>inferbench analyze: ${esc(record.model)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}tr.miss{color:#888}pre{background:#f6f6f6;padding:12px}
</style></head><body>
<h1>inferbench analyze: ${esc(record.model)}</h1>
<p>${record.trials.length} of ${record.spaceConfigs} configs tried (${esc(record.mode)}), ${record.measurements} load levels measured.
Objective: ${esc(record.objectives.join(', '))}${record.constraints.length ? `; constraints: ${esc(record.constraints.join(', '))}` : ''}.
${record.stoppedBy ? `Stopped early: ${esc(record.stoppedBy)}.` : ''}</p>
<p>${record.best ? `Best config: <b>${esc(record.best.key)}</b>` : 'No config met the constraints.'}</p>
${renderParetoChart(record)}
<p>Grey: every load level measured; blue: the level each config is ranked by; orange line: the Pareto frontier (no other level has more throughput at less latency); red ring: the best config.</p>
<h2>Configs, best first</h2>
<table><tr><th>#</th><th>Config</th><th>Load</th>${head}<th>Levels</th><th>Status</th></tr>
${rows}
</table>
${record.best ? `<h2>Best config.pbtxt</h2><pre>${esc(record.best.config)}</pre>` : ''}
</body></html>
`;
}
