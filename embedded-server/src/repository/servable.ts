/**
 * What the reference server refuses to load although Triton would accept it. Kept apart from validation so
 * that a config is first judged by Triton's rules (a user learns whether it is *valid*) and only then told
 * that this server does not implement the feature. The core calls `assertServable` before creating
 * instances; every refusal is UNSUPPORTED with a message that names the feature and the model. ORT session
 * options and execution accelerators are judged by runtime/session-options.ts when instances are built.
 */
import { DataType, type ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { REPEAT_BACKEND, validateRepeatConfig } from '../decoupled/repeat-backend.ts';
import { ConfigError } from './config-error.ts';
import { ONNXRUNTIME_BACKEND } from './normalize.ts';

const SERVER = "inferbench's reference server";

function unsupported(message: string): ConfigError {
  return new ConfigError(message, { kind: 'unsupported', code: 'UNSUPPORTED' });
}

/** Throws ConfigError when the (normalised, validated) config needs something this server does not do. */
export function assertServable(config: ModelConfig): void {
  const m = config.name;
  const scheduling = config.schedulingChoice.case;
  // Ensembles run no backend of their own: their composing models are judged when they load.
  if (scheduling === 'ensembleScheduling') return;
  if (scheduling === 'sequenceBatching' && config.schedulingChoice.value?.iterativeSequence) {
    throw unsupported(`iterative sequences are not supported by ${SERVER}: model '${m}' cannot be loaded`);
  }
  // The built-in decoupled backend (Triton's repeat backend): judged by its own config rules.
  if (config.backend === REPEAT_BACKEND) {
    validateRepeatConfig(config);
    return;
  }
  if (config.backend !== ONNXRUNTIME_BACKEND) {
    throw unsupported(
      `backend '${config.backend}' is not supported by ${SERVER}: model '${m}' cannot be loaded (only '${ONNXRUNTIME_BACKEND}' and the built-in '${REPEAT_BACKEND}' are)`,
    );
  }
  if (config.modelTransactionPolicy?.decoupled) {
    throw unsupported(
      `decoupled ONNX models are not supported by ${SERVER} (ONNX Runtime gives one response per request): model '${m}' cannot be loaded; the built-in '${REPEAT_BACKEND}' backend is decoupled`,
    );
  }
  if ((config.modelOperations?.opLibraryFilename.length ?? 0) > 0) {
    throw unsupported(
      `custom operation libraries are not supported by ${SERVER}: model '${m}' cannot be loaded`,
    );
  }
  const bf16 = [...config.input, ...config.output].find((io) => io.dataType === DataType.TYPE_BF16);
  if (bf16) {
    throw unsupported(
      `TYPE_BF16 tensor '${bf16.name}' is not supported by ONNX Runtime in ${SERVER} (model '${m}')`,
    );
  }
}
