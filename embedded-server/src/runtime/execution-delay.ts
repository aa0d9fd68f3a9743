/**
 * Model parameter `inferbench.execution_delay_us`: a fixed delay added to every execution of the model, inside
 * compute_infer, on the instance's worker thread (the thread sleeps, as a slower model would keep it busy, but
 * without burning a core). Off by default. It exists to give benchmarks a known, real slowdown — e.g.
 * `npm run bench:gate` checks that `compare` detects a 20 % slowdown and does not flag a 2 % one:
 *
 *   parameters { key: "inferbench.execution_delay_us" value: { string_value: "2000" } }
 */

import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { usToMs } from '../../../src/protocol/units.ts';
import { RuntimeConfigError } from './runtime-errors.ts';

export const EXECUTION_DELAY_PARAMETER = 'inferbench.execution_delay_us';

/** Longest delay accepted (10 s): beyond that a request timeout is the better tool. */
export const MAX_EXECUTION_DELAY_US = 10_000_000;

/** The delay (µs) the config asks for; 0 when absent. Throws RuntimeConfigError for a bad value. */
export function executionDelayUs(config: Pick<ModelConfig, 'parameters'>): number {
  const raw = config.parameters[EXECUTION_DELAY_PARAMETER]?.stringValue;
  if (raw === undefined) return 0;
  const text = raw.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_EXECUTION_DELAY_US) {
    throw new RuntimeConfigError(
      `parameter '${EXECUTION_DELAY_PARAMETER}' must be a whole number of microseconds from 0 to ${MAX_EXECUTION_DELAY_US}; got '${raw}'`,
    );
  }
  return n;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling (worker) thread for `us` microseconds without spinning. */
export function sleepThreadUs(us: number): void {
  if (us > 0) Atomics.wait(sleepCell, 0, 0, usToMs(us));
}
