/**
 * @grpc/grpc-js service definitions built from the protobuf-es descriptors (no proto-loader, no codegen
 * for grpc): `inference.GRPCInferenceService` and `grpc.health.v1.Health`. Plus byte-level definitions of
 * ModelInfer/ModelStreamInfer for the load generator, which encodes each request once and resends the
 * bytes, and decodes responses only when it needs to.
 * Only grpc-js *types* are imported, so the kernel has no runtime dependency on it.
 */
import {
  type DescMessage,
  type DescService,
  fromBinary,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import {
  GRPCInferenceService,
  type ModelInferResponse,
  ModelInferResponseSchema,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
} from './gen/grpc_service_pb.ts';
import { Health } from './gen/health_pb.ts';

/** Views the bytes as a Buffer without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function messageMethod<I extends DescMessage, O extends DescMessage>(
  path: string,
  kind: DescService['methods'][number]['methodKind'],
  input: I,
  output: O,
  originalName: string,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path,
    requestStream: kind === 'client_streaming' || kind === 'bidi_streaming',
    responseStream: kind === 'server_streaming' || kind === 'bidi_streaming',
    requestSerialize: (m) => asBuffer(toBinary(input, m)),
    requestDeserialize: (b) => fromBinary(input, b),
    responseSerialize: (m) => asBuffer(toBinary(output, m)),
    responseDeserialize: (b) => fromBinary(output, b),
    originalName,
  };
}

/** A grpc-js ServiceDefinition for a protobuf-es service; keys are the proto RPC names (`ModelInfer`). */
export function serviceDefinitionOf(service: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.name] = messageMethod(
      `/${service.typeName}/${m.name}`,
      m.methodKind,
      m.input,
      m.output,
      m.localName,
    ) as MethodDefinition<unknown, unknown>;
  }
  return def;
}

/** `inference.GRPCInferenceService`, every RPC of grpc_service.proto, paths `/inference.GRPCInferenceService/<Rpc>`. */
export const inferenceServiceDefinition: ServiceDefinition = serviceDefinitionOf(GRPCInferenceService);

/** `grpc.health.v1.Health` (Check, Watch). */
export const healthServiceDefinition: ServiceDefinition = serviceDefinitionOf(Health);

const identity = (b: Buffer): Buffer => b;

function bytesMethod(rpc: string, streaming: boolean): MethodDefinition<Uint8Array, Buffer> {
  return {
    path: `/${GRPCInferenceService.typeName}/${rpc}`,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: asBuffer,
    requestDeserialize: identity,
    responseSerialize: asBuffer,
    responseDeserialize: identity,
    originalName: rpc,
  };
}

/**
 * ModelInfer with pre-encoded request bytes and undecoded response bytes, e.g.
 * `client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, bytes, metadata, options, cb)`.
 */
export const preencodedModelInfer: MethodDefinition<Uint8Array, Buffer> = bytesMethod('ModelInfer', false);

/** ModelStreamInfer likewise: `client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, metadata, options)`. */
export const preencodedModelStreamInfer: MethodDefinition<Uint8Array, Buffer> = bytesMethod(
  'ModelStreamInfer',
  true,
);

/** Lazily decodes a ModelInfer response received as bytes. */
export function decodeModelInferResponse(bytes: Uint8Array): ModelInferResponse {
  return fromBinary(ModelInferResponseSchema, bytes);
}

/** Lazily decodes a ModelStreamInfer response received as bytes. */
export function decodeModelStreamInferResponse(bytes: Uint8Array): ModelStreamInferResponse {
  return fromBinary(ModelStreamInferResponseSchema, bytes);
}
