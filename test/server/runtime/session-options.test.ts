import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { RuntimeConfigError } from '../../../embedded-server/src/runtime/runtime-errors.ts';
import {
  type InstanceKind,
  sessionOptionsFromConfig,
} from '../../../embedded-server/src/runtime/session-options.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';

const CPU = { kind: 'KIND_CPU' as InstanceKind, deviceId: 0 };
const GPU1 = { kind: 'KIND_GPU' as InstanceKind, deviceId: 1 };

function map(pbtxt: string, instance = CPU) {
  return sessionOptionsFromConfig(
    fromText(ModelConfigSchema, `name: "m"\nbackend: "onnxruntime"\n${pbtxt}`),
    instance,
  );
}

function param(key: string, value: string): string {
  return `parameters { key: "${key}" value: { string_value: "${value}" } }\n`;
}

function throwsConfig(pbtxt: string, message: string | RegExp, instance = CPU): void {
  assert.throws(
    () => map(pbtxt, instance),
    (e: unknown) => {
      assert.ok(e instanceof RuntimeConfigError, `expected RuntimeConfigError, got ${String(e)}`);
      assert.equal(e.code, 'RUNTIME_CONFIG');
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe('sessionOptionsFromConfig: session options (Triton ORT backend §8.1)', () => {
  it('defaults: all optimizations, sequential, nothing else, no EP for CPU', () => {
    const r = map('');
    assert.deepEqual(r.options, { graphOptimizationLevel: 'all', executionMode: 'sequential' });
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.cudaOptions, {});
  });

  const levels: [string, number, string][] = [
    ['-1 is BASIC in the ORT backend (not "disabled" as the proto comment says)', -1, 'basic'],
    ['1 → EXTENDED', 1, 'extended'],
    ['2 → DISABLE_ALL', 2, 'disabled'],
    ['0 → ENABLE_ALL', 0, 'all'],
    ['any other value → ENABLE_ALL', 7, 'all'],
  ];
  for (const [why, level, expected] of levels) {
    it(`optimization.graph.level ${level}: ${why}`, () => {
      assert.equal(
        map(`optimization { graph { level: ${level} } }`).options.graphOptimizationLevel,
        expected,
      );
    });
  }

  it('execution_mode "1" is parallel, "0" sequential', () => {
    assert.equal(map(param('execution_mode', '1')).options.executionMode, 'parallel');
    assert.equal(map(param('execution_mode', '0')).options.executionMode, 'sequential');
  });

  it('execution_mode other than 0/1 fails with Triton text (double space and trailing " .")', () => {
    throwsConfig(
      param('execution_mode', '2'),
      'Invalid configuration value provided. Expected values for  execution_mode are 0 or 1 but got 2 .',
    );
  });

  it('thread counts: > 0 are set, 0 keeps the ORT default, non-numbers fail', () => {
    const r = map(param('intra_op_thread_count', '3') + param('inter_op_thread_count', '2'));
    assert.equal(r.options.intraOpNumThreads, 3);
    assert.equal(r.options.interOpNumThreads, 2);
    const zero = map(param('intra_op_thread_count', '0'));
    assert.equal('intraOpNumThreads' in zero.options, false);
    throwsConfig(param('intra_op_thread_count', 'four'), /failed to convert 'four' to integral number/);
    throwsConfig(param('inter_op_thread_count', '-1'), /failed to convert '-1' to integral number/);
  });

  it('enable_mem_arena / enable_mem_pattern accept Triton booleans', () => {
    const on = map(param('enable_mem_arena', 'true') + param('enable_mem_pattern', '1'));
    assert.equal(on.options.enableCpuMemArena, true);
    assert.equal(on.options.enableMemPattern, true);
    const off = map(param('enable_mem_arena', '0') + param('enable_mem_pattern', 'False'));
    assert.equal(off.options.enableCpuMemArena, false);
    assert.equal(off.options.enableMemPattern, false);
    throwsConfig(param('enable_mem_arena', 'yes'), /failed to convert 'yes' to boolean value/);
  });

  it('session.use_device_allocator_for_initializers becomes a session config entry', () => {
    const r = map(param('session.use_device_allocator_for_initializers', '1'));
    assert.deepEqual(r.options.extra, { session: { use_device_allocator_for_initializers: '1' } });
  });

  it('session.{intra,inter}_op.allow_spinning become nested session config entries beside the others', () => {
    const r = map(
      param('session.intra_op.allow_spinning', 'off') +
        param('session.inter_op.allow_spinning', 'true') +
        param('session.use_device_allocator_for_initializers', '0'),
    );
    assert.deepEqual(r.options.extra, {
      session: {
        use_device_allocator_for_initializers: '0',
        intra_op: { allow_spinning: '0' },
        inter_op: { allow_spinning: '1' },
      },
    });
    throwsConfig(
      param('session.intra_op.allow_spinning', 'maybe'),
      /failed to convert 'maybe' to boolean value/,
    );
    assert.equal(map('').options.extra, undefined);
  });

  it('memory.enable_memory_arena_shrinkage cannot be set from Node: warned, not dropped silently', () => {
    const r = map(param('memory.enable_memory_arena_shrinkage', 'cpu:0'));
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] as string, /enable_memory_arena_shrinkage/);
  });
});

