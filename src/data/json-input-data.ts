/**
 * `--input-data file.json` (perf_analyzer §6.3): steps or streams of steps, values as flat arrays,
 * `{"b64": …}` or `{"content": …, "shape": […]}`, with perf_analyzer's error texts so users can search them.
 */
import { readFileSync } from 'node:fs';
import { OptionError } from '../errors.ts';
import { parseBytesElements, serializeBytesElements } from '../protocol/bytes-tensor.ts';
import { byteSizeOf, type Datatype, elementCount } from '../protocol/datatypes.ts';
import {
  type DataSet,
  type DataStep,
  type InputTensorSpec,
  resolveShape,
  type StepTensor,
  shapeCompatible,
  shapeText,
} from './data-set.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function location(stream: number, step: number): string {
  return ` ( Location stream id: ${stream}, step id: ${step})`;
}

function flatten(values: Json[], out: Json[] = []): Json[] {
  for (const v of values) {
    if (Array.isArray(v)) flatten(v, out);
    else out.push(v);
  }
  return out;
}

/** Writes one explicit JSON value at `at` as `datatype` (little-endian), or throws `fail()`. */
function writeElement(
  view: DataView,
  at: number,
  datatype: Datatype,
  v: Json,
  fail: () => OptionError,
): void {
  if (datatype === 'BOOL') {
    if (typeof v !== 'boolean') throw fail();
    view.setUint8(at, v ? 1 : 0);
    return;
  }
  if (typeof v !== 'number') throw fail();
  if (datatype === 'FP32') view.setFloat32(at, v, true);
  else if (datatype === 'FP64') view.setFloat64(at, v, true);
  else if (!Number.isInteger(v) || (datatype.startsWith('U') && v < 0)) throw fail();
  else if (datatype === 'UINT8' || datatype === 'INT8') view.setUint8(at, v & 0xff);
  else if (datatype === 'UINT16' || datatype === 'INT16') view.setUint16(at, v & 0xffff, true);
  else if (datatype === 'UINT32' || datatype === 'INT32') view.setUint32(at, v >>> 0, true);
  else if (datatype === 'UINT64') view.setBigUint64(at, BigInt(v), true);
  else view.setBigInt64(at, BigInt(v), true);
}

/** Explicit JSON values → little-endian bytes, with perf_analyzer's type strictness. */
function serializeExplicit(values: Json[], datatype: Datatype): Uint8Array {
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw new OptionError(`Can not use explicit tensor description for ${datatype.toLowerCase()} datatype`);
  }
  const flat = flatten(values);
  const fail = (): OptionError => new OptionError(`unable to find ${datatype.toLowerCase()} data in json`);
  if (datatype === 'BYTES') {
    if (!flat.every((v) => typeof v === 'string')) throw fail();
    return serializeBytesElements(flat as string[]);
  }
  const size = byteSizeOf(datatype);
  const out = new Uint8Array(flat.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < flat.length; i++) writeElement(view, i * size, datatype, flat[i] as Json, fail);
  return out;
}

/** Element count of serialized BYTES data; malformed data (a length past the end) is an OptionError. */
function countBytesElements(data: Uint8Array, name: string): number {
  try {
    return parseBytesElements(data, { inputName: name, modelName: '' }).length;
  } catch (cause) {
    throw new OptionError(
      `provided b64 data for input ${name} is not a valid sequence of length-prefixed strings`,
      {
        cause,
      },
    );
  }
}

function parseTensor(
  value: Json,
  input: InputTensorSpec,
  shapes: Readonly<Record<string, number[]>>,
  stream: number,
  step: number,
): StepTensor {
  let content: Json | undefined = value;
  let shape = resolveShape(input, shapes);
  if (isObject(value) && !('b64' in value)) {
    if (!('content' in value)) throw new OptionError(`missing content field.${location(stream, step)}`);
    content = value.content;
    if (value.shape !== undefined) {
      const s = value.shape;
      if (!Array.isArray(s) || !s.every((d) => typeof d === 'number' && Number.isInteger(d))) {
        throw new OptionError('shape values must be integers.');
      }
      shape = s as number[];
    }
  }
  let data: Uint8Array;
  if (Array.isArray(content)) {
    data = serializeExplicit(content, input.datatype);
  } else if (isObject(content) && 'b64' in content) {
    if (typeof content.b64 !== 'string') {
      throw new OptionError(`the value of b64 field should be of type string${location(stream, step)}`);
    }
    data = new Uint8Array(Buffer.from(content.b64, 'base64'));
  } else {
    throw new OptionError('Input data file is malformed.');
  }
  if (shape.includes(-1)) {
    throw new OptionError(
      `The variable-sized tensor "${input.name}" with model shape ${shapeText(input.dims)} needs to have its shape fully defined. See the --shape option.`,
    );
  }
  if (!shapeCompatible(input.dims, shape)) {
    throw new OptionError(
      `The supplied shape of ${shapeText(shape)} for input "${input.name}" is incompatible with the model's input shape of ${shapeText(input.dims)}`,
    );
  }
  const count = elementCount(shape);
  if (input.datatype === 'BYTES') {
    const got = countBytesElements(data, input.name);
    if (got !== count)
      throw new OptionError(`provided data for input ${input.name} has ${got} elements, expect ${count}`);
  } else {
    const expected = count * byteSizeOf(input.datatype);
    if (data.byteLength !== expected) {
      throw new OptionError(
        `mismatch in the data provided for ${input.name}. Expected: ${expected} bytes, Got: ${data.byteLength} bytes`,
      );
    }
  }
  return { datatype: input.datatype, shape, data };
}

