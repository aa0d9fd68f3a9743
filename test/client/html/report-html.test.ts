import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderHtmlReport } from '../../../src/html/report-html.ts';
import { niceTicks } from '../../../src/html/svg-chart.ts';
import { assertGolden } from '../../helpers/golden.ts';
import { countColor, decodePng } from '../../helpers/png.ts';
import { level, measurement, run } from '../gate/run-fixture.ts';
import { serverStats } from '../report/fixtures.ts';

function sample() {
  const withServer = (throughput: number, p95Us: number) => {
    const m = measurement({ throughput, p95Us });
    m.server = {
      model: 'm',
      version: '1',
      inferenceCount: 100,
      executionCount: 50,
      success: { count: 100, ns: 100 * p95Us * 400 },
      fail: { count: 0, ns: 0 },
      queue: { count: 100, ns: 100 * p95Us * 100 },
      computeInput: { count: 100, ns: 100 * 20_000 },
      computeInfer: { count: 100, ns: 100 * p95Us * 250 },
      computeOutput: { count: 100, ns: 100 * 10_000 },
      cacheHit: { count: 0, ns: 0 },
      cacheMiss: { count: 0, ns: 0 },
      composing: [],
    };
    return m;
  };
  return run([
    level(1, [withServer(400, 3_000)]),
    level(2, [withServer(700, 4_000)]),
    level(4, [withServer(900, 8_000)]),
  ]);
}

/**
 * An ensemble `ocr` of `text_direction` and a nested ensemble `recognize` (itself `preprocess` and
 * `text_recognition`), at two levels whose figures differ so each level's table is told apart.
 */
function ensembleRun() {
  const atLevel = (scale: number) => {
    const m = measurement({ throughput: 100 * scale, p95Us: 9_000 });
    const top = serverStats(100, { request: 5000 * scale, queue: 0, input: 0, infer: 0, output: 0 }, 'ocr');
    const direction = serverStats(
      100,
      { request: 1000 * scale, queue: 100 * scale, input: 10, infer: 800 * scale, output: 11 },
      'text_direction',
    );
    direction.cacheHit = { count: 7, ns: 7 * 3000 };
    const recognize = serverStats(
      100,
      { request: 3000 * scale, queue: 0, input: 0, infer: 0, output: 0 },
      'recognize',
    );
    const preprocess = serverStats(
      100,
      { request: 400 * scale, queue: 30 * scale, input: 5, infer: 300 * scale, output: 6 },
      'preprocess',
    );
    const recognition = serverStats(
      100,
      { request: 2500 * scale, queue: 200 * scale, input: 20, infer: 2100 * scale, output: 21 },
      'text_recognition',
    );
    recognize.composing = [preprocess, recognition];
    top.composing = [direction, recognize];
    m.server = top;
    return m;
  };
  return run([level(1, [atLevel(1)]), level(2, [atLevel(2)])]);
}

