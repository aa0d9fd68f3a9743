/**
 * RequestSpec → ModelInferRequest bytes for the load generator: inputs always as `raw_input_contents`
 * (what Triton's own clients send, and the cheapest to encode), parameters typed as Triton expects.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelInferRequestSchema } from '../protocol/gen/grpc_service_pb.ts';
import { wireParametersToGrpc } from '../protocol/infer-parameters.ts';
import type { RequestSpec } from './client.ts';

/** Encodes a spec (with request `id`, '' = none) into ModelInferRequest wire bytes. */
export function encodeGrpcInferRequest(spec: RequestSpec, id = ''): Uint8Array {
  const message = create(ModelInferRequestSchema, {
    modelName: spec.modelName,
    modelVersion: spec.modelVersion,
    id,
    parameters: wireParametersToGrpc(spec.parameters),
    inputs: spec.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map((d) => BigInt(d)) })),
    outputs: spec.outputs.map((name) => ({ name })),
    rawInputContents: spec.inputs.map((t) => t.data),
  });
  return toBinary(ModelInferRequestSchema, message);
}
