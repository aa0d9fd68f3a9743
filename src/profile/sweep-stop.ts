/**
 * Whether a measured level ends the sweep, and with which exit code — perf_analyzer's rules, shared by the
 * profiler and `inferbench merge` (which judges shards' merged levels as one generator would have).
 */
import { ExitCode, type ExitCodeValue } from '../errors.ts';
import type { LevelStatus } from '../report/model.ts';

/** `first`: the sweep's first level. `undefined`: the sweep goes on. */
export function sweepStopCode(status: LevelStatus, first: boolean): ExitCodeValue | undefined {
  switch (status) {
    case 'stable':
    case 'single':
    case 'over_latency_limit':
      return undefined;
    case 'unstable':
      // A later unstable level ends the sweep without failing it, as perf_analyzer does.
      return first ? ExitCode.Unstable : undefined;
    case 'errors_over_limit':
      return ExitCode.ErrorsOverLimit;
    case 'no_data':
      return ExitCode.NoData;
    case 'interrupted':
      return first ? ExitCode.Interrupted : ExitCode.Success;
  }
}