/** The rows of the composing table under the heading of one level. */
function composingTable(html: string, heading: string): string[][] {
  const start = html.indexOf(`<h3>${heading}</h3>`);
  assert.ok(start >= 0, `no section for ${heading}`);
  const table = html.slice(start, html.indexOf('</table>', start));
  return [...table.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)]
    .map((row) => [...row[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((cell) => cell[1]!))
    .filter((cells) => cells.length > 0);
}

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** The latency-vs-throughput chart's SVG (the first chart). */
function latencyChart(html: string): string {
  const start = html.indexOf('<svg');
  return html.slice(start, html.indexOf('</svg>', start));
}

describe('HTML report', () => {
  it('nice ticks cover the range with 1-2-5 steps', () => {
    assert.deepEqual(niceTicks(9), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(930), [0, 200, 400, 600, 800, 1000]);
    assert.deepEqual(niceTicks(0), [0, 1]);
  });

  it('is self-contained: no external URL, no script', () => {
    const html = renderHtmlReport(sample());
    assert.equal(/<script/i.test(html), false);
    assert.equal(/(src|href)=["']https?:/i.test(html), false);
    assert.equal(/@import|url\(/i.test(html), false);
    // In the latency chart: one polyline per latency series, one circle per level and series.
    const chart = latencyChart(html);
    assert.equal((chart.match(/<polyline class="series"/g) ?? []).length, 3);
    assert.equal((chart.match(/<circle /g) ?? []).length, 9);
    assert.match(html, /<td>concurrency 4<\/td><td>900\.0<\/td>/);
  });

  it('compare mode overlays the baseline dashed', () => {
    const html = latencyChart(renderHtmlReport(sample(), { baseline: sample() }));
    assert.equal((html.match(/<polyline class="series"/g) ?? []).length, 6);
    assert.equal((html.match(/stroke-dasharray/g) ?? []).length, 6); // 3 lines + 3 legend marks
  });

  it("shows each level's composing models in the text report's tree, with their server figures", () => {
    const html = renderHtmlReport(ensembleRun());
    assert.equal((html.match(/<h2>Composing models<\/h2>/g) ?? []).length, 1);
    // Where the time goes: the last cell is a bar of the model's queue / compute / overhead scaled to the
    // ensemble's request time (5 ms = 160 px) and its request time as a share of the ensemble's.
    const shares = composingTable(html, 'concurrency 1').map((cells) => cells.at(-1)!);
    assert.deepEqual(
      shares.map((c) => c.replace(/<span[^>]*><\/span>/g, '').trim()),
      ['20 %', '60 %', '8 %', '50 %'],
    );
    // text_direction: compute infer 0.8 ms of 5 ms → 26 px, queue 0.1 ms → 3 px.
    assert.match(shares[0]!, /title="compute infer 0\.800 ms" style="[^"]*width:26px;background:#2b7bb9"/);
    assert.match(shares[0]!, /title="queue 0\.100 ms" style="[^"]*width:3px;/);
    // model, version, inferences, executions, requests, failed, cache hits, request, overhead, queue, in, infer, out
    assert.deepEqual(
      composingTable(html, 'concurrency 1').map((cells) => cells.slice(0, -1)),
      [
        [
          'text_direction',
          '1',
          '100',
          '100',
          '100',
          '0',
          '7',
          '1.000',
          '0.079',
          '0.100',
          '0.010',
          '0.800',
          '0.011',
        ],
        // nested ensemble: its leaves' queue 30 + 200 and compute 311 + 2141 summed, overhead 3000 − 230 − 2452
        ['recognize', '1', '100', '100', '100', '0', '0', '3.000', '0.318', '0.230', 'compute 2.452'],
        [
          'preprocess',
          '1',
          '100',
          '100',
          '100',
          '0',
          '0',
          '0.400',
          '0.059',
          '0.030',
          '0.005',
          '0.300',
          '0.006',
        ],
        [
          'text_recognition',
          '1',
          '100',
          '100',
          '100',
          '0',
          '0',
          '2.500',
          '0.159',
          '0.200',
          '0.020',
          '2.100',
          '0.021',
        ],
      ],
    );
    assert.deepEqual(composingTable(html, 'concurrency 2')[3]!.slice(0, -1), [
      'text_recognition',
      '1',
      '100',
      '100',
      '100',
      '0',
      '0',
      '5.000',
      '0.359',
      '0.400',
      '0.020',
      '4.200',
      '0.021',
    ]);
    // Nesting is shown by indentation: the nested ensemble's models sit one step deeper.
    assert.match(html, /<td style="padding-left:8px">recognize<\/td>/);
    assert.match(html, /<td style="padding-left:24px">text_recognition<\/td>/);
    // The ensemble's own summary, as the text report's "Avg request latency" line: leaves' queue 100 + 30 + 200,
    // compute 821 + 311 + 2141, overhead 5000 − 330 − 3273.
    assert.match(
      html,
      /ocr version 1: avg request 5.000 ms \(overhead 1.397 ms \+ queue 0.330 ms \+ compute 3.273 ms\)/,
    );
  });

  it('shows no composing-models section for a run without an ensemble', () => {
    const html = renderHtmlReport(sample());
    assert.equal(html.includes('Composing models'), false);
    assert.equal(html.includes('class="composing"'), false);
  });

  it('matches the golden markup', () => {
    assertGolden('report.html', renderHtmlReport(sample()));
  });

  it('renders in headless Chromium with the chart drawn', {
    skip: CHROMIUM ? false : 'chromium not installed (apt-get install chromium)',
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferbench-html-'));
    try {
      const file = join(dir, 'report.html');
      const png = join(dir, 'shot.png');
      writeFileSync(file, renderHtmlReport(sample()));
      const r = spawnSync(
        CHROMIUM as string,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${join(dir, 'profile')}`,
          '--window-size=1000,1200',
          `--screenshot=${png}`,
          `file://${file}`,
        ],
        { timeout: 60_000, encoding: 'utf8' },
      );
      assert.ok(existsSync(png), `chromium wrote no screenshot: ${r.stderr}`);
      const img = decodePng(readFileSync(png));
      // The p95 series (#e07b00) and the compute-infer bars (#2b7bb9) must be visibly drawn.
      assert.ok(countColor(img, [0xe0, 0x7b, 0x00]) > 200, 'p95 line not drawn');
      assert.ok(countColor(img, [0x2b, 0x7b, 0xb9]) > 1000, 'p50 line / compute bars not drawn');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
