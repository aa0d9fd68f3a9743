/**
 * Triton's ensemble validation, in two stages as Triton runs them:
 * - {@link validateEnsembleScheduling} (core:src/model_config_utils.cc ValidateEnsembleSchedulingConfig), on
 *   the ensemble's config alone: the data flow between steps must connect every ensemble input to every
 *   ensemble output with no dangling tensor.
 * - {@link validateEnsembleComposition} (core:src/ensemble_scheduler/ensemble_utils.cc ValidateEnsembleConfig),
 *   once the composing models are loaded: every step maps exactly the composing model's inputs and outputs,
 *   each ensemble tensor has one datatype and a compatible shape wherever it is produced or consumed, and no
 *   composing model allows a smaller batch than the ensemble.
 * Both are linear in the number of steps and map entries, so a hostile config of 10,000 steps is judged fast.
 */
import {
  DataType,
  type ModelConfig,
  type ModelEnsembling,
  type ModelInput,
  type ModelOutput,
} from '../../../src/protocol/gen/model_config_pb.ts';
import { invalidConfig } from './config-error.ts';
import { ENSEMBLE_PLATFORM } from './normalize.ts';

interface FlowStep {
  inputs: FlowTensor[];
  /** Inputs not ready yet. */
  waiting: number;
}

interface FlowTensor {
  name: string;
  isOutput: boolean;
  ready: boolean;
  /** The step that writes it (none for ensemble inputs and unwritten tensors). */
  producer: FlowStep | undefined;
  consumers: FlowStep[];
  /** What the consuming steps produce, filled when a step becomes ready. */
  producedBy: Map<FlowStep, FlowTensor[]>;
}

interface FlowGraph {
  tensors: Map<string, FlowTensor>;
  outputsOf: Map<FlowStep, FlowTensor[]>;
}

function buildGraph(config: ModelConfig, ensemble: ModelEnsembling): FlowGraph {
  const m = config.name;
  const tensors = new Map<string, FlowTensor>();
  const outputsOf = new Map<FlowStep, FlowTensor[]>();
  const ensembleInputs = new Set(config.input.map((i) => i.name));
  const tensor = (name: string): FlowTensor => {
    let t = tensors.get(name);
    if (!t) {
      t = { name, isOutput: false, ready: false, producer: undefined, consumers: [], producedBy: new Map() };
      tensors.set(name, t);
    }
    return t;
  };
  ensemble.step.forEach((step, idx) => {
    if (step.modelName === '')
      throw invalidConfig(`must specify 'model_name' in step ${idx} of ensemble '${m}'`);
    if (Object.keys(step.inputMap).length === 0) {
      throw invalidConfig(`must specify 'input_map' in step ${idx} of ensemble '${m}'`);
    }
    if (Object.keys(step.outputMap).length === 0) {
      throw invalidConfig(`must specify 'output_map' in step ${idx} of ensemble '${m}'`);
    }
    const node: FlowStep = { inputs: [], waiting: 0 };
    const produced: FlowTensor[] = [];
    for (const name of Object.values(step.outputMap)) {
      // Triton lets a step overwrite an ensemble input, which makes the data flow cyclic; refuse it here.
      if (ensembleInputs.has(name)) {
        throw invalidConfig(
          `ensemble tensor '${name}' is an input of ensemble '${m}' and cannot be produced by step ${idx}`,
        );
      }
      const t = tensor(name);
      if (t.isOutput) {
        throw invalidConfig(
          `ensemble tensor '${name}' can appear in an output map only once for ensemble '${m}' step ${idx}`,
        );
      }
      t.isOutput = true;
      t.producer = node;
      produced.push(t);
    }
    // Map keys are unique by construction, so Triton's "mapped to multiple ensemble tensors" cannot occur here.
    const consumed = new Set<FlowTensor>();
    for (const name of Object.values(step.inputMap)) consumed.add(tensor(name));
    for (const t of consumed) {
      node.inputs.push(t);
      t.consumers.push(node);
    }
    node.waiting = node.inputs.length;
    outputsOf.set(node, produced);
  });
  return { tensors, outputsOf };
}

