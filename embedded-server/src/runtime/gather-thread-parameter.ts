/**
 * Model parameter `inferbench.gather_thread`: whether each instance of the model gets a gather thread
 * (gather-worker.ts), which builds the batches staged behind a running one so that the thread running the
 * model only runs it. Default: on for KIND_GPU instances, whose ORT thread feeds a device that waits for it
 * (the copy then costs throughput), off for KIND_CPU, where ORT's own threads need the cores the extra copy
 * thread would take (it spends ≈ 40 µs of CPU per request to save the ORT thread ≈ 20):
 *
 *   parameters { key: "inferbench.gather_thread" value: { string_value: "false" } }
 */

import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { RuntimeConfigError } from './runtime-errors.ts';
import type { InstanceKind } from './session-options.ts';

export const GATHER_THREAD_PARAMETER = 'inferbench.gather_thread';

/** Whether instances of `kind` get a gather thread under `config`. Throws RuntimeConfigError for a bad value. */
export function gatherThreadFor(config: Pick<ModelConfig, 'parameters'>, kind: InstanceKind): boolean {
  const raw = config.parameters[GATHER_THREAD_PARAMETER]?.stringValue;
  if (raw === undefined) return kind === 'KIND_GPU';
  const text = raw.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new RuntimeConfigError(
    `parameter '${GATHER_THREAD_PARAMETER}' must be 'true' or 'false'; got '${raw}'`,
  );
}
