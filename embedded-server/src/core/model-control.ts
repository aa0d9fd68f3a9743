/**
 * Triton's model control modes (`--model-control-mode`, reference §0 and §1.12):
 * - `none` (default): every repository model is loaded at startup; the repository load/unload API is refused.
 * - `poll`: as `none`, and the repository is re-read every `--repository-poll-secs`: new models load, changed
 *   ones reload, removed ones unload. The load/unload API is refused too.
 * - `explicit`: only the models named by `--load-model` load at startup (`*` = all); the load/unload API works.
 * The refusal is Triton's text and status (UNAVAILABLE → HTTP 503), so clients written for Triton react alike.
 */
import { InferenceError } from '../../../src/protocol/status.ts';

export const MODEL_CONTROL_MODES = ['none', 'poll', 'explicit'] as const;
export type ModelControlMode = (typeof MODEL_CONTROL_MODES)[number];

/** Triton's default poll interval, seconds. */
export const DEFAULT_REPOSITORY_POLL_SECS = 15;
/** The longest poll interval accepted (one day): beyond that polling is pointless. */
export const MAX_REPOSITORY_POLL_SECS = 86_400;
/** `--load-model *`: every model of the repository. */
export const LOAD_ALL_MODELS = '*';

export interface ModelControl {
  readonly mode: ModelControlMode;
  /** `--load-model` names (explicit mode only); `['*']` = all. */
  readonly loadModels: readonly string[];
}

export const DEFAULT_MODEL_CONTROL: ModelControl = Object.freeze({ mode: 'none', loadModels: [] });

/** Triton's refusal of the repository load/unload API outside explicit mode. */
export function modelControlRefusal(): InferenceError {
  return new InferenceError(
    'UNAVAILABLE',
    'explicit model load / unload is not allowed if polling is enabled',
  );
}

/** Throws Triton's refusal unless the load/unload API is allowed in this mode. */
export function assertLoadApiAllowed(control: ModelControl): void {
  if (control.mode !== 'explicit') throw modelControlRefusal();
}

/** A `--load-model` list that cannot be served: the message says which names and why. */
export class LoadModelError extends Error {
  readonly code = 'ERR_LOAD_MODEL';
  constructor(message: string) {
    super(message);
    this.name = 'LoadModelError';
  }
}

/**
 * The models to load at startup. `none`/`poll`: all of them. `explicit`: the `--load-model` names (all for
 * `*`); a name the repository does not have is an error (Triton fails startup with "failed to poll").
 */
export function startupModels(control: ModelControl, repositoryModels: readonly string[]): string[] {
  if (control.mode !== 'explicit') return [...repositoryModels];
  if (control.loadModels.includes(LOAD_ALL_MODELS)) return [...repositoryModels];
  const known = new Set(repositoryModels);
  const missing = control.loadModels.filter((n) => !known.has(n));
  if (missing.length > 0) {
    throw new LoadModelError(
      `failed to load ${missing.map((n) => `'${n}'`).join(', ')}, failed to poll from model repository: ` +
        'no such model directory (--load-model)',
    );
  }
  return [...new Set(control.loadModels)];
}
