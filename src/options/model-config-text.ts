/** A model config override (`embedded.configOverrides`) as config.pbtxt text. */
import { fromJson } from '@bufbuild/protobuf';
import { toText } from '@bufbuild/protobuf/txtpb';
import { ModelConfigSchema } from '../protocol/gen/model_config_pb.ts';

/** The override as config.pbtxt text (the JSON form is converted through the generated ModelConfig). */
export function overrideText(value: string | Record<string, unknown>): string {
  if (typeof value === 'string') return value;
  return toText(ModelConfigSchema, fromJson(ModelConfigSchema, value as never));
}
