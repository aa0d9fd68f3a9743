/**
 * Model metadata as Triton builds it from the normalised config (core:src/tritonserver.cc
 * `TRITONSERVER_ServerModelMetadata`, reference §1.5): clients (perf_analyzer included) size their requests
 * from these shapes, so a leading -1 for batching models and protocol datatype strings matter.
 */
import { datatypeFromConfigEnum } from '../../../src/protocol/datatypes.ts';
import type { DataType, ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import type { ModelMetadata, TensorMetadata } from './api.ts';

function tensorMetadata(
  tensor: { name: string; dataType: DataType; dims: bigint[] },
  batching: boolean,
): TensorMetadata {
  const dims = tensor.dims.map(Number);
  return {
    name: tensor.name,
    datatype: datatypeFromConfigEnum(tensor.dataType) ?? 'INVALID',
    shape: batching ? [-1, ...dims] : dims,
  };
}

/** `versions` are the versions to list: the one asked for, or every READY one. */
export function modelMetadataFromConfig(config: ModelConfig, versions: readonly string[]): ModelMetadata {
  const batching = config.maxBatchSize > 0;
  return {
    name: config.name,
    versions: [...versions],
    platform: config.platform !== '' ? config.platform : config.backend,
    inputs: config.input.map((t) => tensorMetadata(t, batching)),
    outputs: config.output.map((t) => tensorMetadata(t, batching)),
  };
}
