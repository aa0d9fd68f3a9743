/**
 * Triton's request normalisation (core:src/infer_request.cc `Normalize` + `ValidateRequestInputs`), as a pure
 * function of the normalised model config. It runs before a request reaches the scheduler, so its errors are
 * answered at once and never counted in statistics or metrics. Texts and their order follow Triton exactly
 * (reference §9), because clients and tests match on them.
 */

import { byteSizeOf, type Datatype, datatypeFromConfigEnum } from '../../../src/protocol/datatypes.ts';
import type { ModelConfig, ModelInput } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { ortTextMessage, ortTextProblem } from './ort-text-check.ts';
import type { InferRequest } from './types.ts';

/** What validation learns about a valid request. */
export interface RequestValidation {
  /**
   * Triton's request batch size: the shared first dimension when `max_batch_size > 0`, else 1. This is what
   * the batcher sums and what `inference_count` adds.
   */
  readonly batchSize: number;
}

/** Validates one request; throws InferenceError (INVALID_ARG) with Triton's text. */
export type RequestValidator = (request: InferRequest) => RequestValidation;

const BATCH_NOTE =
  'NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended ' +
  'to each input shape. If you want to specify the full shape including the batch dim in your input dims ' +
  'config, try setting max_batch_size to zero. See the model configuration docs for more info on ' +
  'max_batch_size.';

const BYTES_PREFIX_BYTES = 4;

/** Triton's `LogRequest()` prefix. */
export function requestIdPrefix(id: string): string {
  return `[request id: ${id === '' ? '<id_unknown>' : id}] `;
}

/** Triton's `DimsListToString`: `[-1,16]`. */
export function dimsToString(dims: readonly number[]): string {
  return `[${dims.join(',')}]`;
}

interface InputSpec {
  readonly name: string;
  readonly datatype: Datatype | undefined;
  readonly dims: readonly number[];
  readonly optional: boolean;
}

function invalid(message: string): InferenceError {
  return new InferenceError('INVALID_ARG', message);
}

function inputSpec(input: ModelInput): InputSpec {
  return {
    name: input.name,
    datatype: datatypeFromConfigEnum(input.dataType),
    dims: input.dims.map(Number),
    optional: input.optional,
  };
}

/** Element count of a shape whose dims are already known to be ≥ 0. */
/** Every dim a non-negative safe integer. */
function allDimsKnown(shape: readonly number[]): boolean {
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i] as number;
    if (!Number.isSafeInteger(d) || d < 0) return false;
  }
  return true;
}

function countElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Walks a BYTES tensor's length-prefixed elements (Triton `ValidateBytesInputs`): too many elements, a cut
 * length prefix and too few elements each get Triton's text. An element whose declared length runs past the
 * end of the data (Triton lets that through to the backend) is reported as a byte size mismatch.
 */
function validateBytesInput(tensor: Tensor, elementCount: number, modelName: string, prefix: string): void {
  const data = tensor.data;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  let checked = 0;
  while (offset < data.byteLength) {
    if (checked >= elementCount) {
      throw invalid(
        `${prefix}unexpected number of string elements ${checked + 1} for inference input '${tensor.name}' ` +
          `for model '${modelName}', expecting ${elementCount}`,
      );
    }
    if (data.byteLength - offset < BYTES_PREFIX_BYTES) {
      throw invalid(`${prefix}element byte size indicator exceeds the end of the buffer.`);
    }
    const length = view.getUint32(offset, true);
    const start = offset + BYTES_PREFIX_BYTES;
    offset = start + length;
    checked++;
    if (offset > data.byteLength) {
      throw invalid(
        `${prefix}input byte size mismatch for input '${tensor.name}' for model '${modelName}'. ` +
          `Expected ${offset}, got ${data.byteLength}`,
      );
    }
    const problem = ortTextProblem(data.subarray(start, offset));
    if (problem !== undefined) {
      throw invalid(`${prefix}${ortTextMessage(tensor.name, modelName, checked - 1, problem)}`);
    }
  }
  if (checked !== elementCount) {
    throw invalid(
      `${prefix}expected ${elementCount} string elements for inference input '${tensor.name}' ` +
        `for model '${modelName}', got ${checked}`,
    );
  }
}

