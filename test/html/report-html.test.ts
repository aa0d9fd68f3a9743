import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderHtmlReport } from '../../src/html/report-html.ts';
import { niceTicks } from '../../src/html/svg-chart.ts';
import { level, measurement, run } from '../gate/run-fixture.ts';
import { assertGolden } from '../helpers/golden.ts';
import { countColor, decodePng } from '../helpers/png.ts';

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

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

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
    // one polyline per latency series, one circle per level and series
    assert.equal((html.match(/<polyline class="series"/g) ?? []).length, 3);
    assert.equal((html.match(/<circle /g) ?? []).length, 9);
    assert.match(html, /<td>concurrency 4<\/td><td>900\.0<\/td>/);
  });

  it('compare mode overlays the baseline dashed', () => {
    const html = renderHtmlReport(sample(), { baseline: sample() });
    assert.equal((html.match(/<polyline class="series"/g) ?? []).length, 6);
    assert.equal((html.match(/stroke-dasharray/g) ?? []).length, 6); // 3 lines + 3 legend marks
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
