/**
 * Closed-loop HTTP keeps one connection (one file descriptor) per request in flight, so a concurrency above the
 * process's open-file limit never ends a window: sockets fail with EMFILE and nothing says why. Checked before
 * the run against the soft RLIMIT_NOFILE (read from /proc/self/limits; skipped where that is not available).
 */
import { readFileSync } from 'node:fs';
import { OptionError } from '../errors.ts';
import type { ProfileSettings } from '../profile/settings.ts';

/** Descriptors kept for everything else the process opens (files, the stats connection, worker pipes…). */
export const RESERVED_FDS = 64;

/** The soft open-file limit, or undefined when it cannot be read (not Linux) or is unlimited. */
export function softOpenFileLimit(
  readText: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): number | undefined {
  try {
    const line = readText('/proc/self/limits')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1]?.trim();
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** Throws OptionError (exit 3) when the run would need more connections than the limit allows. */
export function checkOpenFileLimit(
  settings: ProfileSettings,
  limit: number | undefined = softOpenFileLimit(),
): void {
  if (limit === undefined || settings.protocol !== 'http' || settings.load.mode !== 'concurrency') return;
  const concurrency = Math.max(settings.load.range.start, settings.load.range.end);
  if (concurrency + RESERVED_FDS <= limit) return;
  throw new OptionError(
    `Failed to parse --concurrency-range. Concurrency ${concurrency} needs ${concurrency} HTTP connections, but this process may open only ${limit} files (ulimit -n): raise the limit (ulimit -n ${concurrency + RESERVED_FDS}) or lower the concurrency.`,
  );
}
