/**
 * Server-side statistics per window, as perf_analyzer forms them (§5.2): deltas of two cumulative statistics
 * snapshots and version selection when the user gave none. The averages derived from a delta (queue / compute /
 * overhead, the cache and ensemble variants) live in one place only: src/report/server-figures.ts.
 */
import type { DurationStat, ServerStatsDelta } from '../report/model.ts';
import type { ModelStatsSnapshot } from '../transport/server-api.ts';

const DURATION_FIELDS = [
  'success',
  'fail',
  'queue',
  'computeInput',
  'computeInfer',
  'computeOutput',
  'cacheHit',
  'cacheMiss',
] as const;

/** end − start for one model version; a missing start counts as all zeros (perf_analyzer). */
export function serverStatsDelta(
  start: ModelStatsSnapshot | undefined,
  end: ModelStatsSnapshot,
  composing: ServerStatsDelta[] = [],
): ServerStatsDelta {
  const d = (f: (typeof DURATION_FIELDS)[number]): DurationStat => ({
    count: end[f].count - (start?.[f].count ?? 0),
    ns: end[f].ns - (start?.[f].ns ?? 0),
  });
  return {
    model: end.name,
    version: end.version,
    inferenceCount: end.inferenceCount - (start?.inferenceCount ?? 0),
    executionCount: end.executionCount - (start?.executionCount ?? 0),
    success: d('success'),
    fail: d('fail'),
    queue: d('queue'),
    computeInput: d('computeInput'),
    computeInfer: d('computeInfer'),
    computeOutput: d('computeOutput'),
    cacheHit: d('cacheHit'),
    cacheMiss: d('cacheMiss'),
    composing,
  };
}

/** perf_analyzer's warning when several versions of the model saw traffic and no version was given. */
export function multipleVersionsWarning(model: string): string {
  return `Multiple versions of model ${model} are loaded in the triton server, and the version to use was unspecified. The stats for that model may be inaccurate.`;
}

export const VERSION_NOT_FOUND = 'failed to find the requested model version';

export type VersionChoice = { version: string; warning?: string } | { error: string };

/**
 * Which version's statistics describe the window. Given a version: that one. Otherwise the version whose
 * queue.count grew; if several grew, the highest (numerically), with perf_analyzer's warning.
 */
export function selectStatsVersion(
  start: readonly ModelStatsSnapshot[],
  end: readonly ModelStatsSnapshot[],
  model: string,
  requestedVersion: string,
): VersionChoice {
  const candidates = end.filter((s) => s.name === model);
  if (requestedVersion !== '') {
    return candidates.some((s) => s.version === requestedVersion)
      ? { version: requestedVersion }
      : { error: VERSION_NOT_FOUND };
  }
  const grew = candidates.filter((e) => {
    const s = start.find((x) => x.name === model && x.version === e.version);
    return e.queue.count > (s?.queue.count ?? 0);
  });
  if (grew.length === 0) return { error: VERSION_NOT_FOUND };
  const highest = grew.reduce((a, b) => (compareVersions(b.version, a.version) > 0 ? b : a));
  return grew.length > 1
    ? { version: highest.version, warning: multipleVersionsWarning(model) }
    : { version: highest.version };
}

/**
 * Delta for the window of the selected version of `model` (with its composing models' deltas when it is an
 * ensemble), or the reason there is none.
 */
export function windowServerDelta(
  start: readonly ModelStatsSnapshot[],
  end: readonly ModelStatsSnapshot[],
  model: string,
  requestedVersion: string,
  composing: readonly ComposingModel[] = [],
): { delta: ServerStatsDelta; warnings: string[] } | { error: string } {
  const choice = selectStatsVersion(start, end, model, requestedVersion);
  if ('error' in choice) return choice;
  const endSnap = end.find((s) => s.name === model && s.version === choice.version)!;
  const startSnap = start.find((s) => s.name === model && s.version === choice.version);
  const inner = composingDeltas(start, end, composing, model);
  const warnings = choice.warning ? [choice.warning, ...inner.warnings] : inner.warnings;
  return { delta: serverStatsDelta(startSnap, endSnap, inner.deltas), warnings };
}

