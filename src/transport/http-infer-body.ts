/**
 * RequestSpec → the HTTP infer request body, built once per distinct request: the binary tensor extension
 * (JSON header + raw blobs, `Inference-Header-Content-Length`) by default, plain JSON when
 * `binaryInputs` is false, with `binary_data_output` asking for binary outputs.
 */
import { JsonRaw, stringifyExactJson, type JsonWritable } from '../protocol/exact-json.ts';
import { tensorToJsonElements } from '../protocol/json-tensor.ts';
import { OptionError } from '../errors.ts';
import type { RequestSpec } from './client.ts';

export interface HttpInferBody {
  body: Uint8Array;
  /** Byte length of the JSON header when the binary extension is used; undefined for a JSON-only body. */
  jsonHeaderLength: number | undefined;
}

/** Encodes one request body (header JSON member order as tritonclient writes it). */
export function encodeHttpInferBody(spec: RequestSpec): HttpInferBody {
  const inputs = spec.inputs.map((t) => {
    if (spec.binaryInputs) {
      return { name: t.name, shape: [...t.shape], datatype: t.datatype, parameters: { binary_data_size: t.data.byteLength } };
    }
    if (t.datatype === 'FP16' || t.datatype === 'BF16') {
      throw new OptionError(`input ${t.name} is ${t.datatype}, which JSON cannot carry: use --input-tensor-format binary`);
    }
    const data = new JsonRaw(stringifyExactJson(tensorToJsonElements(t)));
    return { name: t.name, shape: [...t.shape], datatype: t.datatype, data };
  });
  const parameters: Record<string, JsonWritable> = { ...spec.parameters };
  if (spec.binaryOutputs) parameters.binary_data_output = true;
  const header: Record<string, JsonWritable> = { inputs };
  if (spec.outputs.length > 0) {
    header.outputs = spec.outputs.map((name) => ({ name, parameters: { binary_data: spec.binaryOutputs } }));
  }
  if (Object.keys(parameters).length > 0) header.parameters = parameters;
  const json = Buffer.from(stringifyExactJson(header), 'utf8');
  if (!spec.binaryInputs) return { body: json, jsonHeaderLength: undefined };
  const body = Buffer.concat([json, ...spec.inputs.map((t) => t.data)]);
  return { body, jsonHeaderLength: json.byteLength };
}
