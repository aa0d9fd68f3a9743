/**
 * Errors of the model-instance runtime that are not per-request inference errors (those are
 * InferenceError): a config the ORT backend cannot honour, and a session that ORT refused to create.
 * The repository turns both into the model's UNAVAILABLE reason, so the message is the whole story.
 */

export type RuntimeErrorCode = 'RUNTIME_CONFIG' | 'MODEL_LOAD_FAILED';

/** A model config asks for a session option or execution accelerator this server cannot provide. */
export class RuntimeConfigError extends Error {
  readonly code: RuntimeErrorCode = 'RUNTIME_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeConfigError';
  }
}

/** ONNX Runtime could not create the session (bad model, missing provider library…); message = ORT's text. */
export class ModelLoadError extends Error {
  readonly code: RuntimeErrorCode = 'MODEL_LOAD_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}
