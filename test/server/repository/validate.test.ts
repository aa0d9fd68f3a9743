import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../embedded-server/src/repository/config-error.ts';
import { parseModelConfigText } from '../../../embedded-server/src/repository/model-config.ts';
import { normalizeInstanceGroups } from '../../../embedded-server/src/repository/normalize.ts';
import { assertServable } from '../../../embedded-server/src/repository/servable.ts';
import { ModelInstanceGroup_Kind } from '../../../src/protocol/gen/model_config_pb.ts';
import { complete, messageOf } from './helpers.ts';

const IO = `
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]`;

/** A valid ORT config named `m` plus `extra` text. */
function cfg(extra: string, mbs = 8): string {
  return `name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: ${mbs}\n${IO}\n${extra}`;
}

function io(inputExtra: string, mbs = 8): string {
  return `name: "m"\nplatform: "onnxruntime_onnx"\nmax_batch_size: ${mbs}\ninput [ { name: "IN" data_type: TYPE_FP32 ${inputExtra} } ]\noutput [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]`;
}

const RULES: [string, string, string, { gpuIds?: number[]; modelName?: string }?][] = [
  [
    'name must match the directory',
    cfg(''),
    "unexpected directory name 'other' for model 'm', directory name must equal model name",
    { modelName: 'other' },
  ],
  [
    'platform/backend pair',
    cfg('backend: "tensorrt"'),
    "unexpected 'platform' and 'backend' pair, got:onnxruntime_onnx, tensorrt",
  ],
  [
    'unknown platform without backend',
    `name: "m"\nplatform: "onnxruntime"\n${IO}`,
    "unexpected platform type 'onnxruntime' for m",
  ],
  ['negative max_batch_size', cfg('', -1), "'max_batch_size' must be non-negative value for m"],
  [
    'preferred size positive',
    cfg('dynamic_batching { preferred_batch_size: [ 0 ] }'),
    'dynamic batching preferred size must be positive for m',
  ],
  [
    'preferred size <= max',
    cfg('dynamic_batching { preferred_batch_size: [ 9 ] }'),
    'dynamic batching preferred size must be <= max batch size for m',
  ],
  [
    'preferred size with mbs 0',
    cfg('dynamic_batching { preferred_batch_size: [ 1 ] }', 0),
    'dynamic batching preferred size must be <= max batch size for m',
  ],
  [
    'default priority level range',
    cfg('dynamic_batching { priority_levels: 2 default_priority_level: 3 }'),
    'default priority level must be in range [1, 2] for m',
  ],
  [
    'priority queue policy level range',
    cfg(
      'dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 3 value: { } } }',
    ),
    'priority queue policy must have priority level in range [1, 2] for m',
  ],
  [
    'preserve_ordering with priorities',
    cfg('dynamic_batching { preserve_ordering: true priority_levels: 2 default_priority_level: 1 }'),
    "Only one priority level is allowed when 'preserve_ordering' is true for m",
  ],
  [
    'preserve_ordering with a DELAY priority policy',
    cfg(
      'dynamic_batching { preserve_ordering: true priority_levels: 1 default_priority_level: 1 priority_queue_policy { key: 1 value: { timeout_action: DELAY default_timeout_microseconds: 5 } } }',
    ),
    "Queue policy can not have DELAY as timeout action when 'preserve_ordering' is true for m",
  ],
  ['input dims required', io(''), "model input 'IN' must specify 'dims' for m"],
  [
    'input data_type required',
    `name: "m"\nplatform: "onnxruntime_onnx"\ninput [ { name: "IN" dims: [ 1 ] } ]`,
    "model input 'IN' must specify 'data_type' for m",
  ],
  [
    'input name required',
    `name: "m"\nplatform: "onnxruntime_onnx"\ninput [ { data_type: TYPE_FP32 dims: [ 1 ] } ]`,
    "model input must specify 'name' for m",
  ],
  [
    'dims >= 1 or -1',
    io('dims: [ 0 ]'),
    "model input 'IN' dimension must be integer >= 1, or -1 to indicate a variable-size dimension for m",
  ],
  [
    'reshape dims >= 1 or -1',
    io('dims: [ 4 ] reshape { shape: [ -2 ] }'),
    "model input 'IN' reshape dimensions must be integer >= 1, or -1 to indicate a variable-size dimension for m",
  ],
  [
    'reshape element count',
    io('dims: [ 2, 3 ] reshape { shape: [ 5 ] }'),
    "model input 'IN' has different size for dims and reshape for m",
  ],
  [
    'reshape variable dims count',
    io('dims: [ -1, 4 ] reshape { shape: [ -1, -1, 4 ] }'),
    "model input 'IN' has different number of variable-size dimensions for dims and reshape for m",
  ],
  [
    'reshape segment sizes',
    io('dims: [ 2, -1, 6 ] reshape { shape: [ 3, -1, 4 ] }'),
    "model input 'IN' has different size for dims and reshape for m",
  ],
  [
    'empty reshape without batching',
    io('dims: [ 1 ] reshape { shape: [ ] }', 0),
    "model input 'IN' cannot have empty reshape for non-batching model as scalar tensors are not supported for m",
  ],
  [
    'NCHW needs 3 dims',
    io('format: FORMAT_NCHW dims: [ 3, 224 ]'),
    'model input NHWC/NCHW require 3 dims for m',
  ],
  [
    'shape tensors are TensorRT only',
    io('dims: [ 4 ] is_shape_tensor: true'),
    'shape tensors are only supported for TensorRT platform for m',
  ],
  [
    'output dims',
    `name: "m"\nplatform: "onnxruntime_onnx"\ninput [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUT" data_type: TYPE_FP32 dims: [ -2 ] } ]`,
    "model output 'OUT' dimension must be integer >= 1, or -1 to indicate a variable-size dimension for m",
  ],
  [
    'KIND_CPU with gpus',
    cfg('instance_group [ { kind: KIND_CPU gpus: [ 0 ] } ]'),
    'instance group m_0 of model m has kind KIND_CPU but specifies one or more GPUs',
  ],
  [
    'KIND_GPU on a CPU host',
    cfg('instance_group [ { name: "g" kind: KIND_GPU } ]'),
    'instance group g of model m has kind KIND_GPU but no GPUs are available',
  ],
  [
    'unknown gpu id',
    cfg('instance_group [ { name: "g" kind: KIND_GPU gpus: [ 3 ] } ]'),
    'instance group g of model m specifies invalid or unsupported gpu id 3. GPUs with at least the minimum required CUDA compute compatibility of 6.000000 are: 0, 1',
    { gpuIds: [1, 0] },
  ],
  [
    'KIND_MODEL with gpus',
    cfg('instance_group [ { name: "g" kind: KIND_MODEL gpus: [ 0 ] } ]'),
    'instance group g of model m has kind KIND_MODEL but specifies one or more GPUs',
    { gpuIds: [0] },
  ],
  [
    'warmup with variable dims',
    cfg(
      'model_warmup [ { name: "w" batch_size: 1 inputs { key: "IN" value: { data_type: TYPE_FP32 dims: [ -1 ] zero_data: true } } } ]',
    ),
    "warmup setting expects all variable-size dimensions are specified for input 'IN'",
  ],
  [
    'warmup without data kind',
    cfg(
      'model_warmup [ { name: "w" batch_size: 1 inputs { key: "IN" value: { data_type: TYPE_FP32 dims: [ 4 ] } } } ]',
    ),
    "warmup setting expects input 'IN' to have input_data_type set",
  ],
  [
    'sequence control without values',
    cfg('sequence_batching { control_input [ { name: "S" control [ { kind: CONTROL_SEQUENCE_START } ] } ] }'),
    "sequence batching must specify either 'int32_false_true', 'fp32_false_true' or 'bool_false_true' for CONTROL_SEQUENCE_START for m",
  ],
  [
    'sequence CORRID type',
    cfg(
      'sequence_batching { control_input [ { name: "C" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_FP32 } ] } ] }',
    ),
    'unexpected data type for control CONTROL_SEQUENCE_CORRID for m. Allowed data types are TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 and TYPE_STRING',
  ],
  [
    'sequence batching with response cache',
    cfg('sequence_batching { }\nresponse_cache { enable: true }'),
    'Response Cache does not currently support model m with sequence batching scheduler. Please disable the response cache.',
  ],
  [
    'ensemble without steps',
    `name: "m"\nplatform: "ensemble"\nensemble_scheduling { }\n${IO}`,
    "must specify 'step' for ensemble 'm'",
  ],
  [
    'ensemble with instance groups',
    `name: "m"\nplatform: "ensemble"\ninstance_group [ { kind: KIND_CPU } ]\nensemble_scheduling { step [ { model_name: "a" input_map { key: "x" value: "IN" } output_map { key: "y" value: "OUT" } } ] }\n${IO}`,
    "instance group should not be specified for ensemble 'm'",
  ],
  [
    'ensemble output not written',
    `name: "m"\nplatform: "ensemble"\nensemble_scheduling { step [ { model_name: "a" input_map { key: "x" value: "IN" } output_map { key: "y" value: "T" } }, { model_name: "b" input_map { key: "x" value: "LOOSE" } output_map { key: "y" value: "OUT" } } ] }\n${IO}`,
    "output 'OUT' for ensemble 'm' is not written: at least one of its depending tensors, 'LOOSE', is not connected",
  ],
  [
    'batch input with two source inputs',
    cfg(
      'batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "B" data_type: TYPE_FP32 source_input: [ "IN", "IN" ] } ]',
    ),
    "batch input kind 'BATCH_ELEMENT_COUNT' expects 1 source input, got 2 for m",
  ],
  [
    'batch input of another data type (checked before its source)',
    cfg(
      'batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "B" data_type: TYPE_INT64 source_input: [ "NONE" ] } ]',
    ),
    'batch input data type must be TYPE_INT32 or TYPE_FP32 for m',
  ],
  [
    'batch input from an unknown input',
    cfg(
      'batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "B" data_type: TYPE_FP32 source_input: [ "NONE" ] } ]',
    ),
    "unknown source input name 'NONE' for m",
  ],
  [
    'batch output with no source input',
    cfg('batch_output [ { kind: BATCH_SCATTER_WITH_INPUT_SHAPE target_name: [ "OUT" ] } ]'),
    "batch output kind 'BATCH_SCATTER_WITH_INPUT_SHAPE' expects 1 source input, got 0 for m",
  ],
  [
    'ensemble platform without scheduling',
    `name: "m"\nplatform: "ensemble"\n${IO}`,
    'ensemble scheduling must be set for ensemble m whose platform is ensemble',
  ],
];

