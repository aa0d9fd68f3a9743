/**
 * A model's suggested default input data: config parameter `inferbench.default_input_data`, JSON text in
 * perf_analyzer's `--input-data` format. Used only when the run asks for nothing else (random data, no
 * `--shape`): a model whose inputs need meaningful values or variable shapes (the bundled `repeat`: IN and
 * DELAY of any length, DELAY in milliseconds) then runs with perf_analyzer's plain command line
 * (`-m repeat -i grpc --streaming`), where random data would have no shape or absurd delays. The text is
 * written to a private temporary file for the run, and bounded in size.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '../errors.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';

export const DEFAULT_INPUT_DATA_PARAMETER = 'inferbench.default_input_data';
/** Larger suggestions are refused: this is a hint for small models, not a data channel. */
export const MAX_SUGGESTED_INPUT_DATA_BYTES = 1_048_576;

export interface SuggestedInputData {
  /** The JSON file to use as `--input-data`. */
  path: string;
  remove(): Promise<void>;
}

/** The model's suggestion as a temporary file, or undefined when the run chose its data or there is none. */
export async function suggestedInputData(
  config: ModelConfig | undefined,
  input: { source: string; additionalFiles: readonly string[]; shapes: Record<string, unknown> },
): Promise<SuggestedInputData | undefined> {
  const text = config?.parameters[DEFAULT_INPUT_DATA_PARAMETER]?.stringValue;
  if (!text || input.source !== 'random' || input.additionalFiles.length > 0) return undefined;
  if (Object.keys(input.shapes).length > 0) return undefined;
  if (Buffer.byteLength(text) > MAX_SUGGESTED_INPUT_DATA_BYTES) {
    throw new OptionError(
      `model config parameter '${DEFAULT_INPUT_DATA_PARAMETER}' is over ${MAX_SUGGESTED_INPUT_DATA_BYTES} bytes: pass --input-data instead`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'inferbench-input-'));
  const path = join(dir, 'input_data.json');
  await writeFile(path, text, { mode: 0o600 });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
