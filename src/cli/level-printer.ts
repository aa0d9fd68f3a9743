/**
 * Each level's stdout block as soon as the level is measured (perf_analyzer prints a level when it finishes),
 * instead of everything after the sweep. Levels a runner did not announce (no level_end event) are printed at
 * the end, so the stdout of a run is the same blocks in the same order either way.
 */
import type { ProfileSettings } from '../profile/settings.ts';
import type { LevelResult, ModelInfo, RunResult } from '../report/model.ts';
import type { TextRenderOptions } from '../report/run-settings.ts';
import { renderLevelOf } from '../report/text-level.ts';

export interface LevelPrinter {
  onModel(model: ModelInfo): void;
  /** A level just ended: print its block now. */
  onLevel(level: LevelResult): void;
  /** After the run: print the levels not printed yet (runners that send no events, a level cut short). */
  finish(result: RunResult): void;
}

export function createLevelPrinter(
  stdout: { write(text: string): unknown },
  settings: ProfileSettings,
  options: TextRenderOptions,
): LevelPrinter {
  let printed = 0;
  let responseCache = false;
  const print = (level: LevelResult): void => {
    stdout.write(renderLevelOf({ settings, responseCache }, level, options));
    printed += 1;
  };
  return {
    onModel(model) {
      responseCache = model.responseCache;
    },
    onLevel: print,
    finish(result) {
      responseCache = result.model.responseCache;
      for (const level of result.levels.slice(printed)) print(level);
    },
  };
}
