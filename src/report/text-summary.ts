/**
 * perf_analyzer's closing summary (§3.5): one line per reported level in measured order. Model Analyzer and
 * many shell scripts grep these lines, so their shape is fixed.
 */
import type { RunResult } from './model.ts';
import { formatCppDouble, truncUs } from './number-format.ts';
import { settingsOf } from './run-settings.ts';

/** The summary, or '' when no level was reported (perf_analyzer then prints nothing). */
export function renderSummary(result: RunResult): string {
  const reported = result.levels.filter((l) => l.reported && l.merged);
  if (reported.length === 0) return '';
  const p = settingsOf(result).measurement.percentile;
  const title = `Inferences/Second vs. Client ${p === undefined ? 'Average' : `p${p}`} Batch Latency`;
  const lines = reported.map((level) => {
    const load =
      level.mode === 'concurrency'
        ? `Concurrency: ${level.value}`
        : `Request Rate: ${formatCppDouble(level.value)}`;
    const tput = formatCppDouble(level.merged!.throughputPerSec);
    return `${load}, throughput: ${tput} infer/sec, latency ${truncUs(level.stabilizingLatencyUs ?? 0)} usec`;
  });
  return [title, ...lines].join('\n') + '\n';
}
