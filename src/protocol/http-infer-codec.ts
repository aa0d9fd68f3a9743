/**
 * KServe-v2 REST inference bodies with Triton's binary tensor extension (reference §1.6–§1.9): JSON
 * header + concatenated binary blobs, `Inference-Header-Content-Length`, the raw binary request, and the
 * `binary_data_output` quirk. Server and load generator share it so both sides frame bytes identically.
 * Decoding never copies tensor blobs: tensors are views into the body.
 */
import { byteSizeOf, type Datatype, datatypeFromConfigEnum, elementCount, isDatatype } from './datatypes.ts';
import {
  isJsonObject,
  type JsonObject,
  JsonRaw,
  JsonSyntaxError,
  type JsonValue,
  type JsonWritable,
  parseExactJson,
  stringifyExactJson,
} from './exact-json.ts';
import type { ModelConfig } from './gen/model_config_pb.ts';
import type {
  WireInferRequest,
  WireInferResponse,
  WireParameters,
  WireRequestedOutput,
} from './infer-message.ts';
import {
  httpRequestParametersToWire,
  jsonBoolean,
  jsonScalarParameter,
  jsonUnsignedInteger,
} from './infer-parameters.ts';
import { jsonDataToTensorBytes, tensorToJsonElements } from './json-tensor.ts';
import { InferenceError } from './status.ts';
import type { Tensor } from './tensor.ts';

/** The header that splits a body into its JSON part and binary blobs. */
export const INFERENCE_HEADER = 'Inference-Header-Content-Length';
/** Triton's default --http-max-input-size (64 MiB). */
export const DEFAULT_MAX_INPUT_BYTES = 1 << 26;

const INT64_MAX_TEXT = '9223372036854775807';

function invalid(message: string): InferenceError {
  return new InferenceError('INVALID_ARG', message);
}

function missingMember(key: string): InferenceError {
  return invalid(`Unable to parse '${key}': attempt to access non-existing object member '${key}'`);
}

function jsonString(key: string, v: JsonValue | undefined): string {
  if (v === undefined) throw missingMember(key);
  if (typeof v !== 'string')
    throw invalid(`Unable to parse '${key}': attempt to access JSON non-string as string`);
  return v;
}

function jsonArray(key: string, v: JsonValue | undefined): JsonValue[] {
  if (v === undefined) throw missingMember(key);
  if (!Array.isArray(v)) throw invalid(`Unable to parse '${key}': attempt to access JSON non-array as array`);
  return v;
}

function jsonObject(key: string, v: JsonValue): JsonObject {
  if (!isJsonObject(v))
    throw invalid(`Unable to parse '${key}': attempt to access JSON non-object as object`);
  return v;
}

/**
 * Parses the `Inference-Header-Content-Length` header value with Triton's checks. Undefined when absent
 * (the whole body is JSON); 0 means a raw binary request.
 */
export function parseInferenceHeaderLength(
  value: string | undefined,
  contentLength: number,
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^[+-]?[0-9]+$/.test(trimmed)) throw invalid(`Unable to parse ${INFERENCE_HEADER}, got: ${value}`);
  const n = Number(trimmed);
  if (n < -2147483648 || n > 2147483647) {
    throw invalid(
      `Unable to parse ${INFERENCE_HEADER}, value is out of range [ -2147483648, 2147483647 ], got: ${value}`,
    );
  }
  if (n < 0 || n > contentLength) {
    throw invalid(`inference header size should be in range (0, ${contentLength}), got: ${value}`);
  }
  return n;
}

/** Options of decodeHttpInferRequest. */
export interface HttpDecodeOptions {
  /** Largest JSON tensor accepted, bytes (Triton --http-max-input-size). */
  maxInputBytes?: number;
}

function checkedElementCount(name: string, shape: readonly number[]): number {
  try {
    return elementCount(shape);
  } catch {
    throw invalid(
      `invalid shape for input '${name}': shape [${shape.join(',')}] causes total element count to exceed maximum size of ${INT64_MAX_TEXT}`,
    );
  }
}

function parseShape(v: JsonValue | undefined): number[] {
  return jsonArray('shape', v).map((d) => Number(jsonUnsignedInteger('shape', d)));
}

function parseDatatype(name: string, v: JsonValue | undefined): Datatype {
  const s = jsonString('datatype', v);
  if (!isDatatype(s)) throw invalid(`invalid datatype for input ${name}`);
  return s;
}

