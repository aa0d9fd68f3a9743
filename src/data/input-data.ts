/**
 * Builds the distinct requests of a run from the model's metadata and the input-data options, following
 * perf_analyzer §6: generated (random/zero), JSON file(s) or a directory, `--shape` for dynamic dims, and a
 * batch of B taking B consecutive steps. The result is the small set of `RequestSpec`s that the transport
 * pre-encodes once and then sends round robin.
 */
import { existsSync, statSync } from 'node:fs';
import { OptionError } from '../errors.ts';
import { isDatatype } from '../protocol/datatypes.ts';
import type { Tensor } from '../protocol/tensor.ts';
import type { RequestSpec } from '../transport/client.ts';
import type { ModelMetadataInfo } from '../transport/server-api.ts';
import { type DataSet, type DataStep, type InputTensorSpec, shapeText } from './data-set.ts';
import { readDirectoryDataSet } from './directory-input-data.ts';
import { generateDataSet } from './generated-data.ts';
import { readJsonDataSet } from './json-input-data.ts';
import { checkRequestBytes, DEFAULT_MAX_REQUEST_BYTES } from './request-bytes.ts';

/** The model facts input data depends on (metadata from the server plus a few config fields). */
export interface ModelInputsInfo {
  metadata: ModelMetadataInfo;
  /** Config `max_batch_size`; > 0 means metadata shapes carry a leading batch dim (-1). */
  maxBatchSize: number;
  /** Inputs with `optional: true` in the config. */
  optionalInputs?: readonly string[];
  /** Inputs with `is_shape_tensor: true` in the config. */
  shapeTensors?: readonly string[];
}

export interface InputDataOptions {
  /** 'random' | 'zero' | a JSON file | a directory; several JSON files may be given (streams appended). */
  source: string | readonly string[];
  /** From `--shape` (dims without the batch dimension); applied only to dynamic inputs. */
  shapes: Record<string, number[]>;
  stringLength: number;
  stringData?: string;
  batchSize: number;
  seed: number;
  /** Bound on one request's tensor bytes (--max-request-bytes); default DEFAULT_MAX_REQUEST_BYTES. */
  maxRequestBytes?: number;
}

/** The non-data parts of every request. */
export type RequestTemplate = Omit<RequestSpec, 'modelName' | 'inputs'>;

/** The model inputs as the data sources see them: batch dim stripped, datatypes checked. */
export function inputSpecsOf(model: ModelInputsInfo): InputTensorSpec[] {
  const optional = new Set(model.optionalInputs ?? []);
  const shapeTensors = new Set(model.shapeTensors ?? []);
  return model.metadata.inputs.map((input) => {
    if (!isDatatype(input.datatype)) {
      throw new OptionError(`input ${input.name} has datatype '${input.datatype}', which is not supported`);
    }
    return {
      name: input.name,
      datatype: input.datatype,
      dims: model.maxBatchSize > 0 ? input.shape.slice(1) : [...input.shape],
      optional: optional.has(input.name),
      shapeTensor: shapeTensors.has(input.name),
    };
  });
}

function unsupportedSource(source: string): OptionError {
  return new OptionError(
    `Failed to parse --input-data. Unsupported type provided: '${source}'. The available options are 'zero', 'random', path to a directory, or a json file.`,
  );
}

