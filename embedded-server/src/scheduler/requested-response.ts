/**
 * A request's response from all of a model's outputs (pure): the outputs it asked for (all when it named none),
 * in the model's output order. Used by the plain and the sequence batchers alike.
 */
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import type { InferRequest, InferResponse } from '../core/types.ts';

export function requestedResponse(
  request: InferRequest,
  outputs: readonly Tensor[],
  outputNames: readonly string[],
  modelVersion: string,
): InferResponse {
  // Outputs are few: linear scans beat building a Map and a Set per request.
  const wanted = request.outputs;
  const selected: Tensor[] = [];
  for (const name of outputNames) {
    if (wanted.length > 0 && !wanted.some((o) => o.name === name)) continue;
    const t = outputs.find((o) => o.name === name);
    if (!t) throw new InferenceError('INTERNAL', `output '${name}' was not produced by the model instance`);
    selected.push(t);
  }
  return { id: request.id, modelName: request.modelName, modelVersion, outputs: selected };
}
