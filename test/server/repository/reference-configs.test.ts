import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { clone, equals } from '@bufbuild/protobuf';
import { ConfigError } from '../../../embedded-server/src/repository/config-error.ts';
import { parseModelConfigText } from '../../../embedded-server/src/repository/model-config.ts';
import type { OnnxSignature } from '../../../embedded-server/src/repository/onnx-signature.ts';
import { assertServable } from '../../../embedded-server/src/repository/servable.ts';
import { type ModelConfig, ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { CONFIGS_DIR, complete, messageOf, ONNX_VERSION_DIR, readFixture } from './helpers.ts';

/** Model directory names for the examples whose config has no `name` (their upstream directory names). */
const DIR_NAMES: Record<string, string> = {
  'dynamic_batching_preferred_delay_2_cpu_instances.pbtxt': 'bert_distill_tf_cpu',
  'response_cache_enabled.pbtxt': 'identity_cache',
};
/** Upstream examples with KIND_GPU groups: validated as on a one-GPU host. */
const GPU_EXAMPLES = new Set([
  'onnx_dynamic_batching_2_gpu_instances.pbtxt',
  'onnx_graph_level_execution_mode.pbtxt',
]);

/**
 * The examples the reference server refuses to load although Triton accepts them, and why. (The openvino
 * example passes here; runtime/session-options.ts refuses its accelerator when building instances.)
 */
const REFUSED_AT_LOAD: Record<string, RegExp> = {
  'dynamic_batching_preferred_delay_2_cpu_instances.pbtxt': /^backend 'tensorflow' is not supported/,
  'model_warmup_zero_data_cpu.pbtxt': /^backend 'python' is not supported/,
  'queue_policy_timeout_reject_override.pbtxt': /^backend 'python' is not supported/,
  'optional_inputs_dynamic_batching.pbtxt': /^backend 'identity' is not supported/,
  'priority_levels_queue_policy_max_values.pbtxt': /^backend 'identity' is not supported/,
  'response_cache_enabled.pbtxt': /^backend 'identity' is not supported/,
};

describe('upstream example configs', () => {
  const files = readdirSync(CONFIGS_DIR).filter((f) => f.endsWith('.pbtxt'));

  it('finds all 17 examples', () => assert.equal(files.length, 17));

  for (const file of files) {
    it(`${file} parses, normalises and validates`, () => {
      const text = readFixture(file);
      const parsed = parseModelConfigText(text, file);
      const modelName = DIR_NAMES[file] ?? parsed.name;
      const versionDirEntries =
        file in DIR_NAMES && file.startsWith('dynamic')
          ? [{ name: 'model.savedmodel', isDirectory: true }]
          : ONNX_VERSION_DIR;
      const { config } = complete(text, {
        modelName,
        versionDirEntries,
        gpuIds: GPU_EXAMPLES.has(file) ? [0] : [],
      });
      assert.equal(config.name, modelName);
      assert.ok(config.versionPolicy, 'version policy filled');
      const refusal = REFUSED_AT_LOAD[file];
      if (refusal) {
        assert.match(
          messageOf(() => assertServable(config)),
          refusal,
        );
      } else {
        assert.doesNotThrow(() => assertServable(config));
        // An ensemble has no backend: its composing models are judged when they load.
        assert.equal(config.backend, config.platform === 'ensemble' ? '' : 'onnxruntime');
      }
    });
  }

  it('keeps uint64 extremes of priority queue policies exactly', () => {
    const { config } = complete(readFixture('priority_levels_queue_policy_max_values.pbtxt'), {
      modelName: 'max_priority_level',
    });
    assert.equal(config.schedulingChoice.case, 'dynamicBatching');
    const db = config.schedulingChoice.value as Extract<
      ModelConfig['schedulingChoice'],
      { case: 'dynamicBatching' }
    >['value'];
    assert.equal(db.priorityLevels, 18446744073709551615n);
    assert.equal(db.priorityQueuePolicy['4294967296']?.defaultTimeoutMicroseconds, 18446744073709551615n);
  });
});

/** Triton's qa replaces the `platform:` line with each platform under test; onnxruntime_onnx is ours. */
function withOnnxPlatform(text: string): string {
  return `${text.replace(/^platform:.*$/m, '')}\nplatform: "onnxruntime_onnx"\n`;
}

describe('qa invalid fixtures', () => {
  const dir = 'fixtures/invalid/';
  const cases: Record<string, () => string> = {
    default_priority_level0: () =>
      messageOf(() =>
        complete(withOnnxPlatform(readFixture(`${dir}default_priority_level0.config.pbtxt`)), {
          modelName: 'default_priority_level0',
        }),
      ),
    preserve_ordering1: () =>
      messageOf(() =>
        complete(withOnnxPlatform(readFixture(`${dir}preserve_ordering1.config.pbtxt`)), {
          modelName: 'preserve_ordering1',
        }),
      ),
    reshape_elementcount0: () =>
      messageOf(() =>
        complete(withOnnxPlatform(readFixture(`${dir}reshape_elementcount0.config.pbtxt`)), {
          modelName: 'reshape_elementcount0',
        }),
      ),
    // Autofill case: no name/platform, a model.onnx whose tensors have no batch dimension.
    onnx_bad_max_batch_size: () => {
      const signature: OnnxSignature = {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', dims: [16] },
          { name: 'INPUT1', datatype: 'INT32', dims: [16] },
        ],
        outputs: [{ name: 'OUTPUT0', datatype: 'INT32', dims: [16] }],
      };
      return messageOf(() =>
        complete(readFixture(`${dir}onnx_bad_max_batch_size.config.pbtxt`), {
          modelName: 'bad_max_batch_size',
          signature,
        }),
      );
    },
  };
  for (const [name, run] of Object.entries(cases)) {
    it(`${name} is refused with the expected text`, () => {
      // The .expected.txt files are grep patterns (\[ \] escape brackets); match them as whole-line regexes.
      const pattern = readFixture(`${dir}${name}.expected.txt`).trim();
      assert.match(run(), new RegExp(`^${pattern}$`));
    });
  }
  it('reports every refusal as a ConfigError with INVALID_ARG', () => {
    try {
      complete(withOnnxPlatform(readFixture(`${dir}preserve_ordering1.config.pbtxt`)), {
        modelName: 'preserve_ordering1',
      });
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'INVALID_ARG');
      assert.equal(e.kind, 'invalid');
      assert.equal(e.httpStatus, 400);
    }
  });
});

