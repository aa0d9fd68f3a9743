import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderProfileExport } from '../../src/report/profile-export.ts';
import type { RequestTrace } from '../../src/report/request-trace.ts';
import { concurrencySweep, requestRateRun } from './fixtures.ts';

describe('profile export (--profile-export-file)', () => {
  it("has perf_analyzer's shape: experiments with mode/value, empty requests, window boundaries", () => {
    const doc = JSON.parse(renderProfileExport(concurrencySweep())) as {
      experiments: {
        experiment: { mode: string; value: number };
        requests: unknown[];
        window_boundaries: number[];
      }[];
      version: string;
      service_kind: string;
      endpoint: string;
    };
    assert.equal(doc.service_kind, 'triton');
    assert.equal(doc.endpoint, '');
    assert.equal(doc.version, 'inferbench 0.1.0');
    assert.deepEqual(
      doc.experiments.map((e) => e.experiment),
      [1, 2, 3].map((value) => ({ mode: 'concurrency', value })),
    );
    assert.deepEqual(doc.experiments[0]!.requests, []);
    assert.equal(
      doc.experiments[0]!.window_boundaries.length,
      4,
      '3 consecutive windows share edges: 4 boundaries',
    );
  });

  it('writes exact nanosecond timestamps beyond 2^53 as JSON integers', () => {
    const text = renderProfileExport(concurrencySweep());
    // Level 1 starts at 1_700_000_000_000 ms; windows of 5 s each.
    assert.match(
      text,
      /"window_boundaries":\[1700000000000000000,1700000005000000000,1700000010000000000,1700000015000000000\]/,
    );
  });

  it('exports request-rate levels as mode request_rate with per-window aggregates', () => {
    const doc = JSON.parse(renderProfileExport(requestRateRun())) as {
      experiments: { experiment: { mode: string; value: number }; windows: { request_count: number }[] }[];
    };
    assert.deepEqual(doc.experiments[1]!.experiment, { mode: 'request_rate', value: 200 });
    assert.equal(doc.experiments[1]!.windows[0]!.request_count, 983);
  });

  it('writes each request of a trace as exact epoch ns, sorted by send time, through the first window start', () => {
    const run = concurrencySweep();
    // Level 1 starts at 1_700_000_000_000 ms = Clock 5_000_000 ns here; windows of 5 s.
    const startNs = 5_000_000;
    const trace: RequestTrace = {
      levels: [
        {
          startNs,
          windows: [
            // Completion order: the second request was sent before the first (sorted on output).
            {
              sendNs: Float64Array.of(startNs + 2_000, startNs - 1_500),
              responseNs: Float64Array.of(startNs + 9_000, startNs + 3_000),
              omitted: 0,
            },
            {
              sendNs: Float64Array.of(startNs + 5_000_000_123),
              responseNs: Float64Array.of(startNs + 5_000_400_123),
              omitted: 0,
            },
            { sendNs: new Float64Array(0), responseNs: new Float64Array(0), omitted: 7 },
          ],
        },
      ],
    };
    const text = renderProfileExport(run, trace);
    assert.ok(
      text.includes(
        '"requests":[' +
          '{"timestamp":1699999999999998500,"response_timestamps":[1700000000000003000]},' +
          '{"timestamp":1700000000000002000,"response_timestamps":[1700000000000009000]},' +
          '{"timestamp":1700000005000000123,"response_timestamps":[1700000005000400123]}' +
          '],"requests_omitted":7,',
      ),
      text.slice(0, 400),
    );
    // Levels without a trace entry keep an empty list.
    const doc = JSON.parse(text) as { experiments: { requests: unknown[] }[] };
    assert.equal(doc.experiments[0]!.requests.length, 3);
    assert.deepEqual(doc.experiments[1]!.requests, []);
  });
});
