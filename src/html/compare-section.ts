/**
 * The HTML report's baseline overlay, statistically: per level and metric the change from the baseline with
 * its confidence interval (drawn as a bar around the estimate against the ±min-effect band) and the verdict,
 * regressions first — the same figures `inferbench compare` prints.
 */
import type { CompareResult, MetricChange } from '../gate/compare.ts';
import { changeText, intervalText } from '../gate/compare-render.ts';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLOR: Record<MetricChange['verdict'], string> = {
  regressed: '#c62828',
  missing: '#c62828',
  inconclusive: '#ef6c00',
  improved: '#2e7d32',
  unchanged: '#555',
};

/** A small inline SVG: the interval as a bar on a ±50 % axis, the min-effect band shaded. */
function intervalBar(c: MetricChange, minEffect: number): string {
  if (!c.interval || c.absolute) return '';
  const w = 160;
  const span = 0.5;
  const x = (v: number) => Math.max(0, Math.min(w, ((v + span) / (2 * span)) * w));
  const band = `<rect x="${x(-minEffect)}" y="2" width="${x(minEffect) - x(-minEffect)}" height="12" fill="#eee"/>`;
  const zero = `<line x1="${x(0)}" x2="${x(0)}" y1="0" y2="16" stroke="#999"/>`;
  const bar = `<rect x="${x(c.interval.lower)}" y="6" width="${Math.max(1, x(c.interval.upper) - x(c.interval.lower))}" height="4" fill="${COLOR[c.verdict]}"/>`;
  const dot =
    c.change === undefined ? '' : `<circle cx="${x(c.change)}" cy="8" r="2.5" fill="${COLOR[c.verdict]}"/>`;
  return `<svg width="${w}" height="16" role="img" aria-label="${esc(intervalText(c))}">${band}${zero}${bar}${dot}</svg>`;
}

export function compareSection(result: CompareResult): string {
  const pct = (x: number) => `${Number((x * 100).toPrecision(6))}%`;
  const rows = result.changes.map(
    (c) =>
      `<tr><td>${esc(c.level)}</td><td>${esc(c.metric)}</td><td>${esc(changeText(c))}</td><td>${esc(intervalText(c))}</td><td>${intervalBar(c, result.minEffect)}</td><td style="color:${COLOR[c.verdict]}"><b>${esc(c.verdict)}</b></td><td>${esc(c.basis)}</td></tr>`,
  );
  const warnings = result.warnings.map((w) => `<li>${esc(w)}</li>`).join('');
  return `<h3>Change vs baseline (${pct(result.confidence)} intervals, min effect ${pct(result.minEffect)})</h3>${warnings ? `<ul class="warnings">${warnings}</ul>` : ''}<table><thead><tr><th>level</th><th>metric</th><th>change</th><th>interval</th><th>−50 % … +50 %</th><th>verdict</th><th>noise from</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