describe('validation rules (exact Triton texts)', () => {
  for (const [rule, text, expected, ctx] of RULES) {
    it(rule, () => {
      assert.equal(
        messageOf(() => complete(text, { modelName: ctx?.modelName ?? 'm', gpuIds: ctx?.gpuIds ?? [] })),
        expected,
      );
    });
  }
  it('accepts an empty reshape on a batching model (per-batch scalar) and a valid variable reshape', () => {
    assert.doesNotThrow(() => complete(io('dims: [ 1 ] reshape { shape: [ ] }'), { modelName: 'm' }));
    assert.doesNotThrow(() =>
      complete(io('dims: [ 2, 4, -1, 6 ] reshape { shape: [ 8, -1, 1, 6 ] }'), { modelName: 'm' }),
    );
  });
  it('parse errors name the file and are ConfigErrors of kind parse', () => {
    try {
      parseModelConfigText('name: "x"\nmax_batch_sise: 4\n', '/repo/x/config.pbtxt');
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.kind, 'parse');
      assert.equal(e.filePath, '/repo/x/config.pbtxt');
      assert.match(e.message, /^failed to read text proto from \/repo\/x\/config\.pbtxt: .*max_batch_sise/);
    }
  });
});

describe('normalisation', () => {
  it('names groups, resolves KIND_AUTO and defaults counts as Triton', () => {
    const text = cfg('instance_group [ { }, { name: "cpu" kind: KIND_CPU }, { kind: KIND_GPU count: 3 } ]');
    const { config } = complete(text, { modelName: 'm', gpuIds: [1, 0] });
    const groups = config.instanceGroup.map((g) => [g.name, g.kind, g.count, g.gpus]);
    assert.deepEqual(groups, [
      ['m_0', ModelInstanceGroup_Kind.GPU, 1, [0, 1]],
      ['cpu', ModelInstanceGroup_Kind.CPU, 2, []],
      ['m_2', ModelInstanceGroup_Kind.GPU, 3, [0, 1]],
    ]);
  });
  it('turns KIND_AUTO into KIND_CPU when a listed GPU is missing (validation then refuses the gpus)', () => {
    const config = parseModelConfigText(cfg('instance_group [ { gpus: [ 7 ] } ]'), 'm');
    config.backend = 'onnxruntime';
    const [group] = normalizeInstanceGroups(config, { gpuIds: [0] }).instanceGroup;
    assert.deepEqual(
      [group?.name, group?.kind, group?.count, group?.gpus],
      ['m_0', ModelInstanceGroup_Kind.CPU, 2, [7]],
    );
  });
  it('fills preferred_batch_size, version policy, sequence idle time and pinned memory', () => {
    const { config } = complete(cfg('dynamic_batching { }'), { modelName: 'm' });
    assert.deepEqual(
      config.schedulingChoice.case === 'dynamicBatching' && config.schedulingChoice.value.preferredBatchSize,
      [8],
    );
    assert.equal(config.versionPolicy?.policyChoice.case, 'latest');
    assert.equal(config.optimization?.inputPinnedMemory?.enable, true);
    assert.equal(config.optimization?.outputPinnedMemory?.enable, true);
    assert.deepEqual(
      config.instanceGroup.map((g) => [g.name, g.count]),
      [['m', 2]],
    );
    const seq = complete(cfg('sequence_batching { }'), { modelName: 'm' }).config.schedulingChoice;
    assert.equal(seq.case === 'sequenceBatching' && seq.value.maxSequenceIdleMicroseconds, 1_000_000n);
  });
});

describe('load-time refusals', () => {
  it('serves sequence batching but refuses iterative sequences with UNSUPPORTED', () => {
    assertServable(complete(cfg('sequence_batching { }'), { modelName: 'm' }).config);
    const { config } = complete(cfg('sequence_batching { iterative_sequence: true }'), { modelName: 'm' });
    try {
      assertServable(config);
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'UNSUPPORTED');
      assert.equal(
        e.message,
        "iterative sequences are not supported by inferbench's reference server: model 'm' cannot be loaded",
      );
    }
  });
});
