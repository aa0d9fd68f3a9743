/**
 * Behind `npm run bench:adopt -- DIR…` (adopt.ts): makes the result files of a run made elsewhere (the GPU host, whose copy of the
 * repository does not come back) the current results here, exactly as if the run had written them in this
 * checkout: each `<name>.json` / `<name>.md` pair in DIR replaces bench-results/<name>.*, the files it replaces
 * move to bench-results/history/ and the index gets a history row (writeBenchResults) with the run's own
 * headline, read from its JSON. On the device, give
 * each benchmark `--out $OUT/<name>` (the name it has in bench-results/), then adopt the files that come back.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_RESULTS_DIR, storedHeadline, writeBenchResults } from './bench-results.ts';

export interface AdoptedResult {
  name: string;
  written: string[];
}

/** The result names in `dir`: every `<name>.json` or `<name>.md`, each name once, sorted. */
export function resultNames(dir: string): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(dir)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)\.(json|md)$/.exec(file);
    if (m?.[1]) names.add(m[1]);
  }
  return [...names].sort();
}

/** Adopts every result in `dir` into `resultsDir` (default bench-results/). */
export function adoptResults(
  dir: string,
  { now = new Date(), resultsDir = BENCH_RESULTS_DIR }: { now?: Date; resultsDir?: string } = {},
): AdoptedResult[] {
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  const names = resultNames(dir);
  if (names.length === 0) throw new Error(`${dir}: no <name>.json or <name>.md result files`);
  // Every file is read and checked before anything is written: a broken file adopts nothing.
  const loaded = names.map((name) => {
    const jsonPath = join(dir, `${name}.json`);
    const mdPath = join(dir, `${name}.md`);
    let json: unknown;
    if (existsSync(jsonPath)) {
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8'));
      } catch (e) {
        throw new Error(`${jsonPath}: not JSON (${(e as Error).message})`);
      }
    }
    const markdown = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : undefined;
    return { name, json, markdown };
  });
  return loaded.map(({ name, json, markdown }) => ({
    name,
    written: writeBenchResults(
      join(resultsDir, name),
      {
        ...(json !== undefined ? { json } : {}),
        ...(markdown !== undefined ? { markdown } : {}),
        // The run's own headline (bench-results.ts stores it in the JSON), then where it came from; the JSON
        // itself is adopted as it is.
        rowNote: [storedHeadline(json), `adopted from ${dir}`].filter(Boolean).join('; '),
      },
      { now, resultsDir },
    ),
  }));
}
