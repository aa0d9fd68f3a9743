/**
 * Copying the CUDA provider libraries next to onnxruntime-node's core library. Each file is written under a
 * temporary name and renamed into place, so a process that has the old library mapped keeps a consistent
 * file and a half-copied library is never seen under the real name.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PROVIDER_LIBRARIES, type ProviderLibrary } from './cuda-provider-package.ts';

/** What installing one library means: it is `missing`, `different` (will be replaced) or `identical`. */
export interface LibraryPlan {
  library: string;
  source: string;
  target: string;
  state: 'missing' | 'different' | 'identical';
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size !== sb.size) return false;
  const [ha, hb] = await Promise.all([sha256Of(a), sha256Of(b)]);
  return ha === hb;
}

/** True when every provider library in `targetDir` has the expected SHA-256. */
export async function librariesMatch(
  targetDir: string,
  sha256: Readonly<Record<ProviderLibrary, string>>,
): Promise<boolean> {
  for (const library of PROVIDER_LIBRARIES) {
    const target = join(targetDir, library);
    if ((await stat(target).catch(() => undefined)) === undefined) return false;
    if ((await sha256Of(target)) !== sha256[library]) return false;
  }
  return true;
}

/** Compares every provider library in `sourceDir` with its counterpart in `targetDir`. */
export async function planLibraryInstall(sourceDir: string, targetDir: string): Promise<LibraryPlan[]> {
  const plans: LibraryPlan[] = [];
  for (const library of PROVIDER_LIBRARIES) {
    const source = join(sourceDir, library);
    const target = join(targetDir, library);
    const existing = await stat(target).catch(() => undefined);
    const state =
      existing === undefined ? 'missing' : (await sameContent(source, target)) ? 'identical' : 'different';
    plans.push({ library, source, target, state });
  }
  return plans;
}

/** Copies every library that is not already identical; returns the ones written. */
export async function installLibraries(plans: readonly LibraryPlan[]): Promise<LibraryPlan[]> {
  const written: LibraryPlan[] = [];
  for (const plan of plans) {
    if (plan.state === 'identical') continue;
    const partial = `${plan.target}.partial-${process.pid}`;
    try {
      await copyFile(plan.source, partial);
      await rename(partial, plan.target);
    } finally {
      await rm(partial, { force: true });
    }
    written.push(plan);
  }
  return written;
}
