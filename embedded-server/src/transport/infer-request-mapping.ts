/**
 * Wire-neutral request → the core's InferRequest, shared by the HTTP and gRPC transports so that both
 * apply the parameter rules (priority, timeout, binary_data_output, passthrough) identically.
 */

import type { WireInferRequest, WireParameterValue } from '../../../src/protocol/infer-message.ts';
import { extractRequestParameters } from '../../../src/protocol/infer-parameters.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { RequestAbort } from '../core/request-abort.ts';
import type { InferRequest, RequestedOutput } from '../core/types.ts';

function optionalBoolean(v: WireParameterValue | undefined): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

function classificationOf(name: string, v: WireParameterValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  if ((typeof v !== 'number' && typeof v !== 'bigint') || Number(v) < 0 || !Number.isInteger(Number(v))) {
    throw new InferenceError(
      'INVALID_ARG',
      `invalid value for 'classification' of output '${name}', expected an integer >= 0`,
    );
  }
  const n = Number(v);
  // Parsed so a bad value gets its own message, but not implemented: refused rather than silently ignored.
  if (n > 0) {
    throw new InferenceError(
      'INVALID_ARG',
      `the classification extension is not supported by this server (output '${name}' asks for 'classification': ${n}); request the raw output instead`,
    );
  }
  return n;
}

/** Shared-memory tensors (Triton's shared-memory extension) are not implemented: refuse, never ignore. */
function refuseSharedMemory(
  kind: 'input' | 'output',
  name: string,
  params: Record<string, unknown> | undefined,
): void {
  if (params === undefined) return;
  for (const key of ['shared_memory_region', 'shared_memory_offset', 'shared_memory_byte_size']) {
    if (params[key] !== undefined) {
      throw new InferenceError(
        'INVALID_ARG',
        `the shared-memory extension is not supported by this server (${kind} '${name}' has parameter '${key}'); send the tensor data in the request`,
      );
    }
  }
}

/** Where and when the transport received the request. */
export interface RequestContext {
  modelName: string;
  /** '' = server's choice. */
  modelVersion: string;
  receivedNs: number;
  /** Aborted when the client goes away; it is the request's `signal`. */
  abort?: RequestAbort;
}

/** Builds the core request; throws InferenceError for malformed output parameters. */
export function toInferRequest(wire: WireInferRequest, ctx: RequestContext): InferRequest {
  const extracted = extractRequestParameters(wire.parameters);
  const outputs: RequestedOutput[] = wire.outputs.map((o) => {
    refuseSharedMemory('output', o.name, o.parameters);
    const out: RequestedOutput = { name: o.name };
    const binaryData = optionalBoolean(o.parameters.binary_data);
    if (binaryData !== undefined) out.binaryData = binaryData;
    const classification = classificationOf(o.name, o.parameters.classification);
    if (classification !== undefined) out.classification = classification;
    return out;
  });
  const request: InferRequest = {
    id: wire.id,
    modelName: ctx.modelName,
    modelVersion: ctx.modelVersion,
    inputs: wire.inputs,
    outputs,
    parameters: extracted.parameters,
    priority: extracted.priority,
    timeoutUs: extracted.timeoutUs,
    binaryDataOutput: extracted.binaryDataOutput,
    receivedNs: ctx.receivedNs,
  };
  if (extracted.sequence) request.sequence = extracted.sequence;
  if (ctx.abort) request.signal = ctx.abort;
  return request;
}

/** Any thrown value as an InferenceError (unexpected ones become INTERNAL with their message). */
export function asInferenceError(e: unknown): InferenceError {
  if (e instanceof InferenceError) return e;
  return new InferenceError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}
