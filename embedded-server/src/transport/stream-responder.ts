/**
 * The write side of one gRPC ModelStreamInfer stream (Triton's ModelStreamInferHandler):
 *
 * - A non-decoupled request gets exactly one response, and those are written **in request order** (the
 *   stream keeps a FIFO of request slots and writes the front one once it is complete).
 * - A decoupled model's responses are written as the model sends them, each with response parameter
 *   `triton_final_response: false`; then the FINAL flag: Triton's null response is written as an empty
 *   response (id, model name and version only, `triton_final_response: true`) only when the request asked for
 *   it with `triton_enable_empty_final_response: true`, else nothing more is written for that request. A
 *   decoupled request does not hold back the others (Triton: decoupled responses go out in any order).
 * - An error is answered in-band (`error_message`, the request's id and model, `triton_final_response: true`);
 *   so is a message that is not a valid ModelInferRequest: the stream and the responses already due on it go
 *   on. The stream ends once the client has ended its side and every request has been answered.
 */
import { create, fromBinary } from '@bufbuild/protobuf';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import {
  type ModelInferRequest,
  ModelInferRequestSchema,
  type ModelInferResponse,
  ModelInferResponseSchema,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { inferenceServiceDefinition } from '../../../src/protocol/grpc-service.ts';
import { wireParameterToGrpc } from '../../../src/protocol/infer-parameters.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import { markGrpcMessageOwned } from '../core/request-buffers.ts';

/** Stands for "the FINAL flag without a response" between the core call and the responder. */
export const EMPTY_FINAL: ModelInferResponse = create(ModelInferResponseSchema);

/** A stream message that did not decode as a ModelInferRequest. */
export class UnparsableMessage {
  readonly error: InferenceError;
  constructor(reason: string) {
    this.error = new InferenceError(
      'INVALID_ARG',
      `failed to parse the ModelInferRequest message: ${reason}`,
    );
  }
}

/**
 * The inference service as the server decodes it. ModelStreamInfer's request decoder never throws: grpc-js
 * ends the whole stream with INTERNAL when a decoder throws, losing every response still due; an
 * UnparsableMessage instead reaches the handler, which answers it in-band. Both infer RPCs mark a message that
 * owns its buffer as request-owned, so its tensor bytes move to the main thread without a copy.
 */
export const streamTolerantDefinition: ServiceDefinition = (() => {
  const def = { ...inferenceServiceDefinition } as Record<string, MethodDefinition<unknown, unknown>>;
  const decode = (bytes: Buffer): ModelInferRequest => {
    const request = fromBinary(ModelInferRequestSchema, bytes);
    markGrpcMessageOwned(bytes);
    return request;
  };
  def.ModelInfer = { ...(def.ModelInfer as MethodDefinition<unknown, unknown>), requestDeserialize: decode };
  const stream = def.ModelStreamInfer as MethodDefinition<unknown, unknown>;
  def.ModelStreamInfer = {
    ...stream,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return decode(bytes);
      } catch (e) {
        return new UnparsableMessage(e instanceof Error ? e.message : String(e));
      }
    },
  };
  return def;
})();

/** Triton's SetStateParameterFromTritonParameter: `triton_enable_empty_final_response` must be a bool_param. */
export function emptyFinalWanted(req: ModelInferRequest): boolean {
  const p = req.parameters.triton_enable_empty_final_response;
  if (!p) return false;
  if (p.parameterChoice.case !== 'boolParam') {
    throw new InferenceError(
      'INVALID_ARG',
      "invalid value type for 'triton_enable_empty_final_response' parameter, expected bool_param.",
    );
  }
  return p.parameterChoice.value;
}

interface Slot {
  done: boolean;
  /** A decoupled model's request (it sent a response or an empty final): written out of order. */
  decoupled: boolean;
  /** What to write once done (undefined: nothing, a null final nobody asked for). */
  response: ModelStreamInferResponse | undefined;
}

function withFinal(res: ModelInferResponse, final: boolean): ModelInferResponse {
  res.parameters.triton_final_response = wireParameterToGrpc(final);
  return res;
}

export class StreamResponder {
  private readonly pending: Slot[] = [];
  private ended = false;

  constructor(
    private readonly write: (response: ModelStreamInferResponse) => void,
    private readonly end: () => void,
  ) {}

  /** A request arrived: its place in the response order. */
  open(): Slot {
    const slot: Slot = { done: false, decoupled: false, response: undefined };
    this.pending.push(slot);
    return slot;
  }

  /** One response of a decoupled model, written now (`triton_final_response: false`). */
  partial(slot: Slot, res: ModelInferResponse): void {
    slot.decoupled = true;
    this.write(create(ModelStreamInferResponseSchema, { inferResponse: withFinal(res, false) }));
  }

  /** The request is complete: its one response, or (EMPTY_FINAL) a decoupled model's FINAL flag. */
  final(slot: Slot, res: ModelInferResponse, emptyFinalWanted: boolean, req?: ModelInferRequest): void {
    if (res === EMPTY_FINAL) {
      slot.decoupled = true;
      slot.response = emptyFinalWanted
        ? create(ModelStreamInferResponseSchema, { inferResponse: this.bare(req) })
        : undefined;
    } else {
      slot.response = create(ModelStreamInferResponseSchema, { inferResponse: withFinal(res, true) });
    }
    slot.done = true;
    this.flush();
  }

  /** The request failed (or could not be decoded): an in-band error that keeps the stream open. */
  failed(slot: Slot, error: InferenceError, req: ModelInferRequest | undefined): void {
    slot.response = create(ModelStreamInferResponseSchema, {
      errorMessage: error.message,
      inferResponse: this.bare(req),
    });
    slot.done = true;
    this.flush();
  }

  /** The client half-closed: end once every request has been answered. */
  clientEnded(): void {
    this.ended = true;
    this.flush();
  }

  /** An empty response naming the request, marked final. */
  private bare(req: ModelInferRequest | undefined): ModelInferResponse {
    return withFinal(
      create(ModelInferResponseSchema, {
        id: req?.id ?? '',
        modelName: req?.modelName ?? '',
        modelVersion: req?.modelVersion ?? '',
      }),
      true,
    );
  }

  /** Writes complete slots: non-decoupled ones in order, decoupled ones whenever they are done. */
  private flush(): void {
    let i = 0;
    while (i < this.pending.length) {
      const slot = this.pending[i] as Slot;
      if (slot.done) {
        this.pending.splice(i, 1);
        if (slot.response) this.write(slot.response);
        continue;
      }
      if (slot.decoupled) {
        i++;
        continue;
      }
      break;
    }
    if (this.ended && this.pending.length === 0) this.end();
  }
}
