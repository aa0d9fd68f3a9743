/**
 * The report reads the way a user expects: axes fitted to the data, point labels that never collide (also with
 * a baseline overlay), times in ms everywhere, headline figures first, a settings table, a per-window timeline,
 * a baseline delta column and levels over the error threshold drawn distinctly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fittedTicks, labelWidth, overlaps, placeLabels } from '../../../src/html/chart-layout.ts';
import { deltaText, renderHtmlReport, settingsRows } from '../../../src/html/report-html.ts';
import { renderLineChart } from '../../../src/html/svg-chart.ts';
import { level, measurement, run } from '../gate/run-fixture.ts';

function sweep() {
  return run([
    level(1, [measurement({ throughput: 1200, p95Us: 12_000 })]),
    level(2, [measurement({ throughput: 1250, p95Us: 13_000 })]),
    level(4, [measurement({ throughput: 1270, p95Us: 15_000 })]),
  ]);
}

/** Label boxes of an SVG: `<text … class="label">` at x,y (baseline), as drawn. */
function labelBoxes(svg: string): { x: number; y: number; width: number; height: number }[] {
  return [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" class="label">([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]) - 10,
    width: labelWidth(m[3] as string),
    height: 12,
  }));
}

describe('chart layout', () => {
  it('axes are fitted to the data, not started at 0', () => {
    const ticks = fittedTicks(1200, 1270);
    assert.ok((ticks[0] as number) >= 1100 && (ticks[0] as number) <= 1200, `${ticks}`);
    assert.ok((ticks.at(-1) as number) >= 1270);
    assert.ok(ticks.length <= 12);
    assert.deepEqual(fittedTicks(0, 0), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (a, b) => {
          const t = fittedTicks(a, b);
          assert.ok((t[0] as number) <= Math.min(a, b) && (t.at(-1) as number) >= Math.max(a, b));
          assert.ok((t[0] as number) >= 0, 'non-negative data never gets a negative axis');
        },
      ),
    );
  });

  it('placed labels never overlap each other or a point', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ x: fc.integer({ min: 70, max: 700 }), y: fc.integer({ min: 36, max: 350 }) }), {
          maxLength: 24,
        }),
        (points) => {
          const placed = placeLabels(
            points.map((p, i) => ({ ...p, text: `c=${i + 1}` })),
            { x: 70, y: 36, width: 630, height: 314 },
          );
          const boxes = placed.flatMap((l) => (l.box ? [l.box] : []));
          for (let i = 0; i < boxes.length; i++) {
            for (let j = i + 1; j < boxes.length; j++) assert.ok(!overlaps(boxes[i]!, boxes[j]!));
            for (const p of points) {
              assert.ok(!overlaps(boxes[i]!, { x: p.x - 3, y: p.y - 3, width: 6, height: 6 }));
            }
          }
        },
      ),
    );
  });

  it('a baseline overlay at the same levels gives no colliding labels', () => {
    const current = sweep();
    const html = renderHtmlReport(current, { baseline: sweep() });
    const chart = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    const boxes = labelBoxes(chart);
    assert.ok(boxes.length >= 3, 'levels are labelled');
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) assert.ok(!overlaps(boxes[i]!, boxes[j]!), `${i} vs ${j}`);
  });

  it('an error level is drawn as a distinct marker', () => {
    const svg = renderLineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'p50',
          color: '#000',
          points: [
            { x: 1, y: 1, label: 'a' },
            { x: 2, y: 2, label: 'b', errorLevel: true },
          ],
        },
      ],
    });
    assert.equal((svg.match(/class="error-level"/g) ?? []).length, 1);
    assert.match(svg, /error rate over the threshold/);
  });
});

describe('report contents', () => {
  it('headline first, settings as a table, ms for the breakdown, a timeline per level', () => {
    const html = renderHtmlReport({
      ...sweep(),
      config: { measurement: { windowMs: 5000 }, modelName: 'm' },
    });
    const headline = html.indexOf('class="headline"');
    assert.ok(headline > 0 && headline < html.indexOf('<svg'), 'headline figures before the first chart');
    assert.match(html, /<b>1,270\.0<\/b><span>infer\/s at most \(c=4\)<\/span>/);
    assert.doesNotMatch(html, /<pre>/, 'no raw JSON dump');
    assert.match(html, /<table class="settings">.*<code>measurement\.windowMs<\/code>/s);
    assert.doesNotMatch(html, /µs/, 'one unit for times: ms');
    assert.match(html, /<h2>Timeline per level<\/h2>/);
    assert.match(html, /Throughput per window/);
  });

  it('a baseline adds a delta column; an error level is marked in the table and the chart', () => {
    const current = sweep();
    const base = sweep();
    base.levels[2]!.merged!.throughputPerSec = 1000;
    current.levels[1]!.errorRateExceeded = true;
    current.levels[1]!.errorRate = 0.62;
    const html = renderHtmlReport(current, { baseline: base });
    assert.match(html, /<th>Δ infer\/s vs baseline<\/th>/);
    assert.match(html, /<td>concurrency 4<\/td><td>1,270\.0<\/td><td class="delta">\+27\.0 %<\/td>/);
    assert.match(html, /<tr class="status-[a-z_]+ error-level"><td>concurrency 2<\/td>/);
    assert.match(html, /error rate 62\.0 %/);
    assert.ok(html.includes('class="error-level"'), 'the chart marks it too');
    assert.equal(deltaText(110, 100), '+10.0 %');
    assert.equal(deltaText(90, 100), '−10.0 %');
    assert.equal(deltaText(undefined, 100), '—');
    assert.equal(deltaText(1, 0), '—');
  });

  it('settings rows flatten nested keys', () => {
    assert.deepEqual(settingsRows({ a: 1, b: { c: 'x', d: [1, 2] }, e: undefined }), [
      ['a', '1'],
      ['b.c', 'x'],
      ['b.d', '[1,2]'],
    ]);
  });
});