function missingInputsError(
  request: InferRequest,
  specs: readonly InputSpec[],
  requiredCount: number,
  prefix: string,
): InferenceError {
  const given = new Set(request.inputs.map((t) => t.name));
  // Triton builds both lists as "[" + "'a'," … then drops the last character: an empty missing list
  // therefore prints as "]" (its "[" is dropped), while an empty given list is special-cased to "[]".
  const listed = specs
    .filter((s) => !s.optional && !given.has(s.name))
    .map((s) => `'${s.name}',`)
    .join('');
  const missing = `${`[${listed}`.slice(0, -1)}]`;
  const got = request.inputs.length === 0 ? '[]' : `[${request.inputs.map((t) => `'${t.name}'`).join(',')}]`;
  const model = request.modelName;
  const head =
    specs.length === requiredCount
      ? `expected ${specs.length} inputs`
      : `expected number of inputs between ${requiredCount} and ${specs.length}`;
  return invalid(
    `${prefix}${head} but got ${request.inputs.length} inputs for model '${model}'. Got input(s) ${got}, ` +
      `but missing required input(s) ${missing}. Please provide all required input(s).`,
  );
}

/** Up to this many inputs the duplicate check compares names pairwise (quadratic, so only for few). */
const PAIRWISE_MAX_INPUTS = 8;

/**
 * Builds the validator of one model version once (input and output tables precomputed), so the per-request
 * cost is a few map look-ups. `config` must be the normalised config.
 */
export function createRequestValidator(config: ModelConfig): RequestValidator {
  const maxBatchSize = config.maxBatchSize;
  const batching = maxBatchSize > 0;
  const specs = config.input.map(inputSpec);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const outputNames = new Set(config.output.map((o) => o.name));
  const requiredCount = specs.filter((s) => !s.optional).length;

  const specOf = (name: string, modelName: string): InputSpec => {
    const spec = byName.get(name);
    if (!spec) throw invalid(`unexpected inference input '${name}' for model '${modelName}'`);
    return spec;
  };

  return (request) => {
    const model = request.modelName;
    const prefix = requestIdPrefix(request.id);

    for (const output of request.outputs) {
      if (!outputNames.has(output.name)) {
        throw invalid(`unexpected inference output '${output.name}' for model '${model}'`);
      }
    }
    const inputs = request.inputs;
    if (inputs.length <= PAIRWISE_MAX_INPUTS) {
      // A few inputs: pairwise comparison beats building a Set per request.
      for (let i = 1; i < inputs.length; i++) {
        const name = (inputs[i] as Tensor).name;
        for (let j = 0; j < i; j++) {
          if ((inputs[j] as Tensor).name === name) throw invalid(`input '${name}' already exists in request`);
        }
      }
    } else {
      const seen = new Set<string>();
      for (const t of inputs) {
        if (seen.has(t.name)) throw invalid(`input '${t.name}' already exists in request`);
        seen.add(t.name);
      }
    }
    if (request.inputs.length > specs.length || request.inputs.length < requiredCount) {
      throw missingInputsError(request, specs, requiredCount, prefix);
    }

    let batchSize = 0;
    if (batching) {
      for (const t of request.inputs) {
        specOf(t.name, model);
        if (t.shape.length === 0) {
          throw invalid(
            `${prefix}input '${t.name}' has no shape but model requires batch dimension for '${model}'`,
          );
        }
        const first = t.shape[0] as number;
        if (batchSize === 0) batchSize = first;
        else if (first !== batchSize) {
          throw invalid(`${prefix}input '${t.name}' batch size does not match other inputs for '${model}'`);
        }
      }
      if (batchSize > maxBatchSize) {
        throw invalid(`${prefix}inference request batch-size must be <= ${maxBatchSize} for '${model}'`);
      }
    }

    for (const t of request.inputs) {
      const spec = specOf(t.name, model);
      if (t.datatype !== spec.datatype) {
        throw invalid(
          `${prefix}inference input '${t.name}' data-type is '${t.datatype}', but model '${model}' expects ` +
            `'${spec.datatype ?? 'INVALID'}'`,
        );
      }
      // The dims after the batch dim, read in place (no slice per input).
      const first = batching ? 1 : 0;
      const shape = t.shape;
      let matches = shape.length - first === spec.dims.length;
      if (matches) {
        for (let i = 0; i < spec.dims.length; i++) {
          const d = shape[i + first] as number;
          const c = spec.dims[i] as number;
          if (d === -1) {
            throw invalid(
              `${prefix}All input dimensions should be specified for input '${t.name}' for model '${model}', ` +
                `got ${dimsToString(t.shape)}`,
            );
          }
          if (c !== -1 && c !== d) {
            matches = false;
            break;
          }
        }
      }
      if (!matches) {
        const expected = batching ? [-1, ...spec.dims] : spec.dims;
        throw invalid(
          `${prefix}unexpected shape for input '${t.name}' for model '${model}'. Expected ` +
            `${dimsToString(expected)}, got ${dimsToString(t.shape)}. ${batching ? BATCH_NOTE : ''}`,
        );
      }
    }

    for (const t of request.inputs) {
      if (!allDimsKnown(t.shape)) {
        throw invalid(
          `${prefix}All input dimensions should be specified for input '${t.name}' for model '${model}', ` +
            `got ${dimsToString(t.shape)}`,
        );
      }
      const elements = countElements(t.shape);
      if (t.datatype === 'BYTES') {
        validateBytesInput(t, elements, model, prefix);
        continue;
      }
      const expectedBytes = elements * byteSizeOf(t.datatype);
      if (t.data.byteLength !== expectedBytes) {
        throw invalid(
          `${prefix}input byte size mismatch for input '${t.name}' for model '${model}'. Expected ` +
            `${expectedBytes}, got ${t.data.byteLength}`,
        );
      }
    }

    return { batchSize: batching ? batchSize : 1 };
  };
}
