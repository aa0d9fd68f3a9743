import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgress } from '../../src/cli/progress.ts';
import { concurrencySweep } from '../report/fixtures.ts';

const window = {
  type: 'window_end' as const,
  mode: 'concurrency' as const,
  value: 2,
  windowIndex: 3,
  maxWindows: 10,
  throughputPerSec: 678.775,
  latencyUs: 2946.4,
  requestCount: 3394,
  errorCount: 2,
  spread: { throughput: 1.031, latency: 1.0456 },
};

describe('progress display', () => {
  it('writes one plain line per event when not a TTY', () => {
    let out = '';
    const p = createProgress({ write: (t: string) => (out += t), isTTY: false }, true);
    p.onEvent(window);
    p.onEvent({ type: 'level_end', level: concurrencySweep().levels[1]! });
    p.close();
    assert.equal(
      out,
      '[concurrency 2] window 3/10: 678.775 infer/sec, latency 2946 usec, 2 errors, spread throughput 1.031 latency 1.046\n' +
        '[concurrency 2] stable after 3 window(s)\n',
    );
  });

  it('redraws one line on a TTY and ends it on close', () => {
    let out = '';
    const p = createProgress({ write: (t: string) => (out += t), isTTY: true }, true);
    p.onEvent({ ...window, latencyUs: Number.POSITIVE_INFINITY, errorCount: 0 });
    p.close();
    assert.equal(
      out,
      '\r\x1b[2K[concurrency 2] window 3/10: 678.775 infer/sec, latency no valid request, spread throughput 1.031 latency 1.046\n',
    );
  });

  it('is silent when disabled', () => {
    let out = '';
    const p = createProgress({ write: (t: string) => (out += t), isTTY: true }, false);
    p.onEvent(window);
    p.close();
    assert.equal(out, '');
  });
});
