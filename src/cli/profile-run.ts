/**
 * The profile command's core, shared by the CLI (main.ts) and the library (src/index.ts): flags (from the
 * command line, a config file or a config object) → resolved run → measured record with its gates applied.
 * What the CLI adds around it is presentation only: progress, the per-level blocks and the output files.
 */
import { configToFlags } from '../config/config-flags.ts';
import { checkBenchConfig } from '../config/load-config.ts';
import type { ThresholdVerdict } from '../gate/thresholds.ts';
import type { RawFlags } from '../options/profile-options.ts';
import type { RunResult } from '../report/model.ts';
import type { RequestTrace } from '../report/request-trace.ts';
import { applyGates } from './gates.ts';
import { type FileView, resolveSettings } from './resolve-settings.ts';
import type { ResolvedRun, RunBenchmark, RunContext } from './run-types.ts';

/** A config object (the keys of a `-c` file) as the run settings; throws OptionError naming the bad key. */
export function resolveProfileConfig(
  config: unknown,
  files: FileView,
  source = 'profile settings',
): { flags: RawFlags; resolved: ResolvedRun } {
  const flags = configToFlags(checkBenchConfig(config, source));
  return { flags, resolved: resolveSettings(flags, { programName: 'inferbench', files }) };
}

export interface ProfiledRun {
  /** The run record, with `gates` recorded when thresholds were given. */
  result: RunResult;
  verdicts: ThresholdVerdict[];
  /** Per-request times (the profile export's), kept out of the record. */
  requestTrace: RequestTrace | undefined;
}

/** Measures a resolved run and evaluates its thresholds. */
export async function measureProfile(
  resolved: ResolvedRun,
  run: RunBenchmark,
  context: RunContext,
): Promise<ProfiledRun> {
  const { requestTrace, ...record } = await run(resolved, context);
  const { result, verdicts } = applyGates(record, resolved.thresholds);
  return { result, verdicts, requestTrace };
}