/** Triton's message, naming the first unconnected tensor found walking back from the output. */
function notWrittenMessage(output: FlowTensor, m: string): string {
  let message = `output '${output.name}' for ensemble '${m}' is not written`;
  let lastNotReady = output;
  const seen = new Set<string>();
  let prev: FlowTensor[] | undefined = output.producer?.inputs;
  while (prev && prev.length > 0) {
    const nodes: FlowTensor[] = prev;
    prev = undefined;
    for (const node of nodes) {
      if (!node.ready && !seen.has(node.name)) {
        seen.add(node.name);
        lastNotReady = node;
        prev = node.producer?.inputs;
        break;
      }
    }
  }
  if (lastNotReady.name !== output.name) {
    message += `: at least one of its depending tensors, '${lastNotReady.name}', is not connected`;
  }
  return message;
}

export function validateEnsembleScheduling(config: ModelConfig, ensemble: ModelEnsembling): void {
  const m = config.name;
  if (config.platform !== ENSEMBLE_PLATFORM) {
    throw invalidConfig(
      `ensemble scheduling cannot be set for model '${m}' whose platform is not ${ENSEMBLE_PLATFORM}`,
    );
  }
  if (config.instanceGroup.length !== 0)
    throw invalidConfig(`instance group should not be specified for ensemble '${m}'`);
  if (config.optimization) throw invalidConfig(`optimization should not be specified for ensemble '${m}'`);
  if (config.modelWarmup.length !== 0)
    throw invalidConfig(`model_warmup can not be specified for ensemble '${m}'`);
  if (ensemble.step.length === 0) throw invalidConfig(`must specify 'step' for ensemble '${m}'`);

  const { tensors, outputsOf } = buildGraph(config, ensemble);
  const queue: FlowTensor[] = [];
  for (const input of config.input) {
    const t = tensors.get(input.name);
    // Triton's text has the unbalanced quote.
    if (!t) throw invalidConfig(`ensemble input '${input.name}' for ensemble ${m}' is not used`);
    t.ready = true;
    queue.push(t);
  }
  // A tensor is ready once every input of the step writing it is; an index walk, not shift(), keeps it linear.
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] as FlowTensor;
    for (const step of node.consumers) {
      step.waiting -= 1;
      if (step.waiting !== 0) continue;
      for (const out of outputsOf.get(step) ?? []) {
        if (out.ready) continue;
        out.ready = true;
        queue.push(out);
      }
    }
  }
  const outputs = new Set<string>();
  for (const output of config.output) {
    const t = tensors.get(output.name);
    if (!t) throw invalidConfig(`ensemble output '${output.name}' for ensemble ${m}' is not used`);
    if (!t.ready) throw invalidConfig(notWrittenMessage(t, m));
    outputs.add(output.name);
  }
  for (const t of tensors.values()) {
    if (outputs.has(t.name)) continue;
    if (!t.ready || t.consumers.length === 0)
      throw invalidConfig(`ensemble tensor '${t.name}' is unused in ensemble '${m}'`);
  }
}

/** The ensemble_scheduling block of a config, if it has one. */
export function ensembleSchedulingOf(config: ModelConfig): ModelEnsembling | undefined {
  return config.schedulingChoice.case === 'ensembleScheduling' ? config.schedulingChoice.value : undefined;
}

/** Datatype and shape of an ensemble tensor as one model sees it (Triton's TensorNode). */
interface TensorView {
  model: string;
  dataType: DataType;
  dims: readonly number[];
  /** `dims` with a leading -1 when that model batches. */
  fullDims: readonly number[];
}

function viewOf(model: string, batching: boolean, dataType: DataType, dims: readonly number[]): TensorView {
  return { model, dataType, dims, fullDims: batching ? [-1, ...dims] : dims };
}