/**
 * A composing model of an ensemble as the config names it: `version` '' = any (the step's -1), and its own
 * composing models when it is itself an ensemble.
 */
export interface ComposingModel {
  name: string;
  version: string;
  composing: ComposingModel[];
}

/** perf_analyzer fetches the statistics of every model (empty name) when the model is an ensemble. */
export function needsAllModelStats(composing: readonly ComposingModel[]): boolean {
  return composing.length > 0;
}

/**
 * The window's deltas of an ensemble's composing models, recursively, from all-model snapshots. A composing
 * model's version is the step's, else the one whose queue count grew (the highest if several), else (no
 * traffic reached it in this window) its highest version with a zero delta. A model the server does not report
 * is left out, with a warning: the run goes on.
 */
export function composingDeltas(
  start: readonly ModelStatsSnapshot[],
  end: readonly ModelStatsSnapshot[],
  composing: readonly ComposingModel[],
  ensemble: string,
): { deltas: ServerStatsDelta[]; warnings: string[] } {
  const deltas: ServerStatsDelta[] = [];
  const warnings: string[] = [];
  for (const model of composing) {
    const candidates = end.filter((s) => s.name === model.name);
    let version = model.version;
    if (version === '') {
      const choice = selectStatsVersion(start, end, model.name, '');
      if ('version' in choice) {
        version = choice.version;
        if (choice.warning) warnings.push(choice.warning);
      } else if (candidates.length > 0) {
        version = candidates.reduce((a, b) => (compareVersions(b.version, a.version) > 0 ? b : a)).version;
      }
    }
    const endSnap = candidates.find((s) => s.version === version);
    if (!endSnap) {
      warnings.push(composingMissingWarning(model, ensemble));
      continue;
    }
    const startSnap = start.find((s) => s.name === model.name && s.version === version);
    const inner = composingDeltas(start, end, model.composing, model.name);
    warnings.push(...inner.warnings);
    deltas.push(serverStatsDelta(startSnap, endSnap, inner.deltas));
  }
  return { deltas, warnings };
}

/** The warning for a composing model whose statistics the server does not report. */
export function composingMissingWarning(model: ComposingModel, ensemble: string): string {
  const which = model.version === '' ? model.name : `${model.name} version ${model.version}`;
  return `Server statistics for composing model ${which} of ensemble ${ensemble} are not reported by the server; it is left out of the Server: block.`;
}

/** Sum of two deltas of the same model (window merge); composing models are summed by name and version. */
export function addServerDeltas(a: ServerStatsDelta, b: ServerStatsDelta): ServerStatsDelta {
  const add = (x: DurationStat, y: DurationStat): DurationStat => ({
    count: x.count + y.count,
    ns: x.ns + y.ns,
  });
  const composing = a.composing.map((ca) => {
    const cb = b.composing.find((c) => c.model === ca.model && c.version === ca.version);
    return cb ? addServerDeltas(ca, cb) : ca;
  });
  for (const cb of b.composing) {
    if (!a.composing.some((c) => c.model === cb.model && c.version === cb.version)) composing.push(cb);
  }
  return {
    model: a.model,
    version: a.version,
    inferenceCount: a.inferenceCount + b.inferenceCount,
    executionCount: a.executionCount + b.executionCount,
    success: add(a.success, b.success),
    fail: add(a.fail, b.fail),
    queue: add(a.queue, b.queue),
    computeInput: add(a.computeInput, b.computeInput),
    computeInfer: add(a.computeInfer, b.computeInfer),
    computeOutput: add(a.computeOutput, b.computeOutput),
    cacheHit: add(a.cacheHit, b.cacheHit),
    cacheMiss: add(a.cacheMiss, b.cacheMiss),
    composing,
  };
}

function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
