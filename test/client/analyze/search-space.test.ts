import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { neighbours, quickStart, quickStep } from '../../../src/analyze/quick-search.ts';
import type { ConfigScore } from '../../../src/analyze/ranking.ts';
import {
  type BaseSettings,
  candidateKey,
  enumerateSpace,
  resolveSearchSpace,
  SearchSpaceError,
  type SearchSpaceSpec,
  spaceSize,
} from '../../../src/analyze/search-space.ts';

const BASE: BaseSettings = {
  maxBatchSize: 8,
  dynamicBatching: false,
  maxQueueDelayUs: 0,
  preferredBatchSize: [],
  instanceCount: 1,
  instanceKind: 'KIND_CPU',
};

describe('resolveSearchSpace', () => {
  it("keeps the model's value for every knob left out", () => {
    const space = resolveSearchSpace({}, BASE);
    const { candidates } = enumerateSpace(space);
    assert.equal(candidates.length, 1);
    assert.equal(candidateKey(candidates[0]!), 'max_batch_size=8 dynamic_batching=off instances=1xCPU');
  });
  it('refuses an empty knob, negative, fractional and huge values', () => {
    const bad: [SearchSpaceSpec, RegExp][] = [
      [{ maxBatchSize: [] }, /max_batch_size has no value/],
      [{ instanceCount: [] }, /instance count has no value/],
      [{ dynamicBatching: [] }, /dynamic_batching has no value/],
      [{ preferredBatchSize: [] }, /preferred_batch_size has no value/],
      [{ maxBatchSize: [-1] }, /max_batch_size value -1 is not an integer/],
      [{ maxBatchSize: [1.5] }, /max_batch_size value 1.5/],
      [{ instanceCount: [0] }, /instance count value 0/],
      [{ instanceCount: [1e9] }, /instance count value 1000000000/],
      [{ maxQueueDelayUs: [Number.NaN] }, /max_queue_delay_microseconds value NaN/],
      [{ preferredBatchSize: [{ sizes: [0] }] }, /preferred_batch_size value 0/],
      [{ batchBuckets: ['1,,8'] }, /batch buckets '1,,8'/],
    ];
    for (const [spec, pattern] of bad) {
      assert.throws(
        () => resolveSearchSpace(spec, BASE),
        (e: Error) => e instanceof SearchSpaceError && pattern.test(e.message),
        JSON.stringify(spec),
      );
    }
  });
});