/** Triton's `CompareDimsWithWildcard`: same rank, each dim equal or either one -1. */
export function dimsMatchWithWildcard(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y && x !== -1 && y !== -1) return false;
  }
  return true;
}

const dimsText = (dims: readonly number[]): string => `[${dims.join(',')}]`;

function checkConsistent(lhs: TensorView, rhs: TensorView, prefix: string): void {
  if (lhs.dataType !== rhs.dataType) {
    throw invalidConfig(
      `${prefix}inconsistent data type: ${DataType[lhs.dataType]} is inferred from model ${lhs.model} while ` +
        `${DataType[rhs.dataType]} is inferred from model ${rhs.model}`,
    );
  }
  // A non-batching model's [-1, d...] may meet a batching model's [d...]: compare the full shapes too.
  if (!dimsMatchWithWildcard(lhs.dims, rhs.dims) && !dimsMatchWithWildcard(lhs.fullDims, rhs.fullDims)) {
    throw invalidConfig(
      `${prefix}inconsistent shape: ${dimsText(lhs.fullDims)} is inferred from model ${lhs.model} while ` +
        `${dimsText(rhs.fullDims)} is inferred from model ${rhs.model}`,
    );
  }
}

function ioDims(io: ModelInput | ModelOutput): number[] {
  return (io.reshape ? io.reshape.shape : io.dims).map(Number);
}

/**
 * Stage two: the ensemble against its composing models' (completed) configs. `composing(name)` returns the
 * config of the version a step uses. Throws ConfigError (INVALID_ARG) with Triton's texts.
 */
export function validateEnsembleComposition(
  config: ModelConfig,
  composing: (modelName: string) => ModelConfig,
): void {
  const e = config.name;
  const prefix = (tensor: string): string => `in ensemble ${e}, ensemble tensor ${tensor}: `;
  const batching = config.maxBatchSize > 0;
  const views = new Map<string, TensorView>();
  for (const input of config.input) {
    views.set(input.name, viewOf(e, batching, input.dataType, ioDims(input)));
  }
  for (const output of config.output) {
    views.set(output.name, viewOf(e, batching, output.dataType, ioDims(output)));
  }
  const merge = (tensor: string, view: TensorView): void => {
    const known = views.get(tensor);
    if (known) checkConsistent(known, view, prefix(tensor));
    else views.set(tensor, view);
  };
  for (const step of ensembleSchedulingOf(config)?.step ?? []) {
    const s = step.modelName;
    const model = composing(s);
    const stepBatching = model.maxBatchSize > 0;
    if (model.maxBatchSize !== 0 && model.maxBatchSize < config.maxBatchSize) {
      throw invalidConfig(
        `ensemble ${e} allows maximum batch size ${config.maxBatchSize}, but it contains model ${s} ` +
          `which only allows maximum batch size to be ${model.maxBatchSize}`,
      );
    }
    const inputs = new Map(model.input.map((i) => [i.name, i]));
    for (const [input, tensor] of Object.entries(step.inputMap)) {
      if (!inputs.has(input)) {
        throw invalidConfig(
          `in ensemble ${e}, ensemble tensor ${tensor} is mapping to non-existing input ${input} in model ${s}`,
        );
      }
    }
    for (const input of model.input) {
      const tensor = step.inputMap[input.name];
      if (tensor === undefined) {
        if (input.optional) continue;
        throw invalidConfig(
          `in ensemble ${e}, input ${input.name} in model ${s} is not mapped to any ensemble tensors`,
        );
      }
      merge(tensor, viewOf(s, stepBatching, input.dataType, input.dims.map(Number)));
    }
    const outputs = new Map(model.output.map((o) => [o.name, o]));
    for (const [output, tensor] of Object.entries(step.outputMap)) {
      const spec = outputs.get(output);
      if (!spec) {
        throw invalidConfig(
          `in ensemble ${e}, ensemble tensor ${tensor} is mapped from non-existing output ${output} in model ${s}`,
        );
      }
      merge(tensor, viewOf(s, stepBatching, spec.dataType, spec.dims.map(Number)));
    }
  }
}
