/**
 * What differs between the baseline's and the current run's reproducibility manifests, as warning lines for
 * `compare`: a verdict between runs of different settings, servers, models or hosts may measure those
 * differences rather than the change under test. Tool version/commit differences are listed too (usually the
 * point of the comparison). The load average is compared with slack (it always moves a little).
 */
import type { RunManifest } from '../report/manifest.ts';
import type { ComparableRun } from './comparable.ts';

/** Load averages closer than this (absolute, 1-minute) are not reported as a difference. */
const LOAD_AVERAGE_SLACK = 0.5;
/** At most this many differing settings are listed one by one. */
const MAX_LISTED = 12;

/** Flattens an object into `a.b.c` → value (arrays as JSON). */
function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  out.set(prefix, JSON.stringify(value));
}

/** Manifest fields that differ between runs of the same setup (ports of the embedded server, output files). */
function comparableView(m: RunManifest): Map<string, string> {
  const out = new Map<string, string>();
  const settings = { ...m.settings } as Record<string, unknown>;
  const target = settings.target as { kind?: string } | undefined;
  const profile = { ...((settings.profile as Record<string, unknown> | undefined) ?? {}) };
  // The embedded server listens on a free port each run; its URL says nothing about the setup.
  if (target?.kind === 'embedded') delete profile.url;
  if (profile.metrics && typeof profile.metrics === 'object')
    profile.metrics = { ...(profile.metrics as object), url: undefined };
  settings.profile = profile;
  delete settings.output;
  flatten({ tool: m.tool, settings, seed: m.seed, server: m.server, node: m.node }, '', out);
  const { loadAverage: _l, ...host } = m.host;
  flatten({ host }, '', out);
  return out;
}

function firstManifest(runs: readonly ComparableRun[]): RunManifest | undefined {
  return runs.find((r) => r.manifest)?.manifest;
}

/** Warning lines for every manifest difference between (and within) the sides. */
export function diffManifests(
  baselines: readonly ComparableRun[],
  currents: readonly ComparableRun[],
): string[] {
  const warnings: string[] = [];
  const all = [...baselines, ...currents];
  const without = all.filter((r) => !r.manifest).map((r) => r.source);
  if (without.length > 0) {
    warnings.push(
      `No reproducibility manifest in ${without.join(', ')} (a CSV or an older record): settings, server and host cannot be checked for differences.`,
    );
  }
  const reference = firstManifest(baselines) ?? firstManifest(currents);
  if (!reference) return warnings;
  const refSource = all.find((r) => r.manifest === reference)?.source ?? '';
  const ref = comparableView(reference);
  for (const run of all) {
    if (!run.manifest || run.manifest === reference) continue;
    const other = comparableView(run.manifest);
    const keys = [...new Set([...ref.keys(), ...other.keys()])].sort();
    const differing = keys.filter((k) => ref.get(k) !== other.get(k));
    const lines = differing
      .slice(0, MAX_LISTED)
      .map((k) => `${k}: ${clip(ref.get(k))} vs ${clip(other.get(k))}`);
    if (differing.length > MAX_LISTED) lines.push(`… and ${differing.length - MAX_LISTED} more`);
    const la = reference.host.loadAverage[0] ?? 0;
    const lb = run.manifest.host.loadAverage[0] ?? 0;
    if (Math.abs(la - lb) > LOAD_AVERAGE_SLACK) {
      lines.push(`host.loadAverage (1 min): ${la.toFixed(2)} vs ${lb.toFixed(2)}`);
    }
    if (lines.length > 0) {
      warnings.push(`${refSource} and ${run.source} differ in: ${lines.join('; ')}`);
    }
  }
  return warnings;
}

function clip(text: string | undefined): string {
  if (text === undefined) return '(absent)';
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