describe('sessionOptionsFromConfig: execution providers (§8.2)', () => {
  it('KIND_GPU gets the CUDA EP on the instance device', () => {
    const r = map('', GPU1);
    assert.deepEqual(r.options.executionProviders, [{ name: 'cuda', deviceId: 1 }]);
    // No parameters block: Triton injects no legacy CUDA defaults.
    assert.deepEqual(r.cudaOptions, {});
    assert.deepEqual(r.warnings, []);
  });

  it('KIND_CPU never gets a GPU EP, even with GPU accelerators configured', () => {
    const r = map(
      'optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "tensorrt" }] } }',
    );
    assert.equal(r.options.executionProviders, undefined);
  });

  it('legacy CUDA parameters and their defaults when the config has parameters', () => {
    const r = map(param('intra_op_thread_count', '1'), GPU1);
    assert.deepEqual(r.cudaOptions, {
      cudnn_conv_algo_search: 'EXHAUSTIVE',
      arena_extend_strategy: 'kNextPowerOfTwo',
      do_copy_in_default_stream: '1',
    });
    const set = map(
      param('cudnn_conv_algo_search', '1') +
        param('gpu_mem_limit', '1073741824') +
        param('arena_extend_strategy', '1') +
        param('do_copy_in_default_stream', 'false'),
      GPU1,
    );
    assert.deepEqual(set.cudaOptions, {
      cudnn_conv_algo_search: 'HEURISTIC',
      gpu_mem_limit: '1073741824',
      arena_extend_strategy: 'kSameAsRequested',
      do_copy_in_default_stream: '0',
    });
    assert.equal(
      map(param('cudnn_conv_algo_search', '2'), GPU1).cudaOptions.cudnn_conv_algo_search,
      'DEFAULT',
    );
    // onnxruntime-node passes only the device id to the CUDA EP: the rest must be reported.
    assert.equal(set.warnings.length, 1);
    assert.match(set.warnings[0] as string, /gpu_mem_limit.*cannot be passed through onnxruntime-node/);
  });

  it('invalid legacy CUDA parameter values fail', () => {
    throwsConfig(param('cudnn_conv_algo_search', '3'), /'cudnn_conv_algo_search'/, GPU1);
    throwsConfig(param('arena_extend_strategy', '2'), /'arena_extend_strategy'/, GPU1);
    throwsConfig(param('gpu_mem_limit', 'lots'), /failed to convert 'lots' to integral number/, GPU1);
    throwsConfig(
      param('do_copy_in_default_stream', 'maybe'),
      /failed to convert 'maybe' to boolean value/,
      GPU1,
    );
  });

  it('cuda accelerator parameters are merged; boolean keys are validated and normalised', () => {
    const r = map(
      `optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "cuda"
         parameters { key: "cudnn_conv_use_max_workspace" value: "true" }
         parameters { key: "tunable_op_max_tuning_duration_ms" value: "50" } }] } }`,
      GPU1,
    );
    assert.deepEqual(r.cudaOptions, {
      cudnn_conv_use_max_workspace: '1',
      tunable_op_max_tuning_duration_ms: '50',
    });
    assert.deepEqual(r.options.executionProviders, [{ name: 'cuda', deviceId: 1 }]);
    throwsConfig(
      `optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "cuda"
         parameters { key: "use_tf32" value: "sometimes" } }] } }`,
      /failed to convert 'sometimes' to boolean value/,
      GPU1,
    );
  });

  it('tensorrt is refused with an explanation unless allow_tensorrt_fallback is true', () => {
    const trt =
      'optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "tensorrt" }] } }\n';
    throwsConfig(
      trt,
      /TensorRT Execution Accelerator 'tensorrt' is requested.*no TensorRT.*allow_tensorrt_fallback/s,
      GPU1,
    );
    throwsConfig(trt + param('allow_tensorrt_fallback', 'false'), /allow_tensorrt_fallback/, GPU1);
    const r = map(trt + param('allow_tensorrt_fallback', 'true'), GPU1);
    assert.deepEqual(r.options.executionProviders, [{ name: 'cuda', deviceId: 1 }]);
    assert.ok(r.warnings.some((w) => /running on the CUDA execution provider/.test(w)));
  });

  it('tensorrt parameters are still validated with Triton texts', () => {
    const fallback = param('allow_tensorrt_fallback', 'true');
    throwsConfig(
      `optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "tensorrt"
         parameters { key: "precision_mode" value: "FP8" } }] } }\n${fallback}`,
      "unsupported precision mode 'FP8' is requested",
      GPU1,
    );
    throwsConfig(
      `optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "tensorrt"
         parameters { key: "bogus" value: "1" } }] } }\n${fallback}`,
      "unknown parameter 'bogus' is provided for TensorRT Execution Accelerator",
      GPU1,
    );
  });

  it('unknown accelerators fail with Triton text, GPU and CPU lists alike', () => {
    throwsConfig(
      'optimization { execution_accelerators { gpu_execution_accelerator: [{ name: "magic" }] } }',
      "unknown Execution Accelerator 'magic' is requested",
      GPU1,
    );
    throwsConfig(
      'optimization { execution_accelerators { cpu_execution_accelerator: [{ name: "magic" }] } }',
      "unknown Execution Accelerator 'magic' is requested",
    );
  });

  it('openvino is refused clearly on CPU and GPU instances', () => {
    const ov =
      'optimization { execution_accelerators { cpu_execution_accelerator: [{ name: "openvino" }] } }';
    throwsConfig(ov, /'openvino' is requested.*no OpenVINO execution provider/s);
    throwsConfig(ov, /OpenVINO/, GPU1);
  });
});