/** Loads (or generates) the data set named by `options.source`. */
export function loadDataSet(model: ModelInputsInfo, options: InputDataOptions): DataSet {
  const inputs = inputSpecsOf(model);
  const outputs = model.metadata.outputs.map((o) => o.name);
  const modelBatches = model.maxBatchSize > 0;
  const sources = typeof options.source === 'string' ? [options.source] : [...options.source];
  const first = sources[0] ?? 'random';
  if (first === 'random' || first === 'zero') {
    return generateDataSet(inputs, modelBatches, {
      kind: first,
      shapes: options.shapes,
      stringLength: options.stringLength,
      stringData: options.stringData,
      seed: options.seed,
      ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
    });
  }
  for (const s of sources) if (!existsSync(s)) throw unsupportedSource(s);
  if (statSync(first).isDirectory()) {
    return readDirectoryDataSet(first, inputs, outputs, options.shapes, modelBatches);
  }
  return readJsonDataSet(sources, inputs, outputs, options.shapes);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function batchTensor(name: string, steps: readonly DataStep[], modelBatches: boolean): Tensor | undefined {
  const parts = steps.map((s) => s.get(name));
  const present = parts.filter((p) => p !== undefined);
  if (present.length === 0) return undefined;
  if (present.length !== parts.length) {
    throw new OptionError(
      `optional input ${name} is given in only some of the steps batched into one request`,
    );
  }
  const first = present[0] as NonNullable<(typeof present)[number]>;
  for (const p of present) {
    if (shapeText(p.shape) !== shapeText(first.shape)) {
      throw new OptionError(
        `can not batch tensors with different shapes together (input ${name}: ${shapeText(first.shape)} and ${shapeText(p.shape)})`,
      );
    }
  }
  const shape = modelBatches ? [present.length, ...first.shape] : first.shape;
  if (present.length === 1) return { name, datatype: first.datatype, shape, data: first.data };
  const data = new Uint8Array(present.reduce((n, p) => n + p.data.byteLength, 0));
  let offset = 0;
  for (const p of present) {
    data.set(p.data, offset);
    offset += p.data.byteLength;
  }
  return { name, datatype: first.datatype, shape, data };
}

/**
 * The distinct requests of a non-sequence run: request k carries steps (k·B … k·B+B−1) mod N of stream 0
 * (perf_analyzer's `(data_step_id × batch_size) mod total_steps`), so there are N / gcd(N, B) of them and
 * sending them round robin reproduces perf_analyzer's data order.
 */
export function buildRequestSpecs(
  model: ModelInputsInfo,
  dataSet: DataSet,
  batchSize: number,
  template: RequestTemplate,
  maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES,
): RequestSpec[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OptionError('batch size must be > 0');
  const modelBatches = model.maxBatchSize > 0;
  if (!modelBatches && batchSize > 1) {
    throw new OptionError('can not specify batch size > 1 as the model does not support batching');
  }
  if (modelBatches && batchSize > model.maxBatchSize) {
    throw new OptionError(
      `Failed to parse -b. Batch size ${batchSize} is over the max_batch_size of model '${model.metadata.name}' (${model.maxBatchSize}): use -b ${model.maxBatchSize} or less.`,
    );
  }
  const steps = dataSet.streams[0] ?? [];
  if (steps.length === 0) throw new OptionError('the input data holds no steps');
  let stepBytes = 0;
  for (const step of steps) {
    let bytes = 0;
    for (const t of step.values()) bytes += t.data.byteLength;
    stepBytes = Math.max(stepBytes, bytes);
  }
  checkRequestBytes(`a request of batch size ${batchSize}`, stepBytes * batchSize, maxRequestBytes);
  const names = model.metadata.inputs.map((i) => i.name);
  const count = steps.length / gcd(steps.length, batchSize);
  const specs: RequestSpec[] = [];
  for (let k = 0; k < count; k++) {
    const batch: DataStep[] = [];
    for (let j = 0; j < batchSize; j++) batch.push(steps[(k * batchSize + j) % steps.length] as DataStep);
    const inputs: Tensor[] = [];
    for (const name of names) {
      const t = batchTensor(name, batch, modelBatches);
      if (t) inputs.push(t);
    }
    specs.push({ ...template, modelName: model.metadata.name, inputs });
  }
  return specs;
}

/** loadDataSet + buildRequestSpecs. */
export function createRequestSpecs(
  model: ModelInputsInfo,
  options: InputDataOptions,
  template: RequestTemplate,
): { dataSet: DataSet; specs: RequestSpec[] } {
  const dataSet = loadDataSet(model, options);
  return {
    dataSet,
    specs: buildRequestSpecs(model, dataSet, options.batchSize, template, options.maxRequestBytes),
  };
}
