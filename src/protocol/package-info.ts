/**
 * Who we are: inferbench's package root and version, found by walking up from this file to the nearest
 * package.json named inferbench, so it is right from the TypeScript sources and from dist/ alike. In the kernel
 * because both sides report it (server metadata, run records).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  /** Directory holding inferbench's package.json. */
  root: string;
  version: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'inferbench') {
        cached = { root: dir, version: pkg.version ?? '0.0.0' };
        return cached;
      }
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("cannot find inferbench's package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function packageVersion(): string {
  return packageInfo().version;
}
