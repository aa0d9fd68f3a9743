/**
 * Why a model cannot be benchmarked, in the user's terms. When the server refuses the model's metadata, its
 * repository index tells apart a model that failed to load (its state and the load error, e.g.
 * `UNAVAILABLE: … Protobuf parsing failed`, exit 6) from a name the server does not have (the models it has
 * and the closest name, exit 3: a bad -m). A server without the index keeps the original error.
 */
import { ModelUnavailableError, OptionError, ServerError } from '../errors.ts';
import type { RepositoryIndexEntry, ServerApi } from '../transport/server-api.ts';
import { ServerApiError } from '../transport/server-api.ts';

/** Levenshtein distance (names are short; O(a·b) is fine). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/**
 * The name in `names` closest to `wanted`, when close enough to be a likely typo: case-insensitive, at most
 * a third of the name's length in edits (at least 1), or one name containing the other.
 */
export function closestName(wanted: string, names: readonly string[]): string | undefined {
  const w = wanted.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const n = name.toLowerCase();
    const distance = n.includes(w) || w.includes(n) ? 0.5 : editDistance(w, n);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(w.length, 3) / 3));
  return best.distance <= limit ? best.name : undefined;
}

/** The message for a model the server does not list. */
export function unknownModelMessage(wanted: string, index: readonly RepositoryIndexEntry[]): string {
  const names = [...new Set(index.map((e) => e.name))].sort();
  const suggestion = closestName(wanted, names);
  const available = names.length === 0 ? 'the server has no models' : `available models: ${names.join(', ')}`;
  return `unknown model '${wanted}': ${available}${suggestion ? `. Did you mean -m ${suggestion}?` : ''}`;
}

/** The message for a listed model that is not ready (with the server's reason). */
export function notReadyMessage(wanted: string, entries: readonly RepositoryIndexEntry[]): string {
  const lines = entries.map((e) => {
    const version = e.version ? ` version ${e.version}` : '';
    return `  ${e.name}${version}: ${e.state || 'not ready'}${e.reason ? `: ${e.reason}` : ''}`;
  });
  return `model '${wanted}' is not ready on the server (it failed to load):\n${lines.join('\n')}`;
}

/**
 * Turns a failed metadata call for `modelName` into the error the user should see; `original` is rethrown
 * (as a ServerError) when the index cannot say more.
 */
export async function explainModelFailure(
  api: Pick<ServerApi, 'repositoryIndex'>,
  modelName: string,
  original: ServerApiError,
  url: string,
): Promise<never> {
  const fallback = new ServerError(`failed to get model metadata from ${url}: ${original.message}`, {
    cause: original,
  });
  if (original.kind === 'unavailable' || !api.repositoryIndex) throw fallback;
  let index: RepositoryIndexEntry[];
  try {
    index = await api.repositoryIndex();
  } catch (e) {
    if (e instanceof ServerApiError) throw fallback;
    throw e;
  }
  const entries = index.filter((e) => e.name === modelName);
  if (entries.length === 0) throw new OptionError(unknownModelMessage(modelName, index), { cause: original });
  if (entries.some((e) => e.state !== 'READY')) {
    throw new ModelUnavailableError(
      notReadyMessage(
        modelName,
        entries.filter((e) => e.state !== 'READY'),
      ),
      { cause: original },
    );
  }
  throw fallback;
}
