/**
 * Config vs ONNX graph, as Triton's ORT backend checks when it creates an instance (ValidateInputs /
 * ValidateOutputs, CompareDimsSupported): names, counts, datatypes and shapes, with Triton's texts. Config
 * input dims may be more specific than the graph's (a symbolic dim fixed in the config), never less;
 * output dims likewise (the ORT backend compares both with compare_exact = false).
 */
import { configNameOf, datatypeFromConfigEnum, datatypeInfo } from '../../../src/protocol/datatypes.ts';
import type { ModelConfig, ModelInput, ModelOutput } from '../../../src/protocol/gen/model_config_pb.ts';
import { ConfigError } from './config-error.ts';
import type { OnnxSignature, OnnxTensorSignature } from './onnx-signature.ts';

function mismatch(message: string): ConfigError {
  return new ConfigError(message, { kind: 'onnx-mismatch' });
}

/** Triton's ShapeToString: `[a,b,c]`. */
function shapeString(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** `TYPE_` + TRITONSERVER_DataTypeString: BYTES stays BYTES here (Triton prints TYPE_BYTES for strings). */
function modelTypeName(tensor: OnnxTensorSignature): string {
  return `TYPE_${tensor.datatype ?? 'INVALID'}`;
}

function configTypeName(dataType: number): string {
  const datatype = datatypeFromConfigEnum(dataType);
  return datatype === undefined ? 'TYPE_INVALID' : configNameOf(datatype);
}

/** Same rank, and every dim Triton compares is equal: all of them when exact, else those fixed in the model. */
function dimsMatch(model: readonly number[], config: readonly number[], exact: boolean): boolean {
  return (
    model.length === config.length && config.every((d, i) => (!exact && model[i] === -1) || model[i] === d)
  );
}

function compareDims(
  m: string,
  tensor: OnnxTensorSignature,
  dims: readonly number[],
  maxBatchSize: number,
  exact: boolean,
): void {
  const model = tensor.dims;
  const prefix = `model '${m}', tensor '${tensor.name}'`;
  if (maxBatchSize > 0) {
    if (model.length === 0 || model[0] !== -1) {
      throw mismatch(
        `${prefix}: for the model to support batching the shape should have at least 1 dimension and the first dimension must be -1; but shape expected by the model is ${shapeString(model)}`,
      );
    }
    const full = [-1, ...dims];
    if (!dimsMatch(model, full, exact)) {
      throw mismatch(
        `${prefix}: the model expects ${model.length} dimensions (shape ${shapeString(model)}) but the model configuration specifies ${full.length} dimensions (an initial batch dimension because max_batch_size > 0 followed by the explicit tensor shape, making complete shape ${shapeString(full)})`,
      );
    }
    return;
  }
  if (!dimsMatch(model, dims, exact)) {
    throw mismatch(
      `${prefix}: the model expects ${model.length} dimensions (shape ${shapeString(model)}) but the model configuration specifies ${dims.length} dimensions (shape ${shapeString(dims)})`,
    );
  }
}

function checkDatatype(
  m: string,
  io: ModelInput | ModelOutput,
  tensor: OnnxTensorSignature,
  what: string,
): void {
  const configType = configTypeName(io.dataType);
  const datatype = datatypeFromConfigEnum(io.dataType);
  if (datatype === undefined || datatypeInfo(datatype).ortType === undefined) {
    throw new ConfigError(`unsupported datatype ${configType} for ${what} '${io.name}' for model '${m}'`, {
      kind: 'onnx-mismatch',
      code: 'INTERNAL',
    });
  }
  if (datatype !== tensor.datatype) {
    throw mismatch(
      `unable to load model '${m}', configuration expects datatype ${configType} for ${what} '${io.name}', model provides ${modelTypeName(tensor)}`,
    );
  }
}

function checkShape(
  m: string,
  io: ModelInput | ModelOutput,
  tensor: OnnxTensorSignature,
  maxBatchSize: number,
  exact: boolean,
): void {
  const dims = (io.reshape ? io.reshape.shape : io.dims).map(Number);
  if (tensor.dims.length !== 0) {
    compareDims(m, tensor, dims, maxBatchSize, exact);
    return;
  }
  if (dims.some((d) => d !== 1)) {
    throw mismatch(
      `unable to load model '${m}', scalar tensor '${io.name}', should only provide 1 in the model configuration when the model doesn't support batching. Model configuration provided: ${shapeString(dims)}.`,
    );
  }
}

function unexpected(
  what: 'input' | 'output',
  name: string,
  allowed: readonly OnnxTensorSignature[],
): ConfigError {
  const names = [...new Set(allowed.map((t) => t.name))].sort().join(', ');
  return mismatch(`unexpected inference ${what} '${name}', allowed ${what}s are: ${names}`);
}

/** Inputs the session must have besides config inputs: batch inputs and sequence controls/states. */
function expectedInputCount(config: ModelConfig): number {
  let count = config.input.length + config.batchInput.length;
  if (config.schedulingChoice.case === 'sequenceBatching') {
    const seq = config.schedulingChoice.value;
    count += seq.controlInput.filter((c) => c.control.length > 0).length + seq.state.length;
  }
  return count;
}

export function validateAgainstOnnx(config: ModelConfig, signature: OnnxSignature): void {
  const m = config.name;
  const mbs = config.maxBatchSize;
  const expected = expectedInputCount(config);
  if (signature.inputs.length !== expected) {
    throw mismatch(
      `unable to load model '${m}', configuration expects ${expected} inputs, model provides ${signature.inputs.length}`,
    );
  }
  for (const io of config.input) {
    if (io.optional && mbs !== 0) {
      throw mismatch(
        `unable to load model '${m}', optional input '${io.name}' is not supported for models that support batching`,
      );
    }
    const tensor = signature.inputs.find((t) => t.name === io.name);
    if (!tensor) throw unexpected('input', io.name, signature.inputs);
    checkDatatype(m, io, tensor, 'input');
    if (io.optional && io.allowRaggedBatch) {
      throw mismatch(
        `unable to load model '${m}', configuration expects model provides input with shape [-1] for ragged input '${io.name}', which is not supported for optional input`,
      );
    }
    if (io.allowRaggedBatch) {
      if (tensor.dims.length !== 1 || tensor.dims[0] !== -1) {
        throw mismatch(
          `unable to load model '${m}', configuration expects model provides input with shape [-1]  for ragged input '${io.name}', model provides ${shapeString(tensor.dims)}`,
        );
      }
      continue;
    }
    checkShape(m, io, tensor, mbs, false);
  }
  const batchOutputTargets = new Set(config.batchOutput.flatMap((b) => b.targetName));
  for (const io of config.output) {
    const tensor = signature.outputs.find((t) => t.name === io.name);
    if (!tensor) throw unexpected('output', io.name, signature.outputs);
    checkDatatype(m, io, tensor, 'output');
    if (!batchOutputTargets.has(io.name)) checkShape(m, io, tensor, mbs, false);
  }
}