/** Repeated fields compared as multisets: Triton's qa accepts any order of inputs/outputs. */
function sortedIo(config: ModelConfig): ModelConfig {
  const copy = clone(ModelConfigSchema, config);
  copy.input = [...config.input].sort((a, b) => a.name.localeCompare(b.name));
  copy.output = [...config.output].sort((a, b) => a.name.localeCompare(b.name));
  return copy;
}

describe('qa autofill fixtures', () => {
  const dir = 'fixtures/autofill/';
  it('onnx_no_config: no config.pbtxt on a one-GPU host', () => {
    const signature: OnnxSignature = {
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', dims: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', dims: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT8', dims: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT8', dims: [-1, 16] },
      ],
    };
    const { config, warnings } = complete('', { modelName: 'no_config', signature, gpuIds: [0] });
    const expected = parseModelConfigText(readFixture(`${dir}onnx_no_config.expected.pbtxt`), 'expected');
    assert.ok(
      equals(ModelConfigSchema, sortedIo(config), sortedIo(expected)),
      "autofilled config equals Triton's",
    );
    assert.deepEqual(warnings, [
      "autofilled max_batch_size to 4 for model 'no_config' since batching is supporrted but no max_batch_size is specified in model configuration. Must specify max_batch_size to utilize autofill with a larger max batch size",
    ]);
  });
  it('onnx_cpu_instance: a complete config is not autocompleted, CPU count becomes 2', () => {
    const signature: OnnxSignature = {
      inputs: [{ name: 'INPUT0', datatype: 'FP16', dims: [-1, -1, -1] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP16', dims: [-1, -1, -1] }],
    };
    const { config, warnings } = complete(readFixture(`${dir}onnx_cpu_instance.config.pbtxt`), {
      modelName: 'cpu_instance',
      signature,
      gpuIds: [0],
    });
    const expected = parseModelConfigText(readFixture(`${dir}onnx_cpu_instance.expected.pbtxt`), 'expected');
    assert.ok(equals(ModelConfigSchema, config, expected));
    assert.deepEqual(warnings, []);
  });
});
