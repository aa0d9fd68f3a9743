/**
 * Implicit state (`sequence_batching.state`, Triton's implicit state management): for each state the model
 * has an extra input (`input_name`) and output (`output_name`). The server keeps the state per sequence: the
 * first request of a sequence (START) gets the initial state, every later request gets the state output of
 * the request before it. Nothing of it crosses the wire.
 *
 * Initial state: `initial_state { zero_data: true }` → zeros of its dims; `initial_state { data_file: "f" }`
 * → the raw bytes of `<model dir>/initial_state/f` (Triton's layout); no `initial_state` → zeros of the
 * state's dims (which must then be fixed: a variable dim has no size to zero-fill).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import {
  byteSizeOf,
  type Datatype,
  datatypeFromConfigEnum,
  elementCount,
} from '../../../src/protocol/datatypes.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { ModelLoadError } from '../runtime/runtime-errors.ts';

/** One implicit state of a sequence model, with its initial value for one batch row. */
export interface StateSpec {
  readonly inputName: string;
  readonly outputName: string;
  readonly datatype: Datatype;
  /** The initial state of one request: shape with the batch dim of 1 when the model batches. */
  readonly initial: Tensor;
}

/** Largest initial state accepted (bytes), so that a typo in dims cannot allocate gigabytes per sequence. */
export const MAX_INITIAL_STATE_BYTES = 64 * 1024 * 1024;

function zeroBytes(datatype: Datatype, dims: readonly number[]): Uint8Array {
  const count = elementCount(dims);
  // BYTES elements are 4-byte length prefixes: zero-length strings.
  const size = datatype === 'BYTES' ? 4 * count : count * byteSizeOf(datatype);
  if (size > MAX_INITIAL_STATE_BYTES) {
    throw new ModelLoadError(`initial state of ${size} bytes exceeds ${MAX_INITIAL_STATE_BYTES} bytes`);
  }
  return new Uint8Array(size);
}

/**
 * Reads every `sequence_batching.state` of a (validated) config, with the initial state files from
 * `modelDir`. Throws ModelLoadError with what is wrong (unknown data type, variable dims without an initial
 * state, a data file outside the model's `initial_state/` directory, a file of the wrong size).
 */
export async function loadStateSpecs(config: ModelConfig, modelDir: string): Promise<StateSpec[]> {
  if (config.schedulingChoice.case !== 'sequenceBatching') return [];
  const m = config.name;
  const batchDims = config.maxBatchSize > 0 ? [1] : [];
  const specs: StateSpec[] = [];
  for (const state of config.schedulingChoice.value.state) {
    const datatype = datatypeFromConfigEnum(state.dataType);
    if (!datatype)
      throw new ModelLoadError(`state '${state.inputName}' of model '${m}' has no valid data_type`);
    const initial = state.initialState[0];
    const dims = (initial ? initial.dims : state.dims).map(Number);
    if (dims.some((d) => d < 0)) {
      throw new ModelLoadError(
        `state '${state.inputName}' of model '${m}' has variable dims [${dims.join(',')}]: give an initial_state with fixed dims`,
      );
    }
    let data: Uint8Array;
    if (initial?.stateData.case === 'dataFile') {
      const dir = resolve(modelDir, 'initial_state');
      const path = resolve(dir, initial.stateData.value);
      if (!path.startsWith(dir + sep)) {
        throw new ModelLoadError(
          `initial_state data_file '${initial.stateData.value}' of model '${m}' is outside ${join(modelDir, 'initial_state')}`,
        );
      }
      const expected = zeroBytes(datatype, dims).byteLength;
      const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
        throw new ModelLoadError(`failed to read initial state file '${path}' of model '${m}': ${e.message}`);
      });
      if (datatype !== 'BYTES' && bytes.byteLength !== expected) {
        throw new ModelLoadError(
          `initial state file '${path}' of model '${m}' holds ${bytes.byteLength} bytes, expected ${expected}`,
        );
      }
      data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } else {
      data = zeroBytes(datatype, dims);
    }
    specs.push({
      inputName: state.inputName,
      outputName: state.outputName,
      datatype,
      initial: { name: state.inputName, datatype, shape: [...batchDims, ...dims], data },
    });
  }
  return specs;
}

/** A state output row kept as the next request's state input (copied: the output buffer is a batch view). */
export function keptState(spec: StateSpec, output: Tensor): Tensor {
  return {
    name: spec.inputName,
    datatype: spec.datatype,
    shape: [...output.shape],
    data: output.data.slice(),
  };
}
