/**
 * ModelConfig ↔ JSON as Triton's `/config` endpoint and load API use it (reference §1.12): proto field
 * names, every primitive field even when default, enums by name, and every 64-bit integer as a JSON number
 * (protobuf's JSON mapping would write strings; Triton rewrites them). Numbers beyond 2^53 become bigint
 * so that stringifyExactJson writes them exactly.
 */
import {
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue as ProtoJsonValue,
  ScalarType,
  toJson,
} from '@bufbuild/protobuf';
import { isJsonObject, JsonFloat, type JsonObject, type JsonValue } from './exact-json.ts';
import { type ModelConfig, ModelConfigSchema } from './gen/model_config_pb.ts';
import { InferenceError } from './status.ts';

const INT64_SCALARS: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

function int64ToJson(v: ProtoJsonValue): JsonValue {
  if (typeof v !== 'string') return v as JsonValue;
  const big = BigInt(v);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big;
}

function convertValue(field: DescField, v: ProtoJsonValue, element: boolean): JsonValue {
  const kind = element && field.fieldKind === 'list' ? field.listKind : field.fieldKind;
  if (kind === 'message' && field.message) return convertMessage(field.message, v);
  if (kind === 'scalar' && field.scalar !== undefined && INT64_SCALARS.has(field.scalar))
    return int64ToJson(v);
  return v as JsonValue;
}

function convertMessage(desc: DescMessage, json: ProtoJsonValue): JsonValue {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json as JsonValue;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.name === key);
    if (field === undefined || v === undefined) {
      out[key] = v as JsonValue;
    } else if (field.fieldKind === 'list') {
      out[key] = (v as ProtoJsonValue[]).map((e) => convertValue(field, e, true));
    } else if (field.fieldKind === 'map') {
      const m: JsonObject = {};
      for (const [mk, mv] of Object.entries(v as Record<string, ProtoJsonValue>)) {
        if (field.mapKind === 'message') m[mk] = convertMessage(field.message, mv);
        else if (field.mapKind === 'scalar' && INT64_SCALARS.has(field.scalar)) m[mk] = int64ToJson(mv);
        else m[mk] = mv as JsonValue;
      }
      out[key] = m;
    } else {
      out[key] = convertValue(field, v, false);
    }
  }
  return out;
}

/** The config as Triton's `GET /v2/models/{m}/config` returns it. */
export function modelConfigToJson(config: ModelConfig): JsonObject {
  const json = toJson(ModelConfigSchema, config, { useProtoFieldName: true, alwaysEmitImplicit: true });
  return convertMessage(ModelConfigSchema, json) as JsonObject;
}

/** Exact-JSON values (bigint, JsonFloat, null-prototype objects) → what protobuf-es fromJson reads. */
function toProtoJson(v: unknown): ProtoJsonValue {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(toProtoJson);
  if (isJsonObject(v)) {
    const out: { [k: string]: ProtoJsonValue } = {};
    for (const [k, e] of Object.entries(v)) out[k] = toProtoJson(e);
    return out;
  }
  return v as ProtoJsonValue;
}

/**
 * A ModelConfig from JSON (the load API's `parameters.config`, or config JSON files). Accepts proto or
 * camelCase names and numbers or strings for 64-bit fields; unknown fields and wrong types are
 * INVALID_ARG errors naming the offending field.
 */
export function modelConfigFromJson(json: unknown): ModelConfig {
  try {
    return fromJson(ModelConfigSchema, toProtoJson(json), { ignoreUnknownFields: false });
  } catch (e) {
    throw new InferenceError(
      'INVALID_ARG',
      `failed to parse model configuration JSON: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
