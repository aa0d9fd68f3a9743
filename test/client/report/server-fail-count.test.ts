import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunResult, ServerStatsDelta } from '../../../src/report/model.ts';
import { renderLevel } from '../../../src/report/text-level.ts';
import { baseSettings, level, measurement, runResult, serverStats } from './fixtures.ts';

function runWith(server: ServerStatsDelta): RunResult {
  const m = measurement(1000, 10_000_000_000, { server });
  return runResult(baseSettings({ load: { mode: 'concurrency', range: { start: 1, end: 1, step: 1 } } }), [
    level('concurrency', 1, m, m.latency.meanUs, 1_700_000_000_000),
  ]);
}

describe('Server: block, failed requests (inference_stats.fail, which perf_analyzer never reads)', () => {
  it('adds "Failed request count" after the successful count when the server reported failures', () => {
    const server = {
      ...serverStats(100, { request: 1000, queue: 100, input: 0, infer: 800, output: 0 }),
      fail: { count: 3, ns: 9_000 },
    };
    const run = runWith(server);
    assert.match(
      renderLevel(run, run.levels[0]!, { verbose: false }),
      /\n {4}Successful request count: 100\n {4}Failed request count: 3\n {4}Avg request latency: /,
    );
  });

  it('also when nothing succeeded, and not at all without failures', () => {
    const none = {
      ...serverStats(0, { request: 0, queue: 0, input: 0, infer: 0, output: 0 }),
      fail: { count: 5, ns: 1 },
    };
    const run = runWith(none);
    assert.match(
      renderLevel(run, run.levels[0]!, { verbose: false }),
      / {2}Server: \n {4}Request count: 0\n {4}Failed request count: 5\n/,
    );
    const ok = runWith(serverStats(100, { request: 1000, queue: 100, input: 0, infer: 800, output: 0 }));
    assert.doesNotMatch(renderLevel(ok, ok.levels[0]!, { verbose: false }), /Failed request count/);
  });
});
