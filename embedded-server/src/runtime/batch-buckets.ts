/**
 * Batch-size buckets for CUDA instances: one ORT session per bucket size, each batch zero-padded up to the
 * smallest bucket that holds it, outputs cut back to the real rows.
 *
 * Why: with ORT 1.29's CUDA execution provider a Conv session re-runs cuDNN's algorithm search (0.4–0.9 s
 * on an H200 for the PP-OCR classifier) every time the input shape differs from its previous run — it
 * does not keep the tuned result of earlier shapes. A dynamic batcher forms a new batch size almost every
 * time, so each execution paid that search (measured: `npm run bench:ort-shapes -- --device gpu`).
 * Triton users avoid it with `cudnn_conv_algo_search`, which onnxruntime-node cannot pass (it sets only
 * the device id). A session that always sees one shape searches once; padding to a few bucket sizes keeps
 * the session count small, and on a GPU a padded row costs little (batch 1 → 64: 1.45 → 2.3 ms there).
 *
 * Model parameter `inferbench.batch_buckets`: `auto` (default: powers of two below max_batch_size, plus
 * max_batch_size, on KIND_GPU instances; none on the CPU), `off`, or a list such as `1,8,32,64`.
 */
import { datatypeFromConfigEnum } from '../../../src/protocol/datatypes.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { RuntimeConfigError } from './runtime-errors.ts';
import type { BucketPlan, WarmInput } from './worker-protocol.ts';

export const BATCH_BUCKETS_PARAMETER = 'inferbench.batch_buckets';

/** Bucket sizes (ascending, last = max_batch_size) for one instance, or undefined for exact-shape runs. */
export function resolveBatchBuckets(
  parameterValue: string | undefined,
  maxBatchSize: number,
  kind: 'KIND_CPU' | 'KIND_GPU',
): number[] | undefined {
  const value = (parameterValue ?? 'auto').trim().toLowerCase();
  if (value === 'off' || value === 'none') return undefined;
  if (maxBatchSize <= 0) {
    if (value === 'auto') return undefined;
    throw new RuntimeConfigError(
      `parameter '${BATCH_BUCKETS_PARAMETER}' needs max_batch_size > 0 (the model does not batch)`,
    );
  }
  if (value === 'auto') {
    if (kind !== 'KIND_GPU') return undefined;
    const sizes: number[] = [];
    for (let b = 1; b < maxBatchSize; b *= 2) sizes.push(b);
    sizes.push(maxBatchSize);
    return sizes;
  }
  const sizes = new Set<number>();
  for (const part of value.split(',')) {
    const text = part.trim();
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > maxBatchSize) {
      throw new RuntimeConfigError(
        `parameter '${BATCH_BUCKETS_PARAMETER}' must be 'auto', 'off' or a comma-separated list of batch sizes ` +
          `between 1 and max_batch_size (${maxBatchSize}); got '${parameterValue}'`,
      );
    }
    sizes.add(n);
  }
  sizes.add(maxBatchSize);
  return [...sizes].sort((a, b) => a - b);
}

/**
 * The bucket plan of one instance of `config`: sizes from the model parameter, and zero warm inputs when
 * every input's dims are fixed (a variable dim or a reshaped input leaves warming to the first batches).
 */
export function bucketPlanFor(config: ModelConfig, kind: 'KIND_CPU' | 'KIND_GPU'): BucketPlan | undefined {
  const sizes = resolveBatchBuckets(
    config.parameters[BATCH_BUCKETS_PARAMETER]?.stringValue,
    config.maxBatchSize,
    kind,
  );
  if (!sizes) return undefined;
  const warmInputs: WarmInput[] = [];
  for (const input of config.input) {
    const datatype = datatypeFromConfigEnum(input.dataType);
    if (!datatype || input.reshape || input.optional || input.dims.some((d) => Number(d) < 0)) {
      return { sizes, warmInputs: undefined };
    }
    warmInputs.push({ name: input.name, datatype, dims: input.dims.map(Number) });
  }
  return { sizes, warmInputs };
}

/** The smallest bucket holding `rows`, or undefined when none does (run at the exact size). */
export function bucketFor(buckets: readonly number[], rows: number): number | undefined {
  for (const b of buckets) if (b >= rows) return b;
  return undefined;
}

/** Row data ORT hands back: a typed array (numbers, bigints, booleans) or a string array (BYTES). */
type RowData = {
  length: number;
  subarray?: (start: number, end: number) => unknown;
  slice: (start: number, end: number) => unknown;
};

/**
 * The first `rows` rows along dim 0 of an output's data (typed arrays as views, no copy; string arrays
 * sliced), with the matching dims. Outputs whose dim 0 is not the padded batch are returned unchanged.
 */
export function firstRows<T extends RowData>(
  data: T,
  dims: readonly number[],
  paddedRows: number,
  rows: number,
): { data: T; dims: number[] } {
  if (dims.length === 0 || dims[0] !== paddedRows || rows >= paddedRows) return { data, dims: [...dims] };
  const rowElements = paddedRows === 0 ? 0 : data.length / paddedRows;
  const end = rows * rowElements;
  const cut = (data.subarray ? data.subarray(0, end) : data.slice(0, end)) as T;
  return { data: cut, dims: [rows, ...dims.slice(1)] };
}
