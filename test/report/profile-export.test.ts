import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderProfileExport } from '../../src/report/profile-export.ts';
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
});
