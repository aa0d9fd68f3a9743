/**
 * `ModelInferRequest`/`ModelInferResponse` ↔ wire-neutral messages (reference §2.2). Inputs arrive either
 * as `raw_input_contents` (one entry per input, same order) or as typed `contents` (narrowed to the
 * datatype's width); the server always answers with `raw_output_contents`. Raw bytes stay views into the
 * decoded message, so no tensor data is copied.
 */
import { create } from '@bufbuild/protobuf';
import { serializeBytesElements } from './bytes-tensor.ts';
import { type Datatype, datatypeInfo, isDatatype } from './datatypes.ts';
import {
  type InferTensorContents,
  InferTensorContentsSchema,
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelInferResponse,
  ModelInferResponseSchema,
} from './gen/grpc_service_pb.ts';
import type {
  WireInferRequest,
  WireInferResponse,
  WireParameters,
  WireRequestedOutput,
} from './infer-message.ts';
import {
  grpcParametersToWire,
  grpcRequestParametersToWire,
  wireParametersToGrpc,
} from './infer-parameters.ts';
import { InferenceError } from './status.ts';
import type { Tensor } from './tensor.ts';

type ContentsField = Exclude<keyof InferTensorContents, '$typeName' | '$unknown'>;

/** Which typed field carries which datatypes, and the datatype Triton names for the field in errors. */
const FIELD_DATATYPES: readonly { field: ContentsField; named: Datatype; accepts: readonly Datatype[] }[] = [
  { field: 'boolContents', named: 'BOOL', accepts: ['BOOL'] },
  { field: 'intContents', named: 'INT32', accepts: ['INT8', 'INT16', 'INT32'] },
  { field: 'int64Contents', named: 'INT64', accepts: ['INT64'] },
  { field: 'uintContents', named: 'UINT32', accepts: ['UINT8', 'UINT16', 'UINT32'] },
  { field: 'uint64Contents', named: 'UINT64', accepts: ['UINT64'] },
  { field: 'fp32Contents', named: 'FP32', accepts: ['FP32'] },
  { field: 'fp64Contents', named: 'FP64', accepts: ['FP64'] },
  { field: 'bytesContents', named: 'BYTES', accepts: ['BYTES'] },
];

function invalid(message: string): InferenceError {
  return new InferenceError('INVALID_ARG', message);
}

function shapeToNumbers(shape: readonly bigint[]): number[] {
  return shape.map(Number);
}

/**
 * Typed contents → raw little-endian bytes. Integer fields are narrowed to the datatype's width the way a
 * C++ cast does (Triton behaviour). A non-empty field that does not match the datatype is an error.
 */
export function typedContentsToBytes(
  contents: InferTensorContents,
  datatype: string,
  names: { tensorName: string; modelName: string },
): Uint8Array {
  let data: Uint8Array | undefined;
  for (const { field, named, accepts } of FIELD_DATATYPES) {
    const values = contents[field];
    if (values.length === 0) continue;
    if (!isDatatype(datatype) || !accepts.includes(datatype)) {
      throw invalid(
        `unexpected explicit tensor data for input tensor '${names.tensorName}' for model '${names.modelName}' of type '${datatype}', expected datatype '${named}'`,
      );
    }
    if (datatype === 'BYTES') {
      data = serializeBytesElements(values as Uint8Array[]);
    } else if (datatype === 'BOOL') {
      data = Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0));
    } else {
      const Ctor = datatypeInfo(datatype).arrayType as Exclude<
        ReturnType<typeof datatypeInfo>['arrayType'],
        undefined
      >;
      const typed = new Ctor(values.length);
      (typed as { set(v: ArrayLike<number | bigint>): void }).set(values as ArrayLike<number | bigint>);
      data = new Uint8Array(typed.buffer);
    }
  }
  return data ?? new Uint8Array(0);
}

/**
 * Server side: a decoded `ModelInferRequest` → WireInferRequest, with Triton's INVALID_ARGUMENT texts for
 * mixing raw and typed contents, a typed field not matching the datatype, and inputs without data.
 */
