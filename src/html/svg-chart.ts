/**
 * Pure SVG charts for the self-contained HTML report: no library, no script, deterministic output
 * (golden-testable, prints well, works offline).
 */

export interface Point {
  x: number;
  y: number;
  label: string;
  /** The level's error rate was over the threshold: drawn as a red-ringed cross, not as a normal point. */
  errorLevel?: boolean;
}

export interface Series {
  name: string;
  color: string;
  points: Point[];
  /** Dashed lines for an overlaid (baseline) run. */
  dashed?: boolean;
  /** Put the level labels on this series' points (one labelled series per run keeps the chart readable). */
  labelled?: boolean;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}

const MARGIN = { left: 70, right: 20, top: 36, bottom: 50 };

import { fittedTicks, placeLabels, pointBox } from './chart-layout.ts';

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round figures for axis ticks: 1, 2, 5 × 10^k steps covering [0, max]. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) as number;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks[ticks.length - 1] as number) < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e4) return `${v / 1e3}k`;
  return String(v);
}

/** Latency-vs-throughput style line chart with labelled points. */
export function renderLineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 400;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = spec.series.flatMap((s) => s.points);
  // Axes fitted to the data (not from 0): the curve fills the plot.
  const xTicks = all.length
    ? fittedTicks(Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x)))
    : [0, 1];
  const yTicks = all.length
    ? fittedTicks(Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y)))
    : [0, 1];
  const xMin = xTicks[0] as number;
  const yMin = yTicks[0] as number;
  const xMax = xTicks[xTicks.length - 1] as number;
  const yMax = yTicks[yTicks.length - 1] as number;
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">`,
  );
  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" class="title">${escapeXml(spec.title)}</text>`,
  );
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" class="tick">${fmtTick(t)}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" class="grid"/>`);
    parts.push(
      `<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" class="tick">${fmtTick(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle" class="axis">${escapeXml(spec.xLabel)}</text>`,
  );
  parts.push(
    `<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})" class="axis">${escapeXml(spec.yLabel)}</text>`,
  );
  // Legend entries take the top-left corner: labels keep out of it.
  const legendBox = {
    x: MARGIN.left + 6,
    y: MARGIN.top + 4,
    width: 190,
    height: spec.series.length * 16 + 4,
  };
  const labelRequests = spec.series.flatMap((s) =>
    s.labelled === false ? [] : s.points.map((p) => ({ x: sx(p.x), y: sy(p.y), text: p.label })),
  );
  const pointBoxes = spec.series.flatMap((s) => s.points.map((p) => pointBox(sx(p.x), sy(p.y))));
  const placed = placeLabels(labelRequests, { x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH }, [
    legendBox,
    ...pointBoxes,
  ]).filter((l) => l.box !== undefined);
  spec.series.forEach((s, i) => {
    const pts = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline class="series" data-series="${escapeXml(s.name)}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts}"/>`,
    );
    for (const p of s.points) {
      const title = `<title>${escapeXml(`${s.name} ${p.label}: ${p.y.toFixed(2)} at ${p.x.toFixed(1)}${p.errorLevel ? ' (error rate over the threshold)' : ''}`)}</title>`;
      const cx = sx(p.x);
      const cy = sy(p.y);
      if (p.errorLevel) {
        parts.push(
          `<g class="error-level"><circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="6" fill="#fff" stroke="#c62828" stroke-width="2"/><path d="M${(cx - 3.5).toFixed(1)} ${(cy - 3.5).toFixed(1)}l7 7m0 -7l-7 7" stroke="#c62828" stroke-width="2"/>${title}</g>`,
        );
      } else {
        parts.push(
          `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="3.5" fill="${s.color}">${title}</circle>`,
        );
      }
    }
    const ly = MARGIN.top + 14 + i * 16;
    parts.push(
      `<line x1="${MARGIN.left + 10}" x2="${MARGIN.left + 34}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(
      `<text x="${MARGIN.left + 40}" y="${ly}" dominant-baseline="middle" class="legend">${escapeXml(s.name)}</text>`,
    );
  });
  for (const l of placed) {
    const box = l.box as { x: number; y: number; height: number };
    parts.push(
      `<text x="${box.x.toFixed(1)}" y="${(box.y + box.height - 2).toFixed(1)}" class="label">${escapeXml(l.text)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export interface StackedBar {
  label: string;
  segments: { name: string; value: number }[];
}

/** Horizontal stacked bars (server time breakdown per level), one colour per segment name. */
export function renderStackedBars(
  title: string,
  unit: string,
  bars: StackedBar[],
  colors: Record<string, string>,
): string {
  const width = 720;
  const rowH = 26;
  const left = 130;
  const legendRows = Math.ceil(Object.keys(colors).length / 4);
  const height = 60 + bars.length * rowH + 24 + legendRows * 18;
  const total = Math.max(0, ...bars.map((b) => b.segments.reduce((a, s) => a + Math.max(0, s.value), 0)));
  const ticks = niceTicks(total);
  const max = ticks[ticks.length - 1] as number;
  const plotW = width - left - 20;
  const sx = (v: number) => (v / max) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="${width / 2}" y="20" text-anchor="middle" class="title">${escapeXml(`${title} (${unit})`)}</text>`,
  ];
  bars.forEach((bar, i) => {
    const y = 40 + i * rowH;
    parts.push(
      `<text x="${left - 8}" y="${y + 9}" text-anchor="end" dominant-baseline="middle" class="tick">${escapeXml(bar.label)}</text>`,
    );
    let x = left;
    for (const seg of bar.segments) {
      const w = sx(Math.max(0, seg.value));
      if (w <= 0) continue;
      parts.push(
        `<rect class="segment" data-segment="${escapeXml(seg.name)}" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${colors[seg.name] ?? '#999'}"><title>${escapeXml(`${bar.label} ${seg.name}: ${seg.value.toFixed(0)} ${unit}`)}</title></rect>`,
      );
      x += w;
    }
  });
  const axisY = 40 + bars.length * rowH + 8;
  for (const t of ticks) {
    parts.push(
      `<text x="${(left + sx(t)).toFixed(1)}" y="${axisY}" text-anchor="middle" class="tick">${fmtTick(t)}</text>`,
    );
  }
  // Four legend entries per row, in fixed-width columns, so long names never run off the edge.
  Object.entries(colors).forEach(([name, color], i) => {
    const lx = left + (i % 4) * 140;
    const ly = axisY + 10 + Math.floor(i / 4) * 18;
    parts.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly + 9}" class="legend">${escapeXml(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
