/**
 * Request parameters (reference §1.11): reserved keys with fixed types, the `triton_` prefix refusal,
 * and the conversions between HTTP JSON values, gRPC `InferParameter` oneofs and wire-neutral values.
 * Type checks happen while converting from the wire because that is where the wire type is still known
 * (a JSON `1.0` or a gRPC `uint64_param` look alike afterwards).
 */
import { create } from '@bufbuild/protobuf';
import { isJsonObject, JsonFloat, type JsonObject, type JsonValue } from './exact-json.ts';
import { type InferParameter, InferParameterSchema } from './gen/grpc_service_pb.ts';
import type { WireParameters, WireParameterValue } from './infer-message.ts';
import { InferenceError } from './status.ts';

/** Keys Triton reserves (server:src/common.h kReservedParameterKeys); `triton_*` is reserved too. */
export const RESERVED_PARAMETER_KEYS: ReadonlySet<string> = new Set([
  'sequence_id',
  'sequence_start',
  'sequence_end',
  'priority',
  'timeout',
  'headers',
  'binary_data_output',
]);

const TRITON_PREFIX_TEXT =
  "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified.";

/** The only `triton_` key a gRPC client may send. */
const GRPC_ALLOWED_TRITON_KEYS: ReadonlySet<string> = new Set(['triton_enable_empty_final_response']);

function invalid(message: string): InferenceError {
  return new InferenceError('INVALID_ARG', message);
}

const UINT64_MAX = 2n ** 64n - 1n;

/** RapidJSON's IsUint64: a non-negative integer that fits 64 bits (2^64 and above parse as doubles). */
function isUnsignedJsonInteger(v: JsonValue): v is number | bigint {
  return (
    (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 64) ||
    (typeof v === 'bigint' && v >= 0n && v <= UINT64_MAX)
  );
}

function accessText(
  key: string,
  what: 'non-unsigned-integer as unsigned-integer' | 'non-boolean as boolean',
): string {
  return `Unable to parse '${key}': attempt to access JSON ${what}`;
}

/** Reads an unsigned JSON integer member (Triton's GetUInt accessor); INVALID_ARG otherwise. */
export function jsonUnsignedInteger(key: string, v: JsonValue): number | bigint {
  if (!isUnsignedJsonInteger(v)) throw invalid(accessText(key, 'non-unsigned-integer as unsigned-integer'));
  return v;
}

/** Reads a JSON boolean member; INVALID_ARG otherwise. */
export function jsonBoolean(key: string, v: JsonValue): boolean {
  if (typeof v !== 'boolean') throw invalid(accessText(key, 'non-boolean as boolean'));
  return v;
}

/**
 * Validates the top-level `parameters` object of an HTTP request and converts it to wire values:
 * `triton_` keys refused, arrays/objects refused, reserved keys type-checked (Triton's accessor texts).
 */
export function httpRequestParametersToWire(json: JsonValue): WireParameters {
  if (!isJsonObject(json))
    throw invalid("Unable to parse 'parameters': attempt to access JSON non-object as object");
  const out: WireParameters = {};
  for (const [key, v] of Object.entries(json as JsonObject)) {
    if (key.startsWith('triton_')) throw invalid(TRITON_PREFIX_TEXT);
    switch (key) {
      case 'priority':
      case 'timeout':
        out[key] = jsonUnsignedInteger(key, v);
        continue;
      case 'sequence_id':
        out[key] = typeof v === 'string' ? v : jsonUnsignedInteger(key, v);
        continue;
      case 'sequence_start':
      case 'sequence_end':
      case 'binary_data_output':
        out[key] = jsonBoolean(key, v);
        continue;
      default:
        out[key] = jsonScalarParameter(key, v);
    }
  }
  return out;
}

/** A non-reserved parameter value from JSON: string, bool, int or double; arrays/objects/null refused. */
export function jsonScalarParameter(key: string, v: JsonValue): WireParameterValue {
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint')
    return v;
  if (v instanceof JsonFloat) return v.value;
  throw invalid(`parameter '${key}' has invalid type. It should be either 'int', 'bool', or 'string'.`);
}

/**
 * Converts a gRPC parameter map to wire values with Triton's gRPC rules (infer_handler.cc): typed reserved
 * keys, `priority` ≥ 0, custom `uint64_param` refused, `triton_` keys refused except the empty-final-response flag.
 */
