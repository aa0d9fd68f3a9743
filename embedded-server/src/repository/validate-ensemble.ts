/**
 * Triton's ensemble validation (core:src/model_config_utils.cc ValidateEnsembleSchedulingConfig): the data
 * flow between steps must connect every ensemble input to every ensemble output with no dangling tensor.
 * The reference server refuses to *load* ensembles, but a repository moved from Triton should still get
 * Triton's diagnosis of a broken one first.
 */
import type { ModelConfig, ModelEnsembling } from '../../../src/protocol/gen/model_config_pb.ts';
import { invalidConfig } from './config-error.ts';
import { ENSEMBLE_PLATFORM } from './normalize.ts';

interface EnsembleTensor {
  name: string;
  isOutput: boolean;
  ready: boolean;
  prev: EnsembleTensor[];
  next: EnsembleTensor[];
}

function buildGraph(config: ModelConfig, ensemble: ModelEnsembling): Map<string, EnsembleTensor> {
  const m = config.name;
  const tensors = new Map<string, EnsembleTensor>();
  const tensor = (name: string, isOutput: boolean): EnsembleTensor => {
    const t: EnsembleTensor = { name, isOutput, ready: false, prev: [], next: [] };
    tensors.set(name, t);
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
    const produced: EnsembleTensor[] = [];
    for (const name of Object.values(step.outputMap)) {
      const existing = tensors.get(name);
      if (existing?.isOutput) {
        throw invalidConfig(
          `ensemble tensor '${name}' can appear in an output map only once for ensemble '${m}' step ${idx}`,
        );
      }
      if (existing) existing.isOutput = true;
      produced.push(existing ?? tensor(name, true));
    }
    // Map keys are unique by construction, so Triton's "mapped to multiple ensemble tensors" cannot occur here.
    for (const name of Object.values(step.inputMap)) {
      const consumed = tensors.get(name) ?? tensor(name, false);
      for (const out of produced) {
        out.prev.push(consumed);
        consumed.next.push(out);
      }
    }
  });
  return tensors;
}

function notWrittenMessage(output: EnsembleTensor, m: string): string {
  let message = `output '${output.name}' for ensemble '${m}' is not written`;
  let prev: EnsembleTensor[] | undefined = output.prev;
  let lastNotReady = output;
  const seen = new Set<string>();
  while (prev && prev.length > 0) {
    const nodes: EnsembleTensor[] = prev;
    prev = undefined;
    for (const node of nodes) {
      if (!node.ready && !seen.has(node.name)) {
        seen.add(node.name);
        lastNotReady = node;
        prev = node.prev;
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

  const tensors = buildGraph(config, ensemble);
  const queue: EnsembleTensor[] = [];
  for (const input of config.input) {
    const t = tensors.get(input.name);
    // Triton's text has the unbalanced quote.
    if (!t) throw invalidConfig(`ensemble input '${input.name}' for ensemble ${m}' is not used`);
    t.ready = true;
    queue.push(t);
  }
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of node.next) {
      if (next.ready) continue;
      next.ready = next.prev.every((p) => p.ready);
      if (next.ready) queue.push(next);
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
    if (!t.ready || t.next.length === 0)
      throw invalidConfig(`ensemble tensor '${t.name}' is unused in ensemble '${m}'`);
  }
}
