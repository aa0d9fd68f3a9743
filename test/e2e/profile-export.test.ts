/**
 * --profile-export-file end to end: every measured request is in the export with its send and response time
 * (ns since the epoch), inside its level's window edges; closed and open loop; and nothing per request is kept
 * when no export is asked for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FakeServer, startFakeKServe } from '../helpers/fake-kserve-server.ts';
import { type ProfileExport, runProfile } from '../helpers/run-profile.ts';

const MODEL = {
  name: 'm',
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [4] }],
};

function checkExperiment(doc: ProfileExport, index: number, measured: number[]): void {
  const e = doc.experiments[index]!;
  const requests = e.requests;
  assert.equal(
    requests.length,
    measured.reduce((a, b) => a + b, 0),
    'one entry per measured request (Σ window request counts)',
  );
  assert.deepEqual(
    e.windows.map((w) => w.request_count),
    measured,
  );
  const first = e.window_boundaries[0]!;
  const last = e.window_boundaries.at(-1)!;
  let previous = 0n;
  for (const r of requests) {
    assert.equal(typeof r.timestamp, 'bigint');
    assert.ok(r.timestamp >= previous, 'sorted by send time');
    previous = r.timestamp;
    assert.equal(r.response_timestamps.length, 1);
    const answered = r.response_timestamps[0]!;
    assert.ok(answered >= r.timestamp, 'response after send');
    // A measured request's response ended inside the level's windows (2 ms slack for the ms wall-clock origin).
    assert.ok(answered >= first - 2_000_000n && answered <= last + 2_000_000n, 'response inside the windows');
    // The fake server answers after ≥ 2 ms.
    assert.ok(answered - r.timestamp >= 2_000_000n, `latency ${answered - r.timestamp} ns ≥ the 2 ms delay`);
  }
  // Plausible epoch ns (2020 … 2100).
  assert.ok(first > 1_577_836_800_000_000_000n && first < 4_102_444_800_000_000_000n);
}

describe('--profile-export-file: per-request records', () => {
  let server: FakeServer;

  before(async () => {
    server = await startFakeKServe({ models: [MODEL], answerAfterMs: () => 2 });
  });

  after(async () => {
    await server?.close();
  });

  it('closed loop, two levels: every measured request with send and response ns', async () => {
    const r = await runProfile([
      '-m',
      'm',
      '-u',
      server.url,
      '--concurrency-range',
      '1:2',
      '-p',
      '150',
      // Not a stability test: a lenient rule, so a loaded machine cannot make the level unstable (exit 2).
      '-s',
      '1000',
      '-r',
      '4',
      '--json',
      'run.json',
      '--profile-export-file',
      'export.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const level of r.record!.levels)
      assert.deepEqual(level.merged!.errorsByKind, {}, 'no request failed');
    const doc = r.exported!;
    const record = r.record!;
    assert.equal(doc.experiments.length, 2);
    for (const [i, level] of record.levels.entries()) {
      assert.deepEqual(doc.experiments[i]!.experiment, { mode: 'concurrency', value: level.value });
      checkExperiment(
        doc,
        i,
        level.windows.map((w) => w.requestCount),
      );
      assert.ok(doc.experiments[i]!.requests.length > 0);
    }
    assert.doesNotMatch(
      JSON.stringify(record),
      /sendNs|responseNs|requestTrace/,
      'nothing per request in the record',
    );
  });

  it('open loop with --request-count: exactly the requests sent', async () => {
    const startedNs = process.hrtime.bigint();
    const r = await runProfile([
      '-m',
      'm',
      '-u',
      server.url,
      '--request-rate-range',
      '200',
      // Async: a sync request-rate run caps requests in flight at --max-threads (4) and drops the rest.
      '--async',
      '--request-count',
      '200',
      '--json',
      'run.json',
      '--profile-export-file',
      'export.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const level of r.record!.levels)
      assert.deepEqual(level.merged!.errorsByKind, {}, 'no request failed');
    const doc = r.exported!;
    assert.deepEqual(doc.experiments[0]!.experiment, { mode: 'request_rate', value: 200 });
    checkExperiment(doc, 0, [200]);
    // Open loop never sends early: the schedule starts after the window opened (--request-count with no
    // warm-up opens it first), so the k-th send is not before the window start + k × 5 ms (2 ms slack for the
    // ms wall-clock origin). A loaded machine only makes sends later, so this holds however busy it is, and
    // catches a doubled rate or a unit error in the export's nanosecond timestamps; the upper bound is the run
    // itself. How late the sends were is wall-clock: bench:accuracy measures it.
    const runMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
    const windowStartNs = doc.experiments[0]!.window_boundaries[0]!;
    const sends = doc.experiments[0]!.requests.map((q) => q.timestamp);
    const early = sends.filter((t, k) => t < windowStartNs + BigInt(k) * 5_000_000n - 2_000_000n);
    assert.deepEqual(early, [], 'no send before its place in the 5 ms schedule');
    const spanMs = Number(sends.at(-1)! - sends[0]!) / 1e6;
    assert.ok(spanMs < runMs, `send span ${spanMs} ms within the run (${runMs} ms)`);
  });

  it('with the load in worker threads: the shards’ requests are in the export too', async () => {
    const r = await runProfile([
      '-m',
      'm',
      '-u',
      server.url,
      '--concurrency-range',
      '2',
      '--worker-threads',
      '2',
      '--request-count',
      '60',
      '--json',
      'run.json',
      '--profile-export-file',
      'export.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const level of r.record!.levels)
      assert.deepEqual(level.merged!.errorsByKind, {}, 'no request failed');
    assert.equal(r.record!.levels[0]!.merged!.requestCount, 60);
    checkExperiment(r.exported!, 0, [60]);
  });
});
