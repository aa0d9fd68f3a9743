/**
 * `--model-control-mode poll`: every `--repository-poll-secs` the repository is re-read and compared with the
 * previous poll, as Triton does: a new model directory loads, a changed one (any file added, removed,
 * resized or touched) reloads (the old versions keep serving until the new ones are READY), a removed one
 * unloads. Polls never overlap; a failed load is logged and leaves the model as the manager recorded it.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../../src/protocol/clock.ts';
import { NS_PER_S } from '../../../src/protocol/units.ts';
import type { Logger } from './model-manager.ts';

/** Entries looked at per model directory: a directory with more is fingerprinted by its first ones only. */
const MAX_FINGERPRINT_ENTRIES = 10_000;
/** Depth of the walk below a model directory (`<model>/<version>/model.onnx/model.onnx` is depth 3). */
const MAX_FINGERPRINT_DEPTH = 4;

/** What the poller drives (the ModelManager, not the core: the load API itself stays refused in poll mode). */
export interface PolledModels {
  loadModel(name: string): Promise<void>;
  unloadModel(name: string): Promise<void>;
}

export interface RepositoryPollerOptions {
  repositoryDir: string;
  intervalSecs: number;
  models: PolledModels;
  clock: Clock;
  log: Logger;
}

export interface RepositoryPoller {
  /** Runs one poll now (tests; the timer calls it too). Resolves when its loads and unloads are done. */
  pollNow(): Promise<void>;
  /** Stops polling; resolves once a poll in progress has finished. */
  stop(): Promise<void>;
}

async function modelDirs(repositoryDir: string): Promise<string[]> {
  const names = await readdir(repositoryDir, { withFileTypes: true });
  const dirs: string[] = [];
  for (const e of names) {
    if (e.name.startsWith('.')) continue;
    const st = await stat(join(repositoryDir, e.name)).catch(() => undefined);
    if (st?.isDirectory()) dirs.push(e.name);
  }
  return dirs.sort();
}

/** Names, sizes and modification times of a model directory's files (symlinks followed), bounded. */
export async function fingerprintModelDir(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (path: string, rel: string, depth: number): Promise<void> => {
    if (parts.length >= MAX_FINGERPRINT_ENTRIES) return;
    const st = await stat(path).catch(() => undefined);
    if (!st) {
      parts.push(`${rel}|missing`);
      return;
    }
    parts.push(`${rel}|${st.isDirectory() ? 'd' : st.size}|${st.mtimeMs}`);
    if (!st.isDirectory() || depth >= MAX_FINGERPRINT_DEPTH) return;
    const names = (await readdir(path).catch(() => [] as string[])).sort();
    for (const name of names) await walk(join(path, name), `${rel}/${name}`, depth + 1);
  };
  await walk(dir, '.', 0);
  return parts.join('\n');
}

async function fingerprints(repositoryDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await modelDirs(repositoryDir)) {
    out.set(name, await fingerprintModelDir(join(repositoryDir, name)));
  }
  return out;
}

/**
 * Takes the baseline now (call it before the startup load, so a change made during that load is seen by the
 * first poll) and polls every `intervalSecs` from then on.
 */
export async function startRepositoryPoller(options: RepositoryPollerOptions): Promise<RepositoryPoller> {
  const { repositoryDir, models, clock, log } = options;
  let previous = await fingerprints(repositoryDir);
  let timer: TimerHandle | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const poll = async (): Promise<void> => {
    let current: Map<string, string>;
    try {
      current = await fingerprints(repositoryDir);
    } catch (e) {
      log.error(`failed to poll the model repository: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const work: Promise<void>[] = [];
    for (const [name, fp] of current) {
      const before = previous.get(name);
      if (before === fp) continue;
      log.info(
        before === undefined ? `poll: new model '${name}'` : `poll: model '${name}' changed, reloading`,
      );
      work.push(models.loadModel(name).catch(() => undefined));
    }
    for (const name of previous.keys()) {
      if (current.has(name)) continue;
      log.info(`poll: model '${name}' was removed, unloading`);
      work.push(models.unloadModel(name).catch(() => undefined));
    }
    previous = current;
    await Promise.all(work);
  };

  const pollNow = (): Promise<void> => {
    running ??= poll().finally(() => {
      running = undefined;
    });
    return running;
  };

  const arm = (): void => {
    if (stopped) return;
    timer = clock.setTimer(() => {
      void pollNow().then(arm);
    }, options.intervalSecs * NS_PER_S);
  };
  arm();

  return {
    pollNow,
    async stop() {
      stopped = true;
      timer?.cancel();
      await running;
    },
  };
}
