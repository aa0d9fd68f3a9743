/**
 * Triton's ONNX Runtime autocomplete (onnxruntime_backend AutoCompleteConfig, §3.4): a config without
 * inputs or outputs — or no config at all — is completed from the ONNX signature. Pure: returns a new
 * config plus the warnings Triton would log.
 */
import { clone, create } from '@bufbuild/protobuf';
import { configEnumOf } from '../../../src/protocol/datatypes.ts';
import {
  DataType,
  type ModelConfig,
  ModelConfigSchema,
  ModelDynamicBatchingSchema,
  ModelInputSchema,
  ModelOutputSchema,
  ModelTensorReshapeSchema,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { ConfigError } from './config-error.ts';
import type { OnnxSignature, OnnxTensorSignature } from './onnx-signature.ts';

/** The ORT backend's `default-max-batch-size` backend config, as the core passes it. */
export const DEFAULT_AUTOFILL_MAX_BATCH_SIZE = 4;

export interface AutofillOptions {
  defaultMaxBatchSize?: number;
}

export interface AutofillResult {
  config: ModelConfig;
  /** Triton's warning lines (e.g. the autofilled max_batch_size), for the server log. */
  warnings: string[];
  /** False when the config already had inputs and outputs (Triton then skips autocomplete entirely). */
  applied: boolean;
}

/** Triton's test: the ORT backend autocompletes only when inputs (incl. batch inputs) or outputs are missing. */
export function needsAutofill(config: ModelConfig): boolean {
  return config.input.length + config.batchInput.length === 0 || config.output.length === 0;
}

/** Every input and output has a variable first dim. */
export function supportsBatching(signature: OnnxSignature): boolean {
  return [...signature.inputs, ...signature.outputs].every((t) => t.dims.length > 0 && t.dims[0] === -1);
}

function configDims(tensor: OnnxTensorSignature, maxBatchSize: number): { dims: bigint[]; scalar: boolean } {
  const dims = (maxBatchSize > 0 ? tensor.dims.slice(1) : tensor.dims).map(BigInt);
  return dims.length === 0 ? { dims: [1n], scalar: true } : { dims, scalar: false };
}

/** TYPE_INVALID for a type with no config datatype, as Triton: validation then reports the missing data_type. */
function dataTypeOf(tensor: OnnxTensorSignature): DataType {
  return tensor.datatype === undefined ? DataType.TYPE_INVALID : configEnumOf(tensor.datatype);
}

export function autofillFromOnnx(
  input: ModelConfig,
  signature: OnnxSignature,
  options: AutofillOptions = {},
): AutofillResult {
  if (!needsAutofill(input)) return { config: input, warnings: [], applied: false };
  const config = clone(ModelConfigSchema, input);
  const m = config.name;
  const warnings: string[] = [];
  const missingInputs = config.input.length + config.batchInput.length === 0;
  const missingOutputs = config.output.length === 0;

  if (supportsBatching(signature)) {
    if (config.maxBatchSize === 0) {
      config.maxBatchSize = Math.max(options.defaultMaxBatchSize ?? DEFAULT_AUTOFILL_MAX_BATCH_SIZE, 0);
      // "supporrted" is Triton's spelling.
      warnings.push(
        `autofilled max_batch_size to ${config.maxBatchSize} for model '${m}' since batching is supporrted but no max_batch_size is specified in model configuration. Must specify max_batch_size to utilize autofill with a larger max batch size`,
      );
    }
    if (config.maxBatchSize > 1 && config.schedulingChoice.case === undefined) {
      config.schedulingChoice = { case: 'dynamicBatching', value: create(ModelDynamicBatchingSchema) };
    }
  } else if (config.maxBatchSize !== 0) {
    throw new ConfigError(
      `autofill failed for model '${m}': model does not support batching while non-zero max_batch_size is specified`,
      { kind: 'autofill' },
    );
  }

  const batching = config.maxBatchSize > 0;
  if (missingInputs) {
    config.input = signature.inputs.map((t) => {
      const { dims, scalar } = configDims(t, config.maxBatchSize);
      return create(ModelInputSchema, {
        name: t.name,
        dataType: dataTypeOf(t),
        dims,
        // An empty reshape marks a per-batch scalar; without batching it would be invalid, so none is added.
        reshape: scalar && batching ? create(ModelTensorReshapeSchema) : undefined,
      });
    });
  }
  if (missingOutputs) {
    config.output = signature.outputs.map((t) => {
      const { dims, scalar } = configDims(t, config.maxBatchSize);
      return create(ModelOutputSchema, {
        name: t.name,
        dataType: dataTypeOf(t),
        dims,
        reshape: scalar && batching ? create(ModelTensorReshapeSchema) : undefined,
      });
    });
  }
  return { config, warnings, applied: true };
}
