/**
 * `--input-data random|zero` (perf_analyzer §6.1): one stream with one step, generated once. Like perf_analyzer,
 * every non-BYTES input is a view of ONE shared buffer sized for the largest input (so a model with many
 * large inputs costs one allocation); unlike it, the bytes come from a seeded generator.
 */

import { OptionError } from '../errors.ts';
import { serializeBytesElements } from '../protocol/bytes-tensor.ts';
import { byteSizeOf, elementCount } from '../protocol/datatypes.ts';
import { type DataSet, type DataStep, type InputTensorSpec, resolveGeneratedShape } from './data-set.ts';
import { checkRequestBytes, DEFAULT_MAX_REQUEST_BYTES, tensorBytes } from './request-bytes.ts';
import { createRandom, randomBytes, randomString } from './seeded-random.ts';

export interface GeneratedDataOptions {
  kind: 'random' | 'zero';
  shapes: Readonly<Record<string, number[]>>;
  /** Length of each random BYTES element (perf_analyzer `--string-length`, default 128). */
  stringLength: number;
  /** When set, every BYTES element is this string (`--string-data`). */
  stringData?: string;
  seed: number;
  /** Bound on one request's tensor bytes (request-bytes.ts); default DEFAULT_MAX_REQUEST_BYTES. */
  maxRequestBytes?: number;
}

export function generateDataSet(
  inputs: readonly InputTensorSpec[],
  modelBatches: boolean,
  options: GeneratedDataOptions,
): DataSet {
  const shapes = new Map<string, number[]>();
  let largest = 0;
  for (const input of inputs) {
    if (input.shapeTensor) {
      throw new OptionError(
        `can not generate data for shape tensor '${input.name}', user-provided data is needed.`,
      );
    }
    const shape = resolveGeneratedShape(input, options.shapes, modelBatches);
    const elementBytes =
      input.datatype === 'BYTES'
        ? 4 +
          (options.stringData !== undefined ? Buffer.byteLength(options.stringData) : options.stringLength)
        : byteSizeOf(input.datatype);
    checkRequestBytes(
      `input ${input.name} of shape [${shape.join(',')}]`,
      tensorBytes(shape, elementBytes),
      options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    );
    shapes.set(input.name, shape);
    if (input.datatype !== 'BYTES')
      largest = Math.max(largest, elementCount(shape) * byteSizeOf(input.datatype));
  }
  const next = createRandom(options.seed);
  const shared = options.kind === 'zero' ? new Uint8Array(largest) : randomBytes(next, largest);
  const step: DataStep = new Map();
  for (const input of inputs) {
    const shape = shapes.get(input.name) as number[];
    const count = elementCount(shape);
    let data: Uint8Array;
    if (input.datatype === 'BYTES') {
      const elements: string[] = [];
      for (let i = 0; i < count; i++) {
        elements.push(options.stringData ? options.stringData : randomString(next, options.stringLength));
      }
      data = serializeBytesElements(elements);
    } else {
      data = shared.subarray(0, count * byteSizeOf(input.datatype));
    }
    step.set(input.name, { datatype: input.datatype, shape, data });
  }
  return { kind: options.kind, streams: [[step]] };
}
