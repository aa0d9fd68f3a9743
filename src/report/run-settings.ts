/**
 * Renderers are pure functions of a RunResult; the settings they describe live in `RunResult.config` (the
 * resolved `ProfileSettings`, extra keys allowed). This reads them back, validated, so a record loaded from
 * disk renders the same as one fresh from the profiler.
 */
import { z } from 'zod';
import { OptionError } from '../errors.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { RunResult } from './model.ts';
import { profileSettingsSchema } from './profile-settings-schema.ts';

/** The ProfileSettings stored in `result.config`; throws OptionError (exit 3) when they are missing or malformed. */
export function settingsOf(result: RunResult): ProfileSettings {
  const parsed = profileSettingsSchema.safeParse(result.config);
  if (!parsed.success) {
    throw new OptionError(
      `run record config is not a valid ProfileSettings:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

/** Options of the text renderers that are not part of the run (perf_analyzer's `-v`). */
export interface TextRenderOptions {
  verbose: boolean;
}
