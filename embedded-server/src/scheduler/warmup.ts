/**
 * Model warmup (`model_warmup`, Triton `core:src/backend_model_instance.cc`): run per instance at load, after
 * the instance is created and before the model is READY, so that first-request costs (ORT graph
 * optimisation, allocator growth, TensorRT engine builds) are not paid by a client.
 *
 * For each sample in order: skipped when `batch_size` is 0; otherwise `batch_size` requests, each with batch
 * dim 1 (when the model batches) and the sample's `dims`, are executed together in ONE `execute` call —
 * bypassing scheduler, queue and statistics (warmup is never counted) — repeated `max(count, 1)` times.
 * Data: zeros, random bytes (BYTES falls back to zero data, i.e. 4-byte zero lengths), or the raw bytes of
 * `<modelDir>/warmup/<input_data_file>` (at least the tensor's byte size for fixed-size types; the whole
 * file, already serialized, for BYTES). One buffer per input is shared by the batch's requests.
 * A failed execution fails the load with `failed to run warmup sample '<name>': <err>; ` (the error once per
 * request of the batch, as Triton collects one error per response).
 */
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import {
  byteSizeOf,
  type Datatype,
  datatypeFromConfigEnum,
  elementCount,
} from '../../../src/protocol/datatypes.ts';
import type {
  ModelConfig,
  ModelWarmup,
  ModelWarmup_Input,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import type { ModelInstance } from '../core/types.ts';
import { MAX_WARMUP_SAMPLE_BYTES } from '../repository/config-limits.ts';
import { readFileInsideModelDir } from '../repository/contained-path.ts';

export interface WarmupOptions {
  /** Verbose log sink, e.g. `model 'm' instance m_0 is running warmup sample 'zero' for iteration 1`. */
  log?: (line: string) => void;
}

const BYTES_PREFIX_BYTES = 4;

async function inputData(
  name: string,
  input: ModelWarmup_Input,
  datatype: Datatype,
  dims: readonly number[],
  modelDir: string,
): Promise<Uint8Array> {
  const elements = elementCount(dims);
  const width = byteSizeOf(datatype);
  const byteSize = width === 0 ? elements * BYTES_PREFIX_BYTES : elements * width;
  const source = input.inputDataType;
  switch (source.case) {
    case 'zeroData':
      return new Uint8Array(byteSize);
    case 'randomData': {
      const data = new Uint8Array(byteSize);
      if (width !== 0) randomFillSync(data);
      return data;
    }
    case 'inputDataFile': {
      // Inside <model>/warmup/ only, and never more than the sample needs (BYTES: the sample byte limit).
      const file = await readFileInsideModelDir(
        modelDir,
        join(modelDir, 'warmup'),
        source.value,
        `model_warmup input '${name}' input_data_file`,
        width === 0 ? { maxBytes: MAX_WARMUP_SAMPLE_BYTES } : { maxBytes: byteSize, prefixOnly: true },
      );
      if (width === 0) return file;
      if (file.byteLength < byteSize) {
        throw new InferenceError(
          'INVALID_ARG',
          `warmup setting expects ${byteSize} bytes, but the data provided from ${source.value} only has ${file.byteLength} bytes`,
        );
      }
      return file.subarray(0, byteSize);
    }
    default:
      throw new InferenceError(
        'INVALID_ARG',
        `warmup setting expects input '${name}' to have input_data_type set`,
      );
  }
}

async function sampleInputs(config: ModelConfig, sample: ModelWarmup, modelDir: string): Promise<Tensor[]> {
  const tensors: Tensor[] = [];
  for (const [name, input] of Object.entries(sample.inputs)) {
    const dims = input.dims.map(Number);
    if (dims.some((d) => d < 0)) {
      throw new InferenceError(
        'INVALID_ARG',
        `warmup setting expects all variable-size dimensions are specified for input '${name}'`,
      );
    }
    const datatype = datatypeFromConfigEnum(input.dataType);
    if (!datatype)
      throw new InferenceError('INVALID_ARG', `warmup setting has an invalid data type for input '${name}'`);
    const data = await inputData(name, input, datatype, dims, modelDir);
    tensors.push({ name, datatype, shape: config.maxBatchSize > 0 ? [1, ...dims] : dims, data });
  }
  return tensors;
}

/** Runs every warmup sample of `config` on one instance; rejects (InferenceError) to fail the load. */
export async function runWarmup(
  config: ModelConfig,
  instance: ModelInstance,
  modelDir: string,
  options: WarmupOptions = {},
): Promise<void> {
  const outputNames = config.output.map((o) => o.name);
  for (const sample of config.modelWarmup) {
    if (sample.batchSize === 0) continue;
    const inputs = await sampleInputs(config, sample, modelDir);
    const iterations = Math.max(sample.count, 1);
    for (let k = 0; k < iterations; k++) {
      // Fresh copies per execution: an instance may take ownership of (transfer) the buffers it is given.
      const requests = Array.from({ length: sample.batchSize }, () =>
        inputs.map((t) => ({ ...t, data: Uint8Array.from(t.data) })),
      );
      options.log?.(
        `model '${config.name}' instance ${instance.name} is running warmup sample '${sample.name}' for iteration ${k + 1}`,
      );
      try {
        await instance.execute(requests, outputNames);
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        throw new InferenceError(
          'INTERNAL',
          `failed to run warmup sample '${sample.name}': ${`${text}; `.repeat(sample.batchSize)}`,
          { cause: e },
        );
      }
    }
  }
}
