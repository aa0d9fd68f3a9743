/**
 * Accuracy against a fake KServe server that answers every request exactly D ms after it arrived (in its own
 * worker thread; it has neither /config nor /stats). Theory: closed loop at concurrency C gives
 * throughput = C / D and latency = D; open loop gives latency = D.
 *
 * Only what no machine load can break is asserted here, once, without retries: a loaded machine makes requests
 * slower and fewer, never faster or more. So latency is never below D, closed-loop throughput never above C / D,
 * and latency from the intended send never below latency from the actual send. A wrong clock, duration or
 * percentile computation breaks these in either direction. How CLOSE the figures come to theory (within 5 %)
 * is a wall-clock figure: `npm run bench:accuracy` measures it (bench-results/accuracy.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Measurement } from '../../src/report/model.ts';
import { startFakeKServeInWorker, type WorkerFakeServer } from '../helpers/fake-kserve-server.ts';
import { type ProfileRun, runProfile } from '../helpers/run-profile.ts';

const DELAY_MS = 200;
/** Timer granularity and rounding: a response can be stamped up to ~1 % before its nominal D. */
const SLACK = 0.01;

/** One run of `argv`; its merged measurement. */
async function measure(argv: string[]): Promise<{ r: ProfileRun; m: Measurement }> {
  const r = await runProfile(argv);
  assert.equal(r.code, 0, r.stderr);
  return { r, m: r.record!.levels[0]!.merged! };
}

describe('accuracy against a fixed-delay server (bounds that hold under any load)', () => {
  let server: WorkerFakeServer;

  before(async () => {
    server = await startFakeKServeInWorker({
      models: [
        {
          name: 'fixed',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4] }],
          outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [4] }],
        },
      ],
      delayMs: DELAY_MS,
    });
  });

  after(async () => {
    await server?.close();
  });

  it('closed loop, concurrency 8: throughput ≤ C / D, latency ≥ D', async () => {
    const concurrency = 8;
    const argv = [
      '-m',
      'fixed',
      '-u',
      server.url,
      '--concurrency-range',
      String(concurrency),
      '--measurement-mode',
      'count_windows',
      '--measurement-request-count',
      '40',
      '--warmup-request-count',
      '8',
      '-s',
      '25',
      '-r',
      '8',
      '--json',
      'run.json',
      '--no-progress',
    ];
    const { r, m } = await measure(argv);
    // A plain KServe server: the run says what it cannot show, and there is no Server: block.
    assert.match(r.stderr, /no model-configuration extension/);
    assert.match(r.stderr, /Server-side statistics are not available/);
    assert.doesNotMatch(r.stdout, /Server: /);
    assert.equal(r.record!.levels[0]!.status, 'stable');
    assert.equal(m.errorCount, 0);
    assert.ok(m.requestCount >= 120, `3 windows of ≥ 40 requests: ${m.requestCount}`);
    assert.ok(
      m.latency.minUs / 1000 >= DELAY_MS * (1 - SLACK),
      `no latency below D: min ${m.latency.minUs} µs`,
    );
    assert.ok(m.latency.percentilesUs['50']! >= m.latency.minUs, 'p50 ≥ min');
    assert.ok(m.latency.meanUs >= m.latency.minUs && m.latency.meanUs <= m.latency.maxUs, 'min ≤ mean ≤ max');
    // C requests in flight, each at least D: no more than C / D per second can complete.
    const ceiling = (concurrency * 1000) / DELAY_MS;
    assert.ok(
      m.throughputPerSec <= ceiling * (1 + SLACK),
      `throughput ${m.throughputPerSec} ≤ C/D = ${ceiling}`,
    );
    assert.ok(m.throughputPerSec > 0);
  });

  it('open loop, 40 req/s: latency ≥ D, from the intended send ≥ from the actual send', async () => {
    const rate = 40;
    const argv = [
      '-m',
      'fixed',
      '-u',
      server.url,
      '--request-rate-range',
      String(rate),
      // Async: a sync request-rate run caps requests in flight at --max-threads (4) and drops the rest.
      '--async',
      '-p',
      '1500',
      '--warmup-request-count',
      '8',
      '-s',
      '25',
      '-r',
      '8',
      '--json',
      'run.json',
      '--no-progress',
    ];
    const { m } = await measure(argv);
    assert.equal(m.errorCount, 0);
    assert.ok(m.requestCount > 0 && m.sentCount > 0);
    assert.ok(
      m.latency.minUs / 1000 >= DELAY_MS * (1 - SLACK),
      `no latency below D: min ${m.latency.minUs} µs`,
    );
    const actual = m.uncorrectedLatency!;
    assert.ok(
      actual.minUs / 1000 >= DELAY_MS * (1 - SLACK),
      `no latency from the actual send below D: ${actual.minUs}`,
    );
    // A request is never sent before its intended time: latency from the intended send is never the shorter.
    assert.ok(
      m.latency.percentilesUs['50']! >= actual.percentilesUs['50']!,
      'intended-send p50 ≥ actual-send p50',
    );
    assert.ok(m.latency.meanUs >= actual.meanUs, 'intended-send mean ≥ actual-send mean');
  });
});