function parseStep(
  value: { [key: string]: Json },
  inputs: readonly InputTensorSpec[],
  outputNames: ReadonlySet<string>,
  shapes: Readonly<Record<string, number[]>>,
  stream: number,
  step: number,
): DataStep {
  const byName = new Map(inputs.map((i) => [i.name, i]));
  for (const key of Object.keys(value)) {
    if (!byName.has(key) && !outputNames.has(key) && key !== 'model') {
      throw new OptionError(`The input or output '${key}' is not found in the model configuration`);
    }
  }
  const out: DataStep = new Map();
  for (const input of inputs) {
    const v = value[input.name];
    if (v === undefined) {
      if (input.optional) continue;
      throw new OptionError(`missing tensor ${input.name}${location(stream, step)}`);
    }
    out.set(input.name, parseTensor(v, input, shapes, stream, step));
  }
  return out;
}

/** Reads one or more JSON data files; streams of later files are appended, flat steps go to stream 0. */
export function readJsonDataSet(
  paths: readonly string[],
  inputs: readonly InputTensorSpec[],
  outputNames: readonly string[],
  shapes: Readonly<Record<string, number[]>>,
): DataSet {
  const outputs = new Set(outputNames);
  const streams: DataStep[][] = [];
  for (const path of paths) {
    let doc: Json;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8')) as Json;
    } catch (cause) {
      throw new OptionError('failed to parse the specified json file for reading provided data', { cause });
    }
    parseDocument(doc, inputs, outputs, shapes, streams);
  }
  return { kind: 'json', streams };
}

/** Parses one JSON document (already read) into `streams`; exported for tests and in-memory data. */
export function parseDocument(
  doc: Json,
  inputs: readonly InputTensorSpec[],
  outputs: ReadonlySet<string>,
  shapes: Readonly<Record<string, number[]>>,
  streams: DataStep[][],
): void {
  if (!isObject(doc) || !Array.isArray(doc.data))
    throw new OptionError("The json file doesn't contain data field");
  const data = doc.data;
  const objects = data.filter(isObject).length;
  const arrays = data.filter(Array.isArray).length;
  if (objects > 0 && arrays > 0) {
    throw new OptionError(
      'Inconsistency in input-data provided. Can not have a combination of objects and arrays inside of the Data array',
    );
  }
  if (objects + arrays !== data.length) throw new OptionError('Input data file is malformed.');
  const fileStreams: Json[][] = arrays > 0 ? (data as Json[][]) : [data];
  const validation = doc.validation_data;
  if (validation !== undefined) {
    const vStreams = Array.isArray(validation) && validation.some(Array.isArray) ? validation : [validation];
    const aligned =
      Array.isArray(validation) &&
      vStreams.length === fileStreams.length &&
      vStreams.every((s, i) => Array.isArray(s) && s.length === (fileStreams[i] as Json[]).length);
    if (!aligned)
      throw new OptionError("The 'validation_data' field doesn't align with 'data' field in the json file");
  }
  for (const stepsJson of fileStreams) {
    const streamIndex = arrays > 0 ? streams.length : 0;
    const steps = stepsJson.map((s, k) => {
      if (!isObject(s)) throw new OptionError('Input data file is malformed.');
      const offset = arrays > 0 ? 0 : (streams[0]?.length ?? 0);
      return parseStep(s, inputs, outputs, shapes, streamIndex, offset + k);
    });
    if (arrays > 0 || streams.length === 0) streams.push(steps);
    else (streams[0] as DataStep[]).push(...steps);
  }
}
