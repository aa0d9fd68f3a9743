import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generatorHealth,
  LoopHealthMonitor,
  type LoopHealthSample,
  mergeLoopHealth,
} from '../../../src/measure/loop-health.ts';

const sample = (over: Partial<LoopHealthSample> = {}): LoopHealthSample => ({
  eventLoopDelayP99Us: 100,
  eventLoopDelayMaxUs: 200,
  eventLoopUtilization: 0.5,
  cpuCores: 0.5,
  wallMs: 1000,
  ...over,
});

describe('generator health', () => {
  it('a healthy window has no warnings', () => {
    const h = generatorHealth(sample(), {
      latencyP50Us: 5000,
      delayedCount: 0,
      sentCount: 100,
      achievedRateRatio: 1,
    });
    assert.deepEqual(h.bottleneckWarnings, []);
    assert.equal(h.eventLoopUtilization, 0.5);
  });
  it('flags a busy loop, loop delay > 10% of p50, a sagging rate and > 1% delayed', () => {
    const h = generatorHealth(sample({ eventLoopUtilization: 0.95, eventLoopDelayP99Us: 600 }), {
      latencyP50Us: 5000,
      delayedCount: 2,
      sentCount: 100,
      achievedRateRatio: 0.9,
    });
    assert.equal(h.bottleneckWarnings.length, 4);
  });
  it('exactly at the thresholds does not warn (1% delayed, 95% rate, delay = 10% of p50)', () => {
    const h = generatorHealth(sample({ eventLoopDelayP99Us: 500 }), {
      latencyP50Us: 5000,
      delayedCount: 1,
      sentCount: 100,
      achievedRateRatio: 0.95,
    });
    assert.deepEqual(h.bottleneckWarnings, []);
  });
  it('merges samples weighted by wall time, worst delay wins', () => {
    const m = mergeLoopHealth([
      sample({ eventLoopUtilization: 0.2, wallMs: 1000 }),
      sample({ eventLoopUtilization: 0.8, wallMs: 3000, eventLoopDelayMaxUs: 900 }),
    ]);
    assert.ok(m);
    assert.ok(Math.abs(m.eventLoopUtilization - 0.65) < 1e-12);
    assert.equal(m.eventLoopDelayMaxUs, 900);
    assert.equal(m.wallMs, 4000);
  });
  it('the monitor measures real CPU use of a busy loop', () => {
    const monitor = new LoopHealthMonitor();
    monitor.start();
    const until = performance.now() + 30;
    while (performance.now() < until) {
      // busy
    }
    const s = monitor.sample();
    monitor.stop();
    assert.ok(s.wallMs >= 30);
    // CPU share depends on what else runs on the machine; the loop itself was never idle.
    assert.ok(s.cpuCores > 0.1, `cpuCores ${s.cpuCores}`);
    assert.ok(s.eventLoopUtilization > 0.8, `elu ${s.eventLoopUtilization}`);
  });
});
