/**
 * The loaded input data, before batching and encoding: streams of steps, each step one batch-1 tensor per
 * input (perf_analyzer's data model, §6). Shared by the generated, JSON and directory sources.
 */

import { OptionError } from '../errors.ts';
import type { Datatype } from '../protocol/datatypes.ts';

/** What the data sources need to know about one model input. */
export interface InputTensorSpec {
  name: string;
  datatype: Datatype;
  /** Dims WITHOUT the batch dimension; -1 = dynamic. */
  dims: number[];
  /** `optional: true` in the model config: may be absent from user data. */
  optional: boolean;
  /** `is_shape_tensor: true`: values cannot be generated. */
  shapeTensor: boolean;
}

/** One input of one step: batch-1 shape and raw little-endian bytes (BYTES length-prefixed). */
export interface StepTensor {
  datatype: Datatype;
  shape: number[];
  data: Uint8Array;
}

export type DataStep = Map<string, StepTensor>;

export interface DataSet {
  /** Where the data came from, for the run header. */
  kind: 'random' | 'zero' | 'json' | 'directory';
  /** At least one stream with at least one step. */
  streams: DataStep[][];
}

/** perf_analyzer's shape text: `[1,2,3]`. */
export function shapeText(dims: readonly number[]): string {
  return `[${dims.join(',')}]`;
}

/** True when `shape` has the model's rank and agrees with every fixed model dim. */
export function shapeCompatible(modelDims: readonly number[], shape: readonly number[]): boolean {
  return modelDims.length === shape.length && modelDims.every((d, i) => d === -1 || d === shape[i]);
}

function placeholder(index: number, rank: number): string {
  const fromEnd = rank - 1 - index;
  return fromEnd === 0 ? '<W>' : fromEnd === 1 ? '<H>' : `<D${index}>`;
}

/**
 * The shape generated data uses for an input: the model dims, or the `--shape` value when (and only when)
 * the model dims are dynamic. Throws perf_analyzer's message plus the exact flag to pass.
 */
export function resolveGeneratedShape(
  input: InputTensorSpec,
  shapes: Readonly<Record<string, number[]>>,
  modelBatches: boolean,
): number[] {
  const resolved = resolveShape(input, shapes);
  if (resolved.includes(-1)) {
    const dims = input.dims
      .map((d, i) => (d === -1 ? placeholder(i, input.dims.length) : String(d)))
      .join(',');
    const note = modelBatches ? ' (dims without the batch dimension)' : '';
    throw new OptionError(
      `input ${input.name} contains dynamic shape, provide shapes to send along with the request: pass --shape ${input.name}:${dims}${note}`,
    );
  }
  return resolved;
}

/** Model dims with `--shape` applied when the model shape is dynamic; may still hold -1. */
export function resolveShape(input: InputTensorSpec, shapes: Readonly<Record<string, number[]>>): number[] {
  const user = shapes[input.name];
  if (!input.dims.includes(-1) || !user) return [...input.dims];
  if (!shapeCompatible(input.dims, user)) {
    throw new OptionError(
      `The supplied shape of ${shapeText(user)} for input "${input.name}" is incompatible with the model's input shape of ${shapeText(input.dims)}`,
    );
  }
  return [...user];
}