describe('enumerateSpace', () => {
  it('collapses knobs that do not matter without dynamic batching and drops configs a server must refuse', () => {
    const space = resolveSearchSpace(
      {
        maxBatchSize: [0, 4, 16],
        dynamicBatching: [false, true],
        maxQueueDelayUs: [0, 100],
        preferredBatchSize: [{ sizes: [] }, { sizes: [8] }],
        instanceCount: [1, 2],
      },
      BASE,
    );
    const { candidates, invalid } = enumerateSpace(space, 1);
    const keys = candidates.map(candidateKey);
    assert.equal(new Set(keys).size, keys.length);
    // off: 3 batch sizes × 2 instance counts; on: mbs 4 → 2 delays × 1 preference (8 > 4), mbs 16 → 2 × 2; × 2 instances.
    assert.equal(candidates.length, 6 + (2 + 4) * 2);
    assert.ok(invalid.some((i) => /dynamic batching needs max_batch_size > 0/.test(i.reason)));
    assert.ok(invalid.some((i) => /preferred_batch_size 8 exceeds max_batch_size 4/.test(i.reason)));
    assert.ok(!keys.some((k) => /dynamic_batching=off.*delay/.test(k)));
  });
  it('leaves out configs whose max_batch_size is below the client batch size', () => {
    const space = resolveSearchSpace({ maxBatchSize: [1, 2, 4] }, BASE);
    const { candidates, invalid } = enumerateSpace(space, 4);
    assert.deepEqual(
      candidates.map((c) => c.maxBatchSize),
      [4],
    );
    assert.equal(invalid.length, 2);
  });
  it('a queue delay at max_batch_size 1 is the same config as none (every request is a full batch)', () => {
    const space = resolveSearchSpace(
      { maxBatchSize: [1, 4], dynamicBatching: [true], maxQueueDelayUs: [0, 1000, 5000] },
      BASE,
    );
    assert.deepEqual(enumerateSpace(space).candidates.map(candidateKey), [
      'max_batch_size=1 dynamic_batching=on max_queue_delay_us=0 instances=1xCPU',
      'max_batch_size=4 dynamic_batching=on max_queue_delay_us=0 instances=1xCPU',
      'max_batch_size=4 dynamic_batching=on max_queue_delay_us=1000 instances=1xCPU',
      'max_batch_size=4 dynamic_batching=on max_queue_delay_us=5000 instances=1xCPU',
    ]);
    // The climb does not measure the delay step at max_batch_size 1: that neighbour is the config itself.
    const start = [0, 0, 0, 0, 0, 0, 0];
    const measured = (key: string) =>
      key.startsWith('max_batch_size=1 ')
        ? ({ feasible: true, score: 1, violation: 0 } as unknown as ConfigScore)
        : undefined;
    const step = quickStep(space, start, measured);
    assert.equal(step.kind, 'measure');
    assert.deepEqual(step.kind === 'measure' ? step.candidates.map(candidateKey) : [], [
      'max_batch_size=4 dynamic_batching=on max_queue_delay_us=0 instances=1xCPU',
    ]);
  });
  it("'max' preferred size follows each candidate's max_batch_size", () => {
    const space = resolveSearchSpace(
      { maxBatchSize: [2, 8], dynamicBatching: [true], preferredBatchSize: ['max'] },
      BASE,
    );
    assert.deepEqual(
      enumerateSpace(space).candidates.map((c) => c.preferredBatchSize),
      [[2], [8]],
    );
  });
  it('property: every candidate is valid and distinct, and their number never exceeds the product of the knobs', () => {
    const knob = <T>(arb: fc.Arbitrary<T>) =>
      fc.option(fc.array(arb, { minLength: 1, maxLength: 4 }), { nil: undefined });
    fc.assert(
      fc.property(
        knob(fc.integer({ min: 0, max: 64 })),
        knob(fc.boolean()),
        knob(fc.integer({ min: 0, max: 5000 })),
        knob(fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 3 }).map((sizes) => ({ sizes }))),
        knob(fc.integer({ min: 1, max: 8 })),
        fc.integer({ min: 1, max: 8 }),
        (maxBatchSize, dynamicBatching, maxQueueDelayUs, preferredBatchSize, instanceCount, clientBatch) => {
          const space = resolveSearchSpace(
            { maxBatchSize, dynamicBatching, maxQueueDelayUs, preferredBatchSize, instanceCount },
            BASE,
          );
          const { candidates } = enumerateSpace(space, clientBatch);
          const keys = new Set(candidates.map(candidateKey));
          assert.equal(keys.size, candidates.length);
          assert.ok(candidates.length <= spaceSize(space));
          for (const c of candidates) {
            assert.ok(Math.max(1, c.maxBatchSize) >= clientBatch);
            if (c.dynamicBatching) {
              assert.ok(c.maxBatchSize > 0);
              assert.ok(c.preferredBatchSize.every((s) => s <= c.maxBatchSize));
            } else {
              assert.equal(c.maxQueueDelayUs, 0);
              assert.deepEqual(c.preferredBatchSize, []);
            }
          }
          // Quick search starts somewhere valid whenever brute force has anything to try.
          assert.equal(quickStart(space, clientBatch) !== undefined, candidates.length > 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('neighbours', () => {
  it('steps one knob by one value, staying inside the space', () => {
    const space = resolveSearchSpace({ maxBatchSize: [1, 2, 4], instanceCount: [1, 2] }, BASE);
    assert.deepEqual(neighbours(space, [0, 0, 0, 0, 0, 0, 0]), [
      [1, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 1, 0, 0],
    ]);
    assert.deepEqual(neighbours(space, [1, 0, 0, 0, 1, 0, 0]), [[2, 0, 0, 0, 1, 0, 0]]);
    assert.deepEqual(neighbours(space, [1, 0, 0, 0, 1, 0, 0], true), [
      [2, 0, 0, 0, 1, 0, 0],
      [0, 0, 0, 0, 1, 0, 0],
      [1, 0, 0, 0, 0, 0, 0],
    ]);
  });
});
