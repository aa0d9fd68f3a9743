/**
 * Which requests may share a batch (Triton's "equal shape" enforcement, `RequiredEqualInputs`). At load
 * Triton picks the inputs whose config `dims` contain -1 and that are not `allow_ragged_batch`, plus shape
 * tensors (whose contents must match too); requests batch together only when those inputs have identical
 * shapes apart from the batch dim. With `optional` inputs, requests must also carry the same set of inputs.
 * Fixed-shape models skip the check. A signature is a string so equality is one comparison.
 */
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

/** `inputs → signature`; undefined when the model needs no check (every request is compatible). */
export type SignatureFn = (inputs: readonly Tensor[]) => string;

export function createSignatureFn(config: ModelConfig): SignatureFn | undefined {
  const equalShape = new Set<string>();
  const shapeTensors = new Set<string>();
  for (const input of config.input) {
    if (input.isShapeTensor) shapeTensors.add(input.name);
    else if (input.dims.some((d) => d === -1n) && !input.allowRaggedBatch) equalShape.add(input.name);
  }
  const hasOptional = config.input.some((i) => i.optional);
  if (equalShape.size === 0 && shapeTensors.size === 0 && !hasOptional) return undefined;
  const skip = config.maxBatchSize > 0 ? 1 : 0;
  return (inputs) => {
    const parts: string[] = [];
    const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const t of sorted) {
      let part = hasOptional ? t.name : '';
      if (equalShape.has(t.name) || shapeTensors.has(t.name)) {
        part = `${t.name}[${t.shape.slice(skip).join(',')}]`;
      }
      if (shapeTensors.has(t.name))
        part += Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');
      if (part !== '') parts.push(part);
    }
    return parts.join(';');
  };
}