function parseOutputs(v: JsonValue | undefined): WireRequestedOutput[] {
  if (v === undefined) return [];
  return jsonArray('outputs', v).map((o) => {
    const out = jsonObject('outputs', o);
    const name = jsonString('name', out.name);
    const parameters: WireParameters = {};
    if (out.parameters !== undefined) {
      const params = jsonObject('parameters', out.parameters);
      for (const [key, pv] of Object.entries(params)) {
        if (key === 'binary_data') parameters[key] = jsonBoolean(key, pv);
        else if (key === 'classification') parameters[key] = jsonUnsignedInteger(key, pv);
        else parameters[key] = jsonScalarParameter(key, pv);
      }
      if (parameters.shared_memory_region !== undefined) {
        if (parameters.binary_data !== undefined) {
          throw invalid("Output can't set both 'shared_memory_region' and 'binary_data'");
        }
        if (parameters.classification !== undefined) {
          throw invalid("Output can't set both 'shared_memory_region' and 'classification'");
        }
      }
    }
    return { name, parameters };
  });
}

function parseJsonHeader(text: string): JsonObject {
  let root: JsonValue;
  try {
    root = parseExactJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw invalid(`failed to parse the request JSON buffer: ${e.reason} at ${e.offset}`);
    }
    throw e;
  }
  if (!isJsonObject(root))
    throw invalid('failed to parse the request JSON buffer: the request must be a JSON object');
  return root;
}

/**
 * Server side: decodes a JSON or JSON+binary inference body. `headerLength` is the parsed
 * `Inference-Header-Content-Length` (undefined = all JSON; 0 = raw binary, see decodeRawHttpInferRequest).
 * Throws InferenceError INVALID_ARG with Triton's texts (400; Triton itself answers 500 for JSON accessor errors).
 */
export function decodeHttpInferRequest(
  body: Uint8Array,
  headerLength: number | undefined,
  modelName: string,
  options: HttpDecodeOptions = {},
): WireInferRequest {
  if (headerLength === 0) throw invalid('a raw binary request needs the model configuration to be decoded');
  const jsonLength = headerLength ?? body.byteLength;
  if (jsonLength > body.byteLength) {
    throw invalid(`unexpected size for request JSON, expecting ${jsonLength - body.byteLength} more bytes`);
  }
  const root = parseJsonHeader(Buffer.from(body.buffer, body.byteOffset, jsonLength).toString('utf8'));
  const id = root.id === undefined ? '' : jsonString('id', root.id);
  const parameters = root.parameters === undefined ? {} : httpRequestParametersToWire(root.parameters);
  let offset = jsonLength;
  const inputs: Tensor[] = jsonArray('inputs', root.inputs).map((raw) => {
    const input = jsonObject('inputs', raw);
    const name = jsonString('name', input.name);
    const datatype = parseDatatype(name, input.datatype);
    const shape = parseShape(input.shape);
    const count = checkedElementCount(name, shape);
    const params = input.parameters === undefined ? undefined : jsonObject('parameters', input.parameters);
    const binarySize = params?.binary_data_size;
    const shmRegion = params?.shared_memory_region;
    const set: string[] = [];
    if (input.data !== undefined) set.push("'data'");
    if (binarySize !== undefined) set.push("'binary_data_size'");
    if (shmRegion !== undefined) set.push("'shared_memory_region'");
    if (set.length !== 1) {
      throw invalid(
        `Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'. But ${set.length === 0 ? 'no field is set' : `set ${set.join(' ')}`}`,
      );
    }
    if (shmRegion !== undefined) {
      throw invalid(
        `Unable to find system shared memory region: '${String(jsonScalarParameter('shared_memory_region', shmRegion))}'`,
      );
    }
    if (binarySize !== undefined) {
      const size = Number(jsonUnsignedInteger('binary_data_size', binarySize));
      if (size > body.byteLength - offset) {
        throw invalid(
          `unexpected size for input '${name}', expecting ${size} additional bytes for model '${modelName}'`,
        );
      }
      const data = body.subarray(offset, offset + size);
      offset += size;
      return { name, datatype, shape, data };
    }
    if (count === 0) return { name, datatype, shape, data: new Uint8Array(0) };
    const data = jsonDataToTensorBytes(input.data as JsonValue, datatype, shape, name, {
      maxInputBytes: options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES,
    });
    return { name, datatype, shape, data };
  });
  if (offset !== body.byteLength) throw invalid(`unexpected additional input data for model '${modelName}'`);
  return { id, parameters, inputs, outputs: parseOutputs(root.outputs) };
}

