/**
 * Pure layout for the report's charts: axes fitted to the data (a latency curve from 12 to 15 ms is not drawn
 * from 0, leaving half the plot empty) and point labels placed so that none overlaps another label or a point.
 */

/** Round figures for axis ticks: 1, 2, 5 × 10^k steps covering [min, max] (from a round value below min). */
export function fittedTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (hi - lo <= 1e-9 * Math.max(1, Math.abs(hi))) {
    lo = hi;
    // One value: a small band around it (or [0, 1] at zero).
    const pad = Math.max(Math.abs(hi) * 0.1, hi === 0 ? 1 : 1e-9);
    lo -= pad;
    hi += pad;
  } else {
    // 5 % headroom so points never sit on the frame.
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  if (min >= 0 && lo < 0) lo = 0;
  const rough = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  if (step === undefined || !(step > 0) || !Number.isFinite(step)) return [lo, hi];
  const start = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = start; v < hi + step - step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks.length >= 2 ? ticks : [start, Number((start + step).toPrecision(12))];
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LabelRequest {
  /** The point (pixels). */
  x: number;
  y: number;
  text: string;
}

/** A placed label: top-left of its text box; undefined when no free place was found (the tooltip remains). */
export interface PlacedLabel {
  text: string;
  box?: Box;
}

export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Approximate text width of an 11 px sans-serif label. */
export function labelWidth(text: string): number {
  return text.length * 6.2 + 2;
}

const LABEL_HEIGHT = 12;
const POINT_RADIUS = 6;

/** The area a drawn point covers (error-level markers are the largest). */
export function pointBox(x: number, y: number): Box {
  return { x: x - POINT_RADIUS, y: y - POINT_RADIUS, width: 2 * POINT_RADIUS, height: 2 * POINT_RADIUS };
}

/**
 * Places each label near its point: right-above, right-below, left-above, left-below, then further out;
 * a candidate must stay inside `bounds` and overlap no placed label, no point and no obstacle (the legend).
 * Greedy, in input order.
 */
export function placeLabels(
  requests: readonly LabelRequest[],
  bounds: Box,
  obstacles: readonly Box[] = [],
): PlacedLabel[] {
  const taken: Box[] = [...obstacles, ...requests.map((r) => pointBox(r.x, r.y))];
  const inside = (b: Box): boolean =>
    b.x >= bounds.x &&
    b.y >= bounds.y &&
    b.x + b.width <= bounds.x + bounds.width &&
    b.y + b.height <= bounds.y + bounds.height;
  return requests.map((r) => {
    const w = labelWidth(r.text);
    const candidates: Box[] = [];
    for (const d of [6, 16, 28, 42]) {
      candidates.push(
        { x: r.x + d * 0.7, y: r.y - d - LABEL_HEIGHT + 4, width: w, height: LABEL_HEIGHT },
        { x: r.x + d * 0.7, y: r.y + d - 4, width: w, height: LABEL_HEIGHT },
        { x: r.x - d * 0.7 - w, y: r.y - d - LABEL_HEIGHT + 4, width: w, height: LABEL_HEIGHT },
        { x: r.x - d * 0.7 - w, y: r.y + d - 4, width: w, height: LABEL_HEIGHT },
      );
    }
    const box = candidates.find((c) => inside(c) && !taken.some((t) => overlaps(c, t)));
    if (box) taken.push(box);
    return box ? { text: r.text, box } : { text: r.text };
  });
}
