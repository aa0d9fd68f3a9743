/**
 * Where benchmark results go, and the one function the bench scripts write them with. bench-results/<name>.md
 * and .json are the CURRENT result of a benchmark (what README and docs link to); the result a new run replaces
 * moves to bench-results/history/ and a row is added to the history table of bench-results/README.md, so the
 * folder never again holds every run ever made side by side with nothing saying which one counts.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { packageInfo } from '../../src/protocol/package-info.ts';

export const BENCH_RESULTS_DIR = join(packageInfo().root, 'bench-results');

/** bench-results/<name> (no extension): the default `--out` of a benchmark. */
export function currentResultBase(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Error(`invalid benchmark result name '${name}'`);
  return join(BENCH_RESULTS_DIR, name);
}

export interface BenchResultFiles {
  /** Written as <base>.json, pretty-printed. */
  json?: unknown;
  /** Written as <base>.md. */
  markdown?: string;
  /**
   * One line for the history table (the headline figure). Also stored in the JSON as `headline` (when the
   * JSON is an object), so that a run adopted from another machine (adopt-results.ts) brings its own line.
   */
  summary?: string;
  /** The history row's note when it must say more than `summary` (adoption adds where the run came from). */
  rowNote?: string;
}

/** The JSON key holding a result's history line (see BenchResultFiles.summary). */
export const HEADLINE_KEY = 'headline';

/** `json` with the headline stored in it: only for a plain object, and without touching the caller's value. */
function withHeadline(json: unknown, summary: string | undefined): unknown {
  if (summary === undefined || typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  return { [HEADLINE_KEY]: summary, ...(json as Record<string, unknown>) };
}

/** The headline stored in a result's JSON, if it has one (a non-empty string on one line). */
export function storedHeadline(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const h = (json as Record<string, unknown>)[HEADLINE_KEY];
  return typeof h === 'string' && h.trim() !== '' && !/[\r\n]/.test(h) ? h.trim() : undefined;
}

function freeHistoryBase(historyDir: string, name: string, day: string): string {
  for (let n = 1; ; n++) {
    const base = join(historyDir, n === 1 ? `${name}-until-${day}` : `${name}-until-${day}-${n}`);
    if (!existsSync(`${base}.md`) && !existsSync(`${base}.json`)) return base;
  }
}

/**
 * Writes a benchmark's result to `base` (+ .json / .md) and returns the paths written. When `base` is a current
 * result in bench-results/, the files it replaces move to bench-results/history/<name>-until-<day>.* first and
 * the history table gets a row; any other `base` (a `--out` elsewhere, a scratch run) is just written.
 */
export function writeBenchResults(
  base: string,
  files: BenchResultFiles,
  { now = new Date(), resultsDir = BENCH_RESULTS_DIR }: { now?: Date; resultsDir?: string } = {},
): string[] {
  const target = resolve(base);
  const historyDir = join(resultsDir, 'history');
  const index = join(resultsDir, 'README.md');
  mkdirSync(dirname(target), { recursive: true });
  const exts = [
    ...(files.json !== undefined ? ['.json'] : []),
    ...(files.markdown !== undefined ? ['.md'] : []),
  ];
  if (dirname(target) === resolve(resultsDir)) {
    const name = basename(target);
    const day = now.toISOString().slice(0, 10);
    const old = ['.json', '.md'].filter((ext) => existsSync(`${target}${ext}`));
    if (old.length > 0) {
      mkdirSync(historyDir, { recursive: true });
      const archived = freeHistoryBase(historyDir, name, day);
      for (const ext of old) renameSync(`${target}${ext}`, `${archived}${ext}`);
      const link = `history/${basename(archived)}${old.includes('.md') ? '.md' : '.json'}`;
      if (existsSync(index)) {
        const text = readFileSync(index, 'utf8');
        const row = `| ${day} | ${name} | [${basename(link)}](${link}) | replaced by a new run: ${(files.rowNote ?? files.summary ?? '').replace(/\|/g, '\\|')} |\n`;
        writeFileSync(index, text.endsWith('\n') ? text + row : `${text}\n${row}`);
      }
    }
  }
  const written: string[] = [];
  for (const ext of exts) {
    const path = `${target}${ext}`;
    writeFileSync(
      path,
      ext === '.json'
        ? `${JSON.stringify(withHeadline(files.json, files.summary), null, 2)}\n`
        : (files.markdown as string),
    );
    written.push(path);
  }
  return written;
}
