/** The compiled ensemble data flow: pruning by requested outputs, reader counts, and Triton's reshape rule. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromText } from '@bufbuild/protobuf/txtpb';
import {
  compileEnsemble,
  prunePlan,
  reshapeTensorDims,
} from '../../../embedded-server/src/scheduler/ensemble-plan.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';

// IN → a → T; T → b → OUT1; IN → c → OUT2; (T, OUT2) → d → OUT3
const CONFIG = fromText(
  ModelConfigSchema,
  `name: "e" platform: "ensemble" max_batch_size: 4
  input [ { name: "IN" data_type: TYPE_FP32 dims: [ 2 ] } ]
  output [ { name: "OUT1" data_type: TYPE_FP32 dims: [ 2 ] }, { name: "OUT2" data_type: TYPE_FP32 dims: [ 2 ] },
           { name: "OUT3" data_type: TYPE_FP32 dims: [ 2 ] } ]
  ensemble_scheduling { step [
    { model_name: "a" model_version: -1 input_map { key: "x" value: "IN" } output_map { key: "y" value: "T" } },
    { model_name: "b" model_version: 3 input_map { key: "x" value: "T" } output_map { key: "y" value: "OUT1" } },
    { model_name: "c" model_version: -1 input_map { key: "x" value: "IN" } output_map { key: "y" value: "OUT2" } },
    { model_name: "d" model_version: -1 input_map [ { key: "p" value: "T" }, { key: "q" value: "OUT2" } ]
      output_map { key: "y" value: "OUT3" } }
  ] }`,
);

describe('ensemble plan', () => {
  const plan = compileEnsemble(CONFIG);
  const id = (name: string) => plan.tensorNames.indexOf(name);

  it('compiles producers, consumers and versions', () => {
    assert.equal(plan.producer[id('IN')], -1);
    assert.equal(plan.producer[id('OUT3')], 3);
    assert.deepEqual(plan.consumers[id('IN')], [0, 2]);
    assert.deepEqual(plan.consumers[id('T')], [1, 3]);
    assert.deepEqual(
      plan.steps.map((s) => s.modelVersion),
      ['', '3', '', ''],
    );
    assert.deepEqual(plan.composingModels, ['a', 'b', 'c', 'd']);
  });

  it('all outputs: every step runs; readers count steps plus the response', () => {
    const p = prunePlan(plan, []);
    assert.deepEqual([...p.needed], [1, 1, 1, 1]);
    assert.equal(p.readers[id('IN')], 2);
    assert.equal(p.readers[id('T')], 2);
    assert.equal(p.readers[id('OUT2')], 2, 'read by d and returned');
  });

  it('one output: only its ancestors run', () => {
    assert.deepEqual([...prunePlan(plan, ['OUT1']).needed], [1, 1, 0, 0]);
    assert.deepEqual([...prunePlan(plan, ['OUT2']).needed], [0, 0, 1, 0]);
    const p = prunePlan(plan, ['OUT3']);
    assert.deepEqual([...p.needed], [1, 0, 1, 1]);
    assert.equal(p.readers[id('OUT2')], 1, 'not returned, only read by d');
    assert.equal(p.readers[id('OUT1')], 0);
  });

  it("reshapes between batching and non-batching models as Triton's ReshapeTensorDims", () => {
    // Non-batching writer (batch size 0) → batching reader: a batch dim of 1 is added when dims match.
    assert.deepEqual(reshapeTensorDims([3, -1], true, 0, [3, 5]), [1, 3, 5]);
    assert.deepEqual(reshapeTensorDims([3, -1], true, 0, [2, 3, 5]), [2, 3, 5]);
    // Batching writer with batch 1 → non-batching reader whose dims lack the batch dim: it is dropped.
    assert.deepEqual(reshapeTensorDims([3, 5], false, 1, [1, 3, 5]), [3, 5]);
    assert.deepEqual(reshapeTensorDims([-1, 3, 5], false, 1, [1, 3, 5]), [1, 3, 5]);
    assert.deepEqual(reshapeTensorDims([3, 5], false, 2, [2, 3, 5]), [2, 3, 5]);
    // Same batching on both sides: unchanged.
    assert.deepEqual(reshapeTensorDims([3], true, 4, [4, 3]), [4, 3]);
  });
});
