/**
 * ONNX Runtime's string tensors (what a BYTES input becomes) hold NUL-free UTF-8 text: onnxruntime-node cuts
 * an element at its first NUL byte and replaces bytes that are not UTF-8 with U+FFFD (measured with an
 * Identity model: "a\0b" came back as "a"). Rather than let a model see altered data and answer 200, a BYTES
 * element it cannot hold is refused before the request is queued, with the element and the reason.
 */
import { isUtf8 } from 'node:buffer';

/** Why ORT cannot hold this element unchanged; undefined when it can. */
export function ortTextProblem(element: Uint8Array): string | undefined {
  const nul = element.indexOf(0);
  if (nul !== -1) return `holds a NUL byte at offset ${nul}`;
  if (!isUtf8(element)) return 'is not valid UTF-8';
  return undefined;
}

/** The client-facing text for an element ORT cannot hold. */
export function ortTextMessage(inputName: string, modelName: string, index: number, problem: string): string {
  return (
    `BYTES element ${index} of input '${inputName}' for model '${modelName}' ${problem}: ONNX Runtime string ` +
    'tensors carry NUL-free UTF-8 text only, so the model would receive it altered; send binary data as a UINT8 tensor'
  );
}
