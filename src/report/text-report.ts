/**
 * The whole stdout of a run, as perf_analyzer prints it: settings block, every level, closing summary.
 * (The CLI may print the pieces as they happen instead; the concatenation is the same text.)
 */
import type { RunResult } from './model.ts';
import type { TextRenderOptions } from './run-settings.ts';
import { renderLevels } from './text-level.ts';
import { renderSettingsBlock } from './text-settings.ts';
import { renderSummary } from './text-summary.ts';

export function renderTextReport(result: RunResult, options: TextRenderOptions): string {
  return renderSettingsBlock(result) + renderLevels(result, options) + renderSummary(result);
}
