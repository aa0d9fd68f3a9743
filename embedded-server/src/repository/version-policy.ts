/**
 * Version directories and Triton's version policy: which `<model>/<n>/` directories count as versions and
 * which of them a model serves (latest N, all, or specific versions).
 */
import type { ModelVersionPolicy } from '../../../src/protocol/gen/model_config_pb.ts';

/** Subdirectories of a model directory that are never versions. */
export const NON_VERSION_DIRS: ReadonlySet<string> = new Set(['warmup', 'configs', 'initial_state']);

export type VersionDirVerdict = { version: bigint } | { skipped: string } | { ignored: true };

/**
 * Classifies a subdirectory name: a version number, a name Triton skips with a warning (leading zeros,
 * not a number), or a known non-version folder.
 */
export function parseVersionDir(name: string): VersionDirVerdict {
  if (NON_VERSION_DIRS.has(name)) return { ignored: true };
  if (/^0\d+$/.test(name)) {
    return {
      skipped: `ignore version directory '${name}' which contains leading zeros in its directory name`,
    };
  }
  if (!/^(0|[1-9]\d*)$/.test(name)) {
    return { skipped: `ignore version directory '${name}' which fails to convert to integral number` };
  }
  return { version: BigInt(name) };
}

export interface VersionSelection {
  /** Ascending. */
  versions: bigint[];
  /** One message per `specific` version whose directory is missing (Triton logs them as errors). */
  problems: string[];
}

/** Applies the policy (absent: `latest {num_versions: 1}`) to the versions found on disk. */
export function selectVersions(
  policy: ModelVersionPolicy | undefined,
  available: readonly bigint[],
  modelName: string,
): VersionSelection {
  const sorted = [...new Set(available)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const choice = policy?.policyChoice ?? { case: 'latest' as const, value: { numVersions: 1 } };
  switch (choice.case) {
    case 'specific': {
      const wanted = [...new Set(choice.value.versions)];
      const present = new Set(sorted);
      return {
        versions: sorted.filter((v) => wanted.includes(v)),
        problems: wanted
          .filter((v) => !present.has(v))
          .map(
            (v) =>
              `version ${v} is specified for model '${modelName}', but the version directory is not present`,
          ),
      };
    }
    case 'latest':
      return { versions: sorted.slice(Math.max(0, sorted.length - choice.value.numVersions)), problems: [] };
    default:
      // `all {}`, and (as in Triton) a version_policy with no choice set.
      return { versions: sorted, problems: [] };
  }
}
