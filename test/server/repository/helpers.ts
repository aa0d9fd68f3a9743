/** Shared by the repository tests: fixture paths and the pure load chain on a config text. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CompleteConfigContext,
  completeModelConfig,
} from '../../../embedded-server/src/repository/complete-config.ts';
import { parseModelConfigText } from '../../../embedded-server/src/repository/model-config.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';

export const CONFIGS_DIR = fileURLToPath(new URL('../../fixtures/configs/', import.meta.url));

export function readFixture(relative: string): string {
  return readFileSync(join(CONFIGS_DIR, relative), 'utf8');
}

/** A version directory holding model.onnx: what makes Triton pick the ORT backend for a config without one. */
export const ONNX_VERSION_DIR = [{ name: 'model.onnx', isDirectory: false }];

export function complete(
  text: string,
  ctx: Partial<CompleteConfigContext> & { modelName: string },
): { config: ModelConfig; warnings: string[] } {
  return completeModelConfig(parseModelConfigText(text, `${ctx.modelName}/config.pbtxt`), {
    versionDirEntries: ONNX_VERSION_DIR,
    gpuIds: [],
    ...ctx,
  });
}

/** Runs `fn`, expecting a ConfigError-like throw; returns its message. */
export function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}