/**
 * Server side: a raw binary request (`Inference-Header-Content-Length: 0`): the whole body is the data of
 * the model's only input; the shape is deduced from the config (batch 1 for batching models) and every
 * output is returned binary (`binary_data_output`).
 */
export function decodeRawHttpInferRequest(
  body: Uint8Array,
  modelName: string,
  config: ModelConfig,
): WireInferRequest {
  if (config.input.length !== 1) {
    throw invalid(
      `Raw request must only have 1 input (found 1) to be deduced but got ${config.input.length} inputs in '${modelName}' model configuration`,
    );
  }
  const input = config.input[0] as ModelConfig['input'][number];
  const datatype = datatypeFromConfigEnum(input.dataType);
  if (datatype === undefined) throw invalid(`invalid datatype for input ${input.name}`);
  let dims = input.dims.map(Number);
  if (datatype === 'BYTES') {
    if (dims.length !== 1 || (dims[0] !== 1 && dims[0] !== -1)) {
      throw invalid(`For BYTE datatype raw input '${input.name}', the model must have input shape [1]`);
    }
    dims = [1];
  } else {
    const variable = dims.filter((d) => d < 0).length;
    if (variable > 1) {
      throw invalid(
        `The shape of the raw input '${input.name}' can not be deduced because there are more than one variable-sized dimension`,
      );
    }
    if (variable === 1) {
      const fixedBytes = dims.filter((d) => d >= 0).reduce((a, d) => a * d, byteSizeOf(datatype));
      const deduced = fixedBytes === 0 ? 0 : Math.floor(body.byteLength / fixedBytes);
      dims = dims.map((d) => (d < 0 ? deduced : d));
    }
  }
  const shape = config.maxBatchSize > 0 ? [1, ...dims] : dims;
  return {
    id: '',
    parameters: { binary_data_output: true },
    inputs: [{ name: input.name, datatype, shape, data: body }],
    outputs: [],
  };
}

/**
 * Which outputs go binary, with Triton's QUIRK: `binary_data_output` only sets the default for outputs that
 * are NOT listed; a listed output is binary only with its own `binary_data: true`.
 */
export function binaryOutputSelector(
  requested: readonly { name: string; binaryData?: boolean }[],
  binaryDataOutput: boolean,
): (name: string) => boolean {
  const listed = new Map(requested.map((o) => [o.name, o.binaryData === true]));
  return (name) => listed.get(name) ?? binaryDataOutput;
}

/** An encoded HTTP body as chunks: written one after the other, never concatenated. */
export interface EncodedHttpResponse {
  /** `Inference-Header-Content-Length` value; undefined when no output is binary. */
  headerLength: number | undefined;
  chunks: Uint8Array[];
  contentType: 'application/json' | 'application/octet-stream';
}

/**
 * Server side: response JSON in Triton's member order (id only when non-empty, model_name, model_version,
 * parameters, outputs) with binary outputs as blobs after it. The blobs are the tensors' own bytes.
 */
export function encodeHttpInferResponse(
  res: WireInferResponse,
  outputBinary: (name: string) => boolean,
): EncodedHttpResponse {
  const blobs: Uint8Array[] = [];
  const outputs = res.outputs.map((t) => {
    const base = { name: t.name, datatype: t.datatype, shape: t.shape as number[] };
    if (outputBinary(t.name)) {
      if (t.data.byteLength > 0) blobs.push(t.data);
      return { ...base, parameters: { binary_data_size: t.data.byteLength } };
    }
    return { ...base, data: new JsonRaw(stringifyExactJson(tensorToJsonElements(t))) };
  });
  const header: Record<string, JsonWritable | undefined> = {
    id: res.id === '' ? undefined : res.id,
    model_name: res.modelName,
    model_version: res.modelVersion,
    parameters: res.parameters && Object.keys(res.parameters).length > 0 ? res.parameters : undefined,
    outputs,
  };
  const json = Buffer.from(stringifyExactJson(header), 'utf8');
  const anyBinary = outputs.some((o) => 'parameters' in o);
  if (!anyBinary) return { headerLength: undefined, chunks: [json], contentType: 'application/json' };
  return { headerLength: json.byteLength, chunks: [json, ...blobs], contentType: 'application/octet-stream' };
}

