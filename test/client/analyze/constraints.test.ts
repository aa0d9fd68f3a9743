import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Constraint,
  checkConstraint,
  describeFailure,
  failsForHigherLoad,
  parseConstraint,
} from '../../../src/analyze/constraints.ts';
import { objectiveScore, parseObjective } from '../../../src/analyze/objectives.ts';

function constraint(text: string): Constraint {
  const r = parseConstraint(text);
  if ('error' in r) throw new Error(r.error);
  return r.value;
}

describe('parseConstraint', () => {
  it('converts units to base units', () => {
    assert.equal(constraint('p95_latency<=20ms').limit, 20_000);
    assert.equal(constraint('p99_latency < 1.5s').limit, 1_500_000);
    assert.equal(constraint('avg_latency<900us').limit, 900);
    assert.equal(constraint('error_rate<=0.1%').limit, 0.001);
    assert.equal(constraint('throughput>=500').limit, 500);
    assert.equal(constraint('gpu_memory<8GB').limit, 8000);
    assert.equal(constraint('gpu_utilization>=50%').limit, 50);
  });
  it("reads Model Analyzer's metric names", () => {
    assert.equal(constraint('perf_latency_p99<=10ms').metric.name, 'p99_latency');
    assert.equal(constraint('perf_throughput>=100').metric.name, 'throughput');
    assert.equal(constraint('gpu_used_memory<=4000').metric.name, 'gpu_memory');
  });
  it('refuses malformed constraints with a message naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['', /expected <metric><op><value>/],
      ['p95_latency', /expected <metric><op><value>/],
      ['p95_latency==20ms', /expected <metric><op><value>/],
      ['p95_latency<=fast', /expected <metric><op><value>/],
      ['p42_latency<1ms', /unknown metric 'p42_latency'.*Known: throughput/],
      ['p95_latency<3parsecs', /unit 'parsecs' does not fit p95_latency \(use us, ms or s\)/],
      ['throughput>=5ms', /unit 'ms' does not fit throughput/],
      ['p95_latency<=1e999ms', /is not a number/],
    ];
    for (const [text, pattern] of cases) {
      const r = parseConstraint(text);
      assert.ok('error' in r, `accepted '${text}'`);
      assert.match(r.error, pattern, text);
    }
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (s) => typeof parseConstraint(s) === 'object'));
  });
});

describe('checkConstraint', () => {
  it('passes and fails at the limit as the comparator says, with the relative excess', () => {
    const c = constraint('p95_latency<=20ms');
    assert.equal(checkConstraint(c, { p95_latency: 20_000 }).passed, true);
    const over = checkConstraint(c, { p95_latency: 30_000 });
    assert.equal(over.passed, false);
    assert.equal(over.excess, 0.5);
    assert.match(describeFailure(over), /p95_latency 30.00 ms breaks <= 20.00 ms/);
    assert.equal(checkConstraint(constraint('p95_latency<20ms'), { p95_latency: 20_000 }).passed, false);
  });
  it('a figure that was not measured fails the constraint', () => {
    const check = checkConstraint(constraint('gpu_memory<1GB'), { throughput: 5 });
    assert.equal(check.passed, false);
    assert.match(describeFailure(check), /gpu_memory not measured/);
  });
  it('only upper bounds on load-growing figures stop the load sweep', () => {
    assert.equal(
      failsForHigherLoad(checkConstraint(constraint('p95_latency<=1ms'), { p95_latency: 5000 })),
      true,
    );
    assert.equal(
      failsForHigherLoad(checkConstraint(constraint('throughput>=1000'), { throughput: 5 })),
      false,
    );
    assert.equal(
      failsForHigherLoad(checkConstraint(constraint('error_rate<=0'), { error_rate: 0.5 })),
      false,
    );
    assert.equal(
      failsForHigherLoad(checkConstraint(constraint('p95_latency<=1ms'), { p95_latency: 500 })),
      false,
    );
  });
});

describe('objectives', () => {
  it('parses names and weights, refuses unknown objectives and bad weights', () => {
    const r = parseObjective('p95_latency:0.5');
    assert.ok('value' in r && r.value.weight === 0.5 && r.value.metric.name === 'p95_latency');
    const unknown = parseObjective('happiness');
    assert.ok('error' in unknown && /unknown objective 'happiness'/.test(unknown.error));
    assert.ok('error' in parseObjective('throughput:0'));
    assert.ok('error' in parseObjective('throughput:-1'));
    assert.ok('error' in parseObjective('throughput:x'));
    assert.ok('error' in parseObjective(''));
  });
  it('scores higher-is-better up and lower-is-better down, by relative change', () => {
    const t = parseObjective('throughput');
    const l = parseObjective('p95_latency');
    assert.ok('value' in t && 'value' in l);
    const both = [t.value, l.value];
    // +10 % throughput at +10 % latency is a wash; more throughput at the same latency wins.
    const a = objectiveScore(both, { throughput: 100, p95_latency: 1000 }) as number;
    const b = objectiveScore(both, { throughput: 110, p95_latency: 1100 }) as number;
    const c = objectiveScore(both, { throughput: 110, p95_latency: 1000 }) as number;
    assert.ok(Math.abs(a - b) < 1e-9);
    assert.ok(c > a);
    assert.equal(objectiveScore(both, { throughput: 100 }), undefined);
  });
  it('a single objective orders levels as its figure does', () => {
    const t = parseObjective('throughput');
    assert.ok('value' in t);
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        (x, y) => {
          const sx = objectiveScore([t.value], { throughput: x }) as number;
          const sy = objectiveScore([t.value], { throughput: y }) as number;
          return x > y * 1.000001 && y > 1e-6 ? sx > sy : true;
        },
      ),
    );
  });
});
