/**
 * A server stall in open loop: the fake server (own worker thread) answers in 2 ms, but from the 100th request
 * on answers nothing for S = 300 ms. At a constant 200 req/s the schedule keeps sending through the stall, so
 * about 60 requests wait for its end: latency measured from their intended send times must show the stall in
 * the tail (p99 and max ≥ 0.8 S) while the median stays small; the uncorrected (from actual send) figure is kept
 * beside it in the JSON record; and every scheduled request is sent and answered, none silently dropped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeKServeInWorker, type WorkerFakeServer } from '../helpers/fake-kserve-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

const STALL_MS = 300;
const RATE = 200;
const REQUESTS = 300;

describe('a stalling server in open loop', () => {
  let server: WorkerFakeServer;

  before(async () => {
    server = await startFakeKServeInWorker({
      models: [
        {
          name: 'stall',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4] }],
          outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [4] }],
        },
      ],
      delayMs: 2,
      stall: { atIndex: 100, forMs: STALL_MS },
    });
  });

  after(async () => {
    await server?.close();
  });

  it('shows the stall in the tail latency, keeps the uncorrected figure, drops nothing', async () => {
    const r = await runProfile([
      '-m',
      'stall',
      '-u',
      server.url,
      '--request-rate-range',
      String(RATE),
      // Async: a sync request-rate run would cap requests in flight at --max-threads (4) and drop the rest.
      '--async',
      '--request-count',
      String(REQUESTS),
      '--json',
      'run.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const level = r.record!.levels[0]!;
    assert.equal(level.status, 'single');
    const m = level.merged!;

    // Every request of the schedule was sent and answered: none dropped, none failed.
    assert.equal(m.sentCount, REQUESTS);
    assert.equal(m.requestCount, REQUESTS);
    assert.equal(m.errorCount, 0);
    assert.deepEqual(m.errorsByKind, {});
    assert.equal(m.latency.count, REQUESTS);
    const sendRate = m.sendRatePerSec;
    assert.ok(sendRate > RATE * 0.8 && sendRate < RATE * 1.2, `send rate ${sendRate} ≈ ${RATE}/s`);

    // From the intended send: the stall is in the tail, not in the median.
    const p99Ms = m.latency.percentilesUs['99']! / 1000;
    const maxMs = m.latency.maxUs / 1000;
    const p50Ms = m.latency.percentilesUs['50']! / 1000;
    assert.ok(p99Ms >= STALL_MS * 0.8, `p99 ${p99Ms} ms shows the ${STALL_MS} ms stall`);
    assert.ok(maxMs >= STALL_MS * 0.8, `max ${maxMs} ms shows the stall`);
    assert.ok(p50Ms < STALL_MS / 4, `p50 ${p50Ms} ms is not the stall`);

    // The uncorrected figure (from the actual send) is kept beside it, in the merge and in every window.
    const u = m.uncorrectedLatency!;
    assert.equal(u.count, REQUESTS);
    assert.ok(m.latency.percentilesUs['99']! >= u.percentilesUs['99']!, 'corrected ≥ uncorrected');
    assert.ok(m.latency.meanUs >= u.meanUs, 'corrected mean ≥ uncorrected mean');
    for (const w of level.windows)
      assert.ok(w.uncorrectedLatency, `window ${w.index} keeps the uncorrected figure`);
    assert.match(r.stdout, /\n {4}Uncorrected latency \(from actual send\): avg \d+ usec, p50 \d+ usec/);
    assert.match(r.stdout, /\n {4}p99 latency: \d+ usec\n/);
  });
});
