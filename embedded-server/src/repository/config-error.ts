/**
 * The one error type of model-repository handling. It is an InferenceError, so the core can hand it to a
 * client unchanged (load API, model index `reason`), and it says which file and, when known, where in it.
 */
import { InferenceError, type StatusCode } from '../../../src/protocol/status.ts';

/** Which stage refused the model: lets the core and the tests tell a typo from a mismatch with the ONNX file. */
export type ConfigErrorKind =
  /** config.pbtxt is not valid protobuf text for inference.ModelConfig. */
  | 'parse'
  /** A Triton core validation rule (§3.2, §3.3): the config is wrong in itself. */
  | 'invalid'
  /** Triton's ONNX Runtime autocomplete could not complete the config. */
  | 'autofill'
  /** The config does not match the ONNX graph it serves. */
  | 'onnx-mismatch'
  /** Valid for Triton, but the reference server does not implement it (ensembles, sequence batching…). */
  | 'unsupported'
  /** The repository on disk could not be read (missing directory, unreadable model file). */
  | 'io';

export interface ConfigErrorOptions {
  kind: ConfigErrorKind;
  /** Triton status code; INVALID_ARG unless said otherwise, as in Triton's model_config_utils.cc. */
  code?: StatusCode;
  filePath?: string;
  /** 1-based, when the parser reports a position. */
  line?: number;
  /** 1-based, when the parser reports a position. */
  column?: number;
  cause?: unknown;
}

export class ConfigError extends InferenceError {
  readonly kind: ConfigErrorKind;
  readonly filePath: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, options: ConfigErrorOptions) {
    super(options.code ?? 'INVALID_ARG', message, { cause: options.cause });
    this.name = 'ConfigError';
    this.kind = options.kind;
    this.filePath = options.filePath;
    this.line = options.line;
    this.column = options.column;
  }
}

/** Shorthand for the common case: a Triton validation message, INVALID_ARG. */
export function invalidConfig(message: string): ConfigError {
  return new ConfigError(message, { kind: 'invalid' });
}