export function grpcRequestParametersToWire(
  params: Readonly<Record<string, InferParameter>>,
): WireParameters {
  const out: WireParameters = {};
  for (const [key, p] of Object.entries(params)) {
    const choice = p.parameterChoice;
    switch (key) {
      case 'sequence_id':
        if (choice.case !== 'int64Param' && choice.case !== 'stringParam') {
          throw invalid(
            "invalid value type for 'sequence_id' parameter, expected int64_param or string_param.",
          );
        }
        out[key] = choice.value;
        continue;
      case 'sequence_start':
      case 'sequence_end':
        if (choice.case !== 'boolParam')
          throw invalid(`invalid value type for '${key}' parameter, expected bool_param.`);
        out[key] = choice.value;
        continue;
      case 'priority':
        if (choice.case === 'int64Param') {
          if (choice.value < 0n) throw invalid("invalid value for 'priority', expected value >= 0.");
        } else if (choice.case !== 'uint64Param') {
          throw invalid("invalid value type for 'priority' parameter, expected int64_param or uint64_param.");
        }
        out[key] = choice.value;
        continue;
      case 'timeout':
        if (choice.case !== 'int64Param')
          throw invalid("invalid value type for 'timeout' parameter, expected int64_param.");
        // A negative queue timeout has no meaning (it was taken as "none" before): refuse it.
        if (choice.value < 0n) throw invalid("invalid value for 'timeout', expected value >= 0.");
        out[key] = choice.value;
        continue;
      default:
        break;
    }
    if (key.startsWith('triton_') && !GRPC_ALLOWED_TRITON_KEYS.has(key)) throw invalid(TRITON_PREFIX_TEXT);
    if (choice.case === undefined || choice.case === 'uint64Param') {
      throw invalid(
        `invalid value type for '${key}' parameter, expected int64_param, bool_param, or string_param.`,
      );
    }
    out[key] = choice.value;
  }
  return out;
}

const INT64_MAX = 2n ** 63n - 1n;

/** One wire value as a gRPC InferParameter (integers → int64_param, or uint64_param above INT64 max). */
export function wireParameterToGrpc(v: WireParameterValue): InferParameter {
  if (typeof v === 'string')
    return create(InferParameterSchema, { parameterChoice: { case: 'stringParam', value: v } });
  if (typeof v === 'boolean')
    return create(InferParameterSchema, { parameterChoice: { case: 'boolParam', value: v } });
  if (typeof v === 'bigint') {
    return create(InferParameterSchema, {
      parameterChoice: v > INT64_MAX ? { case: 'uint64Param', value: v } : { case: 'int64Param', value: v },
    });
  }
  if (Number.isInteger(v)) {
    return create(InferParameterSchema, { parameterChoice: { case: 'int64Param', value: BigInt(v) } });
  }
  return create(InferParameterSchema, { parameterChoice: { case: 'doubleParam', value: v } });
}

/** A wire parameter map as a gRPC parameter map. */
export function wireParametersToGrpc(params: Readonly<WireParameters>): Record<string, InferParameter> {
  const out: Record<string, InferParameter> = {};
  for (const [k, v] of Object.entries(params)) out[k] = wireParameterToGrpc(v);
  return out;
}

/** A gRPC parameter map as wire values without rule checks (responses, output parameters). */
export function grpcParametersToWire(params: Readonly<Record<string, InferParameter>>): WireParameters {
  const out: WireParameters = {};
  for (const [k, p] of Object.entries(params)) {
    if (p.parameterChoice.case !== undefined) out[k] = p.parameterChoice.value;
  }
  return out;
}

/** What the server takes from validated request parameters. */
export interface ExtractedRequestParameters {
  /** 0 = model default level. */
  priority: number;
  /** Per-request queue timeout in µs, 0 = none. */
  timeoutUs: number;
  /** HTTP `binary_data_output`. */
  binaryDataOutput: boolean;
  /** Non-reserved parameters, passed through to the model. */
  parameters: WireParameters;
  /** The sequence extension's fields; absent when the request names none of them. */
  sequence?: SequenceParameters;
}

/** `sequence_id` / `sequence_start` / `sequence_end` (reference §1.11). */
export interface SequenceParameters {
  /** A uint64 (0n = not in a sequence) or a string ('' = not in a sequence). */
  correlationId: bigint | string;
  start: boolean;
  end: boolean;
}

/**
 * The correlation ID as Triton stores it: strings as given, integers as uint64 (a gRPC `int64_param` is
 * cast like Triton's `TRITONSERVER_InferenceRequestSetCorrelationId(uint64_t)`, so -1 is 2^64 − 1).
 */
export function correlationIdOf(v: WireParameterValue | undefined): bigint | string {
  if (v === undefined) return 0n;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return BigInt.asUintN(64, BigInt(v));
}

/** Whether a correlation ID marks a request as part of a sequence (Triton's `InSequence`). */
export function inSequence(id: bigint | string): boolean {
  return typeof id === 'string' ? id !== '' : id !== 0n;
}

function toSafeNumber(v: WireParameterValue | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(n, Number.MAX_SAFE_INTEGER) : 0;
}

/**
 * Splits validated wire parameters (from httpRequestParametersToWire / grpcRequestParametersToWire) into
 * the scheduling fields and the passthrough rest; reserved and `triton_` keys are not passed through.
 */
export function extractRequestParameters(params: Readonly<WireParameters>): ExtractedRequestParameters {
  const parameters: WireParameters = {};
  for (const [k, v] of Object.entries(params)) {
    if (!RESERVED_PARAMETER_KEYS.has(k) && !k.startsWith('triton_')) parameters[k] = v;
  }
  const extracted: ExtractedRequestParameters = {
    priority: toSafeNumber(params.priority),
    timeoutUs: toSafeNumber(params.timeout),
    binaryDataOutput: params.binary_data_output === true,
    parameters,
  };
  if (
    params.sequence_id !== undefined ||
    params.sequence_start !== undefined ||
    params.sequence_end !== undefined
  ) {
    extracted.sequence = {
      correlationId: correlationIdOf(params.sequence_id),
      start: params.sequence_start === true,
      end: params.sequence_end === true,
    };
  }
  return extracted;
}
