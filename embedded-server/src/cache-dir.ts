/**
 * The per-user cache directory the embedded repository is materialised in: `$XDG_CACHE_HOME/inferbench`, or
 * `~/.cache/inferbench`. It is created with mode 0700 and, before each reuse, checked to be a real directory
 * (not a symlink) owned by this user and not writable by group or others: a shared `$TMPDIR` let another
 * local user plant a model where the server would load it. Anything else is refused with what is wrong and
 * how to fix it.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** A cache directory that is not safe to use; the message says why and what to do. */
export class CacheDirError extends Error {
  readonly code = 'ERR_CACHE_DIR';
  constructor(message: string) {
    super(message);
    this.name = 'CacheDirError';
  }
}

/** `$XDG_CACHE_HOME/inferbench` when XDG_CACHE_HOME is an absolute path (XDG spec), else `~/.cache/inferbench`. */
export function cacheDirPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'inferbench');
}

/** Throws CacheDirError unless `dir` is a directory owned by this user with no group/other write bit. */
export async function assertPrivateDir(dir: string): Promise<void> {
  const st = await lstat(dir);
  if (st.isSymbolicLink()) {
    throw new CacheDirError(`cache directory ${dir} is a symbolic link; remove it (inferbench recreates it)`);
  }
  if (!st.isDirectory()) throw new CacheDirError(`cache directory ${dir} is not a directory; remove it`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CacheDirError(
      `cache directory ${dir} is owned by user id ${st.uid}, not by you (${uid}): refusing to load models from it; ` +
        'remove it or set XDG_CACHE_HOME to a directory of yours',
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new CacheDirError(
      `cache directory ${dir} is writable by ${st.mode & 0o002 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)}): ` +
        `refusing to load models from it; run chmod 700 ${dir}`,
    );
  }
}

/** Creates the cache directory (mode 0700) when missing, checks it, and returns its path. */
export async function privateCacheDir(dir: string = cacheDirPath()): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await assertPrivateDir(dir);
  return dir;
}
