/**
 * Which build of the bundled server a benchmark runs. By default the compiled one (`dist/`, what `npm run
 * build` emits and `inferbench serve` runs); the TypeScript sources through tsx only when asked: tsx's
 * transform keeps function names by wrapping every closure a request creates in a `__name` call
 * (Object.defineProperty), which users' server never pays (measured: ensemble overhead at c=1 30-40 % higher).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunningServer, StartServerOptions } from '../../embedded-server/src/index.ts';

export type StartServer = (options?: StartServerOptions) => Promise<RunningServer>;

/** Where `startServer` lives in the checkout at `root`: its dist/ build, or (`source`) its sources. */
export function serverEntry(root: string, source: boolean): string {
  return source
    ? join(root, 'embedded-server', 'src', 'index.ts')
    : join(root, 'dist', 'embedded-server', 'src', 'index.js');
}

/** `startServer` of the checkout at `root`; a clear error when its build is missing. */
export async function loadStartServer(root: string, source: boolean): Promise<StartServer> {
  const path = serverEntry(root, source);
  let mod: { startServer?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { startServer?: unknown };
  } catch (e) {
    throw new Error(
      `cannot load the server from ${path}${source ? '' : ' (run `npm run build` in that checkout first)'}: ${(e as Error).message}`,
    );
  }
  if (typeof mod.startServer !== 'function') throw new Error(`${path} does not export startServer`);
  return mod.startServer as StartServer;
}