/** What the load generator puts in one HTTP request. */
export interface HttpInferRequestInit {
  id?: string;
  parameters: WireParameters;
  inputs: readonly Tensor[];
  /** Outputs to ask for (names, or names with parameters); empty = all. */
  outputs: readonly (string | WireRequestedOutput)[];
  /** Send input data as binary blobs (true) or JSON `data` (false). */
  binaryInputs: boolean;
  /** Ask for binary outputs: `binary_data: true` per listed output, else `binary_data_output: true`. */
  binaryOutputs: boolean;
}

/**
 * Client side: encodes one request body once (the load generator resends the same bytes). Returns the
 * header length to send as `Inference-Header-Content-Length` when any input is binary.
 */
export function encodeHttpInferRequest(init: HttpInferRequestInit): { body: Buffer; headerLength?: number } {
  const blobs: Uint8Array[] = [];
  const inputs = init.inputs.map((t) => {
    const base = { name: t.name, shape: t.shape as number[], datatype: t.datatype };
    if (init.binaryInputs) {
      blobs.push(t.data);
      return { ...base, parameters: { binary_data_size: t.data.byteLength } };
    }
    if (t.datatype === 'FP16' || t.datatype === 'BF16') {
      throw invalid(`${t.datatype} input '${t.name}' cannot be sent as JSON; use binary inputs`);
    }
    return { ...base, data: new JsonRaw(stringifyExactJson(tensorToJsonElements(t))) };
  });
  const parameters: WireParameters = { ...init.parameters };
  const listed = init.outputs.map((o) => (typeof o === 'string' ? { name: o, parameters: {} } : o));
  if (init.binaryOutputs && listed.length === 0) parameters.binary_data_output = true;
  const outputs = listed.map((o) => ({
    name: o.name,
    parameters:
      init.binaryOutputs || Object.keys(o.parameters).length > 0
        ? { ...o.parameters, ...(init.binaryOutputs ? { binary_data: true } : {}) }
        : undefined,
  }));
  const header: Record<string, JsonWritable | undefined> = {
    id: init.id === undefined || init.id === '' ? undefined : init.id,
    parameters: Object.keys(parameters).length > 0 ? parameters : undefined,
    inputs,
    outputs: outputs.length > 0 ? outputs : undefined,
  };
  const json = Buffer.from(stringifyExactJson(header), 'utf8');
  if (!init.binaryInputs) return { body: json };
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.byteLength };
}

/** Client side: decodes a response body (JSON, or JSON + binary blobs when `headerLength` is given). */
export function decodeHttpInferResponse(body: Uint8Array, headerLength?: number): WireInferResponse {
  const jsonLength = headerLength ?? body.byteLength;
  if (jsonLength > body.byteLength)
    throw invalid(`unexpected size for response JSON, expecting ${jsonLength} bytes`);
  const root = parseJsonHeader(Buffer.from(body.buffer, body.byteOffset, jsonLength).toString('utf8'));
  if (root.error !== undefined) throw new InferenceError('UNKNOWN', String(root.error));
  let offset = jsonLength;
  const outputs = jsonArray('outputs', root.outputs ?? []).map((raw): Tensor => {
    const o = jsonObject('outputs', raw);
    const name = jsonString('name', o.name);
    const datatype = parseDatatype(name, o.datatype);
    const shape = parseShape(o.shape);
    const params = o.parameters === undefined ? undefined : jsonObject('parameters', o.parameters);
    if (params?.binary_data_size !== undefined) {
      const size = Number(jsonUnsignedInteger('binary_data_size', params.binary_data_size));
      if (size > body.byteLength - offset)
        throw invalid(`unexpected size for output '${name}', expecting ${size} bytes`);
      const data = body.subarray(offset, offset + size);
      offset += size;
      return { name, datatype, shape, data };
    }
    const count = checkedElementCount(name, shape);
    const data = count === 0 ? new Uint8Array(0) : jsonDataToTensorBytes(o.data ?? [], datatype, shape, name);
    return { name, datatype, shape, data };
  });
  const parameters =
    root.parameters === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(jsonObject('parameters', root.parameters)).map(([k, v]) => [
            k,
            jsonScalarParameter(k, v),
          ]),
        );
  return {
    id: root.id === undefined ? '' : jsonString('id', root.id),
    modelName: jsonString('model_name', root.model_name),
    modelVersion: root.model_version === undefined ? '' : jsonString('model_version', root.model_version),
    ...(parameters ? { parameters } : {}),
    outputs,
  };
}
