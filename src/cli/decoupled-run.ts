/**
 * What changes in a run when the model is decoupled (config `model_transaction_policy { decoupled: true }`),
 * as perf_analyzer does it: such a model answers 0..n times per request, which only the gRPC stream can
 * carry, so the run needs `--streaming` over gRPC (perf_analyzer's exact refusal otherwise); the level
 * reports then count responses (Response Throughput) and the latency to the first response.
 */
import { OptionError } from '../errors.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';

export const DECOUPLED_NEEDS_STREAMING =
  'Decoupled models must be run with --async and --streaming and either -i grpc or --service-kind=triton_c_api';

export function isDecoupledModel(config: ModelConfig | undefined): boolean {
  return config?.modelTransactionPolicy?.decoupled ?? false;
}

/** The settings of a decoupled model's run; others unchanged. Throws OptionError without a gRPC stream. */
export function decoupledRunOf(settings: ProfileSettings, config: ModelConfig | undefined): ProfileSettings {
  if (!isDecoupledModel(config)) return settings;
  if (!settings.streaming || settings.protocol !== 'grpc') throw new OptionError(DECOUPLED_NEEDS_STREAMING);
  return { ...settings, decoupled: true };
}
