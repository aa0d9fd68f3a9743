/**
 * The pure part of loading a config, in Triton's order: backend fields → normalise → model-level
 * validation → ORT autocomplete (unless disabled) → normalise → instance groups → full validation → config vs
 * ONNX graph.
 * Kept free of I/O so the load API (a config given as JSON) and tests run the same chain as the repository.
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { autofillFromOnnx, needsAutofill } from './autofill.ts';
import {
  autoCompleteBackendFields,
  type BackendFieldsContext,
  normalizeInstanceGroups,
  normalizeModelConfig,
  ONNXRUNTIME_BACKEND,
} from './normalize.ts';
import type { OnnxSignature } from './onnx-signature.ts';
import { validateModelConfig, validateModelLevel } from './validate.ts';
import { validateAgainstOnnx } from './validate-against-onnx.ts';

export interface CompleteConfigContext extends BackendFieldsContext {
  /** GPUs the server may use; empty on a CPU-only host. */
  gpuIds: readonly number[];
  /** ORT backend's default-max-batch-size; default 4. */
  defaultMaxBatchSize?: number;
  /**
   * Signature of the model's ONNX file. Without it there is nothing to autocomplete from and the config is
   * not checked against the graph.
   */
  signature?: OnnxSignature;
  /**
   * False = Triton's `--disable-auto-complete-config`: the ORT backend does not fill inputs, outputs,
   * max_batch_size or dynamic_batching from the graph, but the config is still checked against it (the
   * instance-load validation). The core's backend fields and normalisation apply regardless. Default true.
   */
  autoComplete?: boolean;
}

export interface CompletedConfig {
  config: ModelConfig;
  /** Warnings Triton would log (autofilled max_batch_size). */
  warnings: string[];
}

/** Throws ConfigError with Triton's text at the first problem. */
export function completeModelConfig(input: ModelConfig, ctx: CompleteConfigContext): CompletedConfig {
  let config = normalizeModelConfig(autoCompleteBackendFields(input, ctx));
  validateModelLevel(config);
  const warnings: string[] = [];
  const isOrt = config.backend === ONNXRUNTIME_BACKEND;
  if (isOrt && ctx.signature && ctx.autoComplete !== false && needsAutofill(config)) {
    const filled = autofillFromOnnx(config, ctx.signature, { defaultMaxBatchSize: ctx.defaultMaxBatchSize });
    warnings.push(...filled.warnings);
    config = normalizeModelConfig(filled.config);
  }
  config = normalizeInstanceGroups(config, { gpuIds: ctx.gpuIds });
  validateModelConfig(config, { gpuIds: ctx.gpuIds });
  if (isOrt && ctx.signature) validateAgainstOnnx(config, ctx.signature);
  return { config, warnings };
}
