/**
 * The data flow of an ensemble, compiled once per loaded version (Triton's EnsembleInfo): ensemble tensors by
 * index, which step writes each and which steps read it, and — per set of requested outputs — which steps a
 * request needs at all (Triton prunes steps whose outputs nobody asked for). Pure; the scheduler runs it.
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { ensembleSchedulingOf } from '../repository/validate-ensemble.ts';

export interface StepPlan {
  readonly index: number;
  readonly modelName: string;
  /** '' = latest ready version (`model_version: -1`). */
  readonly modelVersion: string;
  /** Model input name → ensemble tensor index (one tensor may feed several inputs). */
  readonly inputs: readonly { readonly modelInput: string; readonly tensor: number }[];
  /** The distinct tensors this step reads (what it waits for). */
  readonly reads: readonly number[];
  /** Model output name → ensemble tensor index. */
  readonly outputs: readonly { readonly modelOutput: string; readonly tensor: number }[];
}

export interface EnsembleOutputPlan {
  readonly name: string;
  readonly tensor: number;
  /** The ensemble's config dims (reshape when given), without the batch dim. */
  readonly dims: readonly number[];
}

export interface EnsemblePlan {
  readonly name: string;
  readonly batching: boolean;
  readonly tensorNames: readonly string[];
  readonly steps: readonly StepPlan[];
  /** Per tensor: the steps that read it. */
  readonly consumers: readonly (readonly number[])[];
  /** Per tensor: the step that writes it, -1 for ensemble inputs. */
  readonly producer: readonly number[];
  /** Ensemble inputs: name → tensor index, and which may be omitted. */
  readonly inputs: ReadonlyMap<string, { readonly tensor: number; readonly optional: boolean }>;
  /** In config order. */
  readonly outputs: readonly EnsembleOutputPlan[];
  /** The distinct composing model names, in step order. */
  readonly composingModels: readonly string[];
}

/** Which steps one request runs and how many readers each tensor has (requested outputs count as one). */
export interface PrunedPlan {
  readonly needed: Uint8Array;
  readonly neededCount: number;
  readonly readers: Int32Array;
  /** Per tensor: 1 when it is a requested output. */
  readonly isOutput: Uint8Array;
  /** Output plans asked for, config order. */
  readonly outputs: readonly EnsembleOutputPlan[];
}

/** Compiles a (validated) ensemble config. */
export function compileEnsemble(config: ModelConfig): EnsemblePlan {
  const ids = new Map<string, number>();
  const tensorNames: string[] = [];
  const idOf = (name: string): number => {
    let id = ids.get(name);
    if (id === undefined) {
      id = tensorNames.length;
      ids.set(name, id);
      tensorNames.push(name);
    }
    return id;
  };
  const inputs = new Map<string, { tensor: number; optional: boolean }>();
  for (const input of config.input)
    inputs.set(input.name, { tensor: idOf(input.name), optional: input.optional });
  const outputs = config.output.map((o) => ({
    name: o.name,
    tensor: idOf(o.name),
    dims: (o.reshape ? o.reshape.shape : o.dims).map(Number),
  }));
  const composing = new Set<string>();
  const steps: StepPlan[] = (ensembleSchedulingOf(config)?.step ?? []).map((step, index) => {
    composing.add(step.modelName);
    const stepInputs = Object.entries(step.inputMap).map(([modelInput, tensor]) => ({
      modelInput,
      tensor: idOf(tensor),
    }));
    return {
      index,
      modelName: step.modelName,
      modelVersion: step.modelVersion < 0n ? '' : String(step.modelVersion),
      inputs: stepInputs,
      reads: [...new Set(stepInputs.map((i) => i.tensor))],
      outputs: Object.entries(step.outputMap).map(([modelOutput, tensor]) => ({
        modelOutput,
        tensor: idOf(tensor),
      })),
    };
  });
  const consumers: number[][] = tensorNames.map(() => []);
  const producer: number[] = tensorNames.map(() => -1);
  for (const step of steps) {
    for (const t of step.reads) consumers[t]?.push(step.index);
    for (const o of step.outputs) producer[o.tensor] = step.index;
  }
  return {
    name: config.name,
    batching: config.maxBatchSize > 0,
    tensorNames,
    steps,
    consumers,
    producer,
    inputs,
    outputs,
    composingModels: [...composing],
  };
}

/** The steps needed for `requested` output names (empty = all outputs), walking back from those outputs. */
export function prunePlan(plan: EnsemblePlan, requested: readonly string[]): PrunedPlan {
  const outputs =
    requested.length === 0 ? plan.outputs : plan.outputs.filter((o) => requested.includes(o.name));
  const needed = new Uint8Array(plan.steps.length);
  let neededCount = 0;
  const stack: number[] = [];
  for (const o of outputs) stack.push(o.tensor);
  const seen = new Uint8Array(plan.tensorNames.length);
  while (stack.length > 0) {
    const t = stack.pop() as number;
    if (seen[t]) continue;
    seen[t] = 1;
    const s = plan.producer[t] as number;
    if (s < 0 || needed[s]) continue;
    needed[s] = 1;
    neededCount += 1;
    for (const r of (plan.steps[s] as StepPlan).reads) stack.push(r);
  }
  const readers = new Int32Array(plan.tensorNames.length);
  for (const step of plan.steps) {
    if (!needed[step.index]) continue;
    for (const t of step.reads) readers[t] = (readers[t] as number) + 1;
  }
  const isOutput = new Uint8Array(plan.tensorNames.length);
  for (const o of outputs) {
    readers[o.tensor] = (readers[o.tensor] as number) + 1;
    isOutput[o.tensor] = 1;
  }
  return { needed, neededCount, readers, isOutput, outputs };
}

/**
 * Triton's `ReshapeTensorDims`: a tensor moving between a batching and a non-batching model gains a leading
 * batch dim of 1 (when its shape already matches the config dims) or loses a batch dim of 1 (when it does not).
 * `tensorBatchSize` is 0 for a tensor written by a non-batching model.
 */
export function reshapeTensorDims(
  configDims: readonly number[],
  configBatching: boolean,
  tensorBatchSize: number,
  dims: readonly number[],
): readonly number[] {
  if (configBatching === (tensorBatchSize !== 0)) return dims;
  if (configBatching) return sameDims(configDims, dims) ? [1, ...dims] : dims;
  if (!sameDims(configDims, dims) && tensorBatchSize === 1) return dims.slice(1);
  return dims;
}

function sameDims(config: readonly number[], dims: readonly number[]): boolean {
  if (config.length !== dims.length) return false;
  for (let i = 0; i < config.length; i++) {
    const c = config[i] as number;
    if (c !== -1 && c !== dims[i]) return false;
  }
  return true;
}
