/**
 * A tiny InferenceCore for transport tests: model "addsub" (INT32 [-1,4] → sum and difference), model
 * "hang" whose inferences wait for their AbortSignal, and switches for liveness and shutdown.
 */
import { create } from '@bufbuild/protobuf';
import type {
  InferenceCore,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatisticsJson,
  ServerMetadata,
} from '../../../embedded-server/src/core/api.ts';
import type { InferRequest, InferResponse } from '../../../embedded-server/src/core/types.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

const duration = (count: number, ns: number) => ({ count, ns });

function int32(t: Tensor): Int32Array {
  return new Int32Array(new Uint8Array(t.data).buffer);
}

export class FakeCore implements InferenceCore {
  live = true;
  ready = true;
  exiting = false;
  readonly requests: InferRequest[] = [];
  readonly aborted: string[] = [];
  loads: { name: string; configJson?: string }[] = [];
  unloads: { name: string; unloadDependents?: boolean }[] = [];

  isLive(): boolean {
    return this.live;
  }
  isReady(): boolean {
    return this.ready;
  }
  isExiting(): boolean {
    return this.exiting;
  }
  serverMetadata(): ServerMetadata {
    return { name: 'inferbench', version: '0.1.0', extensions: ['binary_tensor_data', 'statistics'] };
  }
  private resolve(name: string, version: string): void {
    if (name !== 'addsub' && name !== 'hang') {
      throw new InferenceError('NOT_FOUND', `Request for unknown model: '${name}' is not found`);
    }
    if (version !== '' && version !== '1') {
      throw new InferenceError(
        'NOT_FOUND',
        `Request for unknown model: '${name}' version ${version} is not found`,
      );
    }
  }
  modelMetadata(name: string, version: string): ModelMetadata {
    this.resolve(name, version);
    const t = (n: string) => ({ name: n, datatype: 'INT32', shape: [-1, 4] });
    return {
      name,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [t('INPUT0'), t('INPUT1')],
      outputs: [t('OUTPUT0'), t('OUTPUT1')],
    };
  }
  modelReady(name: string, version: string): boolean {
    this.resolve(name, version);
    return name === 'addsub';
  }
  modelConfig(name: string, version: string): ModelConfig {
    this.resolve(name, version);
    return create(ModelConfigSchema, {
      name,
      platform: 'onnxruntime_onnx',
      maxBatchSize: 8,
      input: [{ name: 'INPUT0', dataType: 8, dims: [4n] }],
      output: [{ name: 'OUTPUT0', dataType: 8, dims: [4n] }],
    });
  }
  modelStatistics(name: string, version: string): ModelStatisticsJson[] {
    if (name !== '' && name !== 'addsub') {
      throw new InferenceError('INVALID_ARG', `requested model '${name}' is not available`);
    }
    void version;
    return [
      {
        name: 'addsub',
        version: '1',
        last_inference: 1700000000000,
        inference_count: 3,
        execution_count: 2,
        inference_stats: {
          success: duration(3, 3000),
          fail: duration(0, 0),
          queue: duration(3, 300),
          compute_input: duration(3, 30),
          compute_infer: duration(3, 3),
          compute_output: duration(3, 33),
          cache_hit: duration(0, 0),
          cache_miss: duration(0, 0),
        },
        response_stats: {},
        batch_stats: [
          {
            batch_size: 1,
            compute_input: duration(2, 20),
            compute_infer: duration(2, 2),
            compute_output: duration(2, 22),
          },
        ],
        memory_usage: [],
      },
    ];
  }
  async infer(request: InferRequest): Promise<InferResponse> {
    this.requests.push(request);
    this.resolve(request.modelName, request.modelVersion);
    if (request.modelName === 'hang') {
      await new Promise<void>((resolve) => {
        if (request.signal?.aborted) resolve();
        request.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      this.aborted.push(request.id);
      throw new InferenceError('CANCELLED', 'request cancelled');
    }
    const delayMs = Number(request.parameters.delay_ms ?? 0);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (request.parameters.fail === true) {
      throw new InferenceError(
        'UNAVAILABLE',
        `[request id: ${request.id || '<id_unknown>'}] Exceeds maximum queue size`,
      );
    }
    const [a, b] = request.inputs as [Tensor, Tensor];
    const x = int32(a);
    const y = int32(b);
    const sum = x.map((v, i) => v + (y[i] as number));
    const diff = x.map((v, i) => v - (y[i] as number));
    const all: Tensor[] = [
      { name: 'OUTPUT0', datatype: 'INT32', shape: a.shape, data: new Uint8Array(sum.buffer) },
      { name: 'OUTPUT1', datatype: 'INT32', shape: a.shape, data: new Uint8Array(diff.buffer) },
    ];
    const wanted = request.outputs.map((o) => o.name);
    return {
      id: request.id,
      modelName: request.modelName,
      modelVersion: '1',
      outputs: wanted.length ? all.filter((t) => wanted.includes(t.name)) : all,
    };
  }
  repositoryIndex(readyOnly: boolean): ModelIndexEntry[] {
    const all: ModelIndexEntry[] = [
      { name: 'addsub', version: '1', state: 'READY' },
      { name: 'hang', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'never' },
    ];
    return readyOnly ? all.filter((e) => e.state === 'READY') : all;
  }
  async loadModel(name: string, options?: { configJson?: string }): Promise<void> {
    this.loads.push({ name, ...options });
  }
  async unloadModel(name: string, options?: { unloadDependents?: boolean }): Promise<void> {
    this.unloads.push({ name, ...options });
  }
}

/** INT32 tensor helper. */
export function int32Tensor(name: string, values: number[]): Tensor {
  return {
    name,
    datatype: 'INT32',
    shape: [1, values.length],
    data: new Uint8Array(new Int32Array(values).buffer),
  };
}