export function grpcRequestToWire(req: ModelInferRequest): WireInferRequest {
  const model = req.modelName;
  const raw = req.rawInputContents;
  let rawIndex = 0;
  const inputs: Tensor[] = req.inputs.map((io) => {
    const shape = shapeToNumbers(io.shape);
    if (io.parameters.shared_memory_region !== undefined) {
      const region = io.parameters.shared_memory_region.parameterChoice.value;
      throw invalid(`Unable to find system shared memory region: '${String(region)}'`);
    }
    let data: Uint8Array;
    if (io.contents !== undefined) {
      if (raw.length > 0) {
        throw invalid(
          `contents field must not be specified when using raw_input_contents for '${io.name}' for model '${model}'`,
        );
      }
      data = typedContentsToBytes(io.contents, io.datatype, { tensorName: io.name, modelName: model });
    } else if (rawIndex < raw.length) {
      data = raw[rawIndex++] as Uint8Array;
    } else {
      throw invalid(`unable to find data for input tensor '${io.name}' for model '${model}' in request.`);
    }
    if (!isDatatype(io.datatype)) throw invalid(`invalid datatype for input ${io.name}`);
    return { name: io.name, datatype: io.datatype, shape, data };
  });
  if (rawIndex < raw.length) {
    throw invalid(
      `unexpected number of raw_input_contents ${raw.length} for model '${model}', expecting ${rawIndex} (one per input without contents)`,
    );
  }
  const outputs: WireRequestedOutput[] = req.outputs.map((o) => ({
    name: o.name,
    parameters: grpcParametersToWire(o.parameters),
  }));
  return { id: req.id, parameters: grpcRequestParametersToWire(req.parameters), inputs, outputs };
}

/** Server side: WireInferResponse → `ModelInferResponse` with one `raw_output_contents` entry per output. */
export function wireToGrpcResponse(res: WireInferResponse): ModelInferResponse {
  return create(ModelInferResponseSchema, {
    modelName: res.modelName,
    modelVersion: res.modelVersion,
    id: res.id,
    parameters: res.parameters ? wireParametersToGrpc(res.parameters) : {},
    outputs: res.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    rawOutputContents: res.outputs.map((t) => t.data),
  });
}

/** What the load generator puts in one gRPC request. */
export interface GrpcInferRequestInit {
  modelName: string;
  modelVersion: string;
  id?: string;
  parameters: WireParameters;
  inputs: readonly Tensor[];
  /** Outputs to ask for (names, or names with parameters); empty = all. */
  outputs: readonly (string | WireRequestedOutput)[];
}

/** Client side: builds a `ModelInferRequest` with raw input contents (what perf_analyzer sends). */
export function wireToGrpcRequest(init: GrpcInferRequestInit): ModelInferRequest {
  return create(ModelInferRequestSchema, {
    modelName: init.modelName,
    modelVersion: init.modelVersion,
    id: init.id ?? '',
    parameters: wireParametersToGrpc(init.parameters),
    inputs: init.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    outputs: init.outputs.map((o) =>
      typeof o === 'string' ? { name: o } : { name: o.name, parameters: wireParametersToGrpc(o.parameters) },
    ),
    rawInputContents: init.inputs.map((t) => t.data),
  });
}

/** Client side: `ModelInferResponse` → WireInferResponse, from raw contents or (other servers) typed contents. */
export function grpcResponseToWire(res: ModelInferResponse): WireInferResponse {
  const raw = res.rawOutputContents;
  const outputs: Tensor[] = res.outputs.map((o, k) => {
    if (!isDatatype(o.datatype)) throw invalid(`invalid datatype for output ${o.name}`);
    const data =
      k < raw.length
        ? (raw[k] as Uint8Array)
        : typedContentsToBytes(o.contents ?? create(InferTensorContentsSchema), o.datatype, {
            tensorName: o.name,
            modelName: res.modelName,
          });
    return { name: o.name, datatype: o.datatype, shape: shapeToNumbers(o.shape), data };
  });
  const parameters = grpcParametersToWire(res.parameters);
  return {
    id: res.id,
    modelName: res.modelName,
    modelVersion: res.modelVersion,
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    outputs,
  };
}
