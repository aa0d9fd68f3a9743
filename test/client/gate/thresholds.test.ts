import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateThreshold, parseThreshold, type Threshold } from '../../../src/gate/thresholds.ts';
import { level, measurement, run } from './run-fixture.ts';

function parsed(text: string): Threshold {
  const r = parseThreshold(text);
  if ('error' in r) throw new Error(r.error);
  return r.value;
}

describe('parseThreshold', () => {
  it('converts latency units to µs and percentages to fractions', () => {
    assert.equal(parsed('p95_latency<=20ms').limit, 20_000);
    assert.equal(parsed('p95_latency <= 1.5s').limit, 1_500_000);
    assert.equal(parsed('avg_latency<900us').limit, 900);
    assert.equal(parsed('error_rate<0.1%').limit, 0.001);
    assert.equal(parsed('throughput>=500').limit, 500);
  });
  it('reads scopes', () => {
    assert.deepEqual(parsed('level=16:throughput>=500').scope, { kind: 'level', value: 16 });
    assert.deepEqual(parsed('any:throughput>=1000').scope, { kind: 'any' });
    assert.deepEqual(parsed('throughput>=1').scope, { kind: 'each' });
  });
  it('refuses unknown metrics, bad units and garbage with a message that names the problem', () => {
    const unknown = parseThreshold('p42_latency<1ms');
    assert.ok('error' in unknown && /unknown metric 'p42_latency'/.test(unknown.error));
    const unit = parseThreshold('p95_latency<3parsecs');
    assert.ok('error' in unit && /latency unit must be us, ms or s/.test(unit.error));
    assert.ok('error' in parseThreshold('throughput is high'));
  });
});

describe('evaluateThreshold', () => {
  const r = run([
    level(1, [measurement({ throughput: 400, p95Us: 5_000 })]),
    level(8, [measurement({ throughput: 900, p95Us: 25_000, errors: 3 })]),
  ]);
  it('each: every level must pass, and the details name the failing level', () => {
    const v = evaluateThreshold(r, parsed('p95_latency<=20ms'));
    assert.equal(v.passed, false);
    assert.match(v.details[1] as string, /concurrency 8: p95_latency 25\.00 ms FAILS <= 20\.00 ms/);
    assert.equal(evaluateThreshold(r, parsed('p95_latency<=30ms')).passed, true);
  });
  it('any: one level is enough', () => {
    assert.equal(evaluateThreshold(r, parsed('any:throughput>=800')).passed, true);
    assert.equal(evaluateThreshold(r, parsed('throughput>=800')).passed, false);
  });
  it('level=N: only that level, and a missing level fails rather than passing vacuously', () => {
    assert.equal(evaluateThreshold(r, parsed('level=1:throughput>=300')).passed, true);
    const missing = evaluateThreshold(r, parsed('level=64:throughput>=1'));
    assert.equal(missing.passed, false);
    assert.match(missing.details[0] as string, /no measured level/);
  });
  it('error_rate counts failed over all completed requests', () => {
    // 3 errors / 1003 ≈ 0.299 %
    assert.equal(evaluateThreshold(r, parsed('level=8:error_rate<0.3%')).passed, true);
    assert.equal(evaluateThreshold(r, parsed('level=8:error_rate<0.29%')).passed, false);
  });
});
