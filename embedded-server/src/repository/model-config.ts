/**
 * config.pbtxt ⇄ inference.ModelConfig through protobuf-es's text-format codec, so the accepted syntax is
 * exactly protobuf's (lists, `:` before messages, comments, `True`) and never a hand-written approximation.
 */
import { fromText, toText } from '@bufbuild/protobuf/txtpb';
import { type ModelConfig, ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { ConfigError } from './config-error.ts';

/**
 * Parses the text of a config.pbtxt. `source` names the file in the error (Triton: "failed to read text
 * proto from <path>"). protobuf-es reports no positions, so line/column stay undefined.
 */
export function parseModelConfigText(text: string, source: string): ModelConfig {
  try {
    return fromText(ModelConfigSchema, text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ConfigError(`failed to read text proto from ${source}: ${detail}`, {
      kind: 'parse',
      filePath: source,
      cause: e,
    });
  }
}

/** The config as protobuf text (what a config.pbtxt with these values would hold); for logs and tests. */
export function configToPbtxt(config: ModelConfig): string {
  return toText(ModelConfigSchema, config);
}
