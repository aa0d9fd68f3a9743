/**
 * `embedded.configOverrides`: the embedded server reads config.pbtxt from its repository, so a config file that
 * turns dynamic batching on for one model gets a private copy of the repository — every model directory
 * symlinked, the overridden models rebuilt with their files symlinked and a merged config.pbtxt written — and
 * the original repository is never touched.
 */
import {
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OptionError } from '../errors.ts';
import { mergeModelConfigText } from './config-flags.ts';

export interface MaterializedRepository {
  dir: string;
  /** Removes the copy (symlinks and written configs only; the models stay where they are). */
  dispose(): Promise<void>;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** A copy of `repositoryDir` with each model in `overrides` (name → config.pbtxt text) merged into its config. */
export async function materializeConfigOverrides(
  repositoryDir: string,
  overrides: Readonly<Record<string, string>>,
): Promise<MaterializedRepository> {
  const source = resolve(repositoryDir);
  const entries = await readdir(source);
  for (const model of Object.keys(overrides)) {
    if (!entries.includes(model) || !(await isDirectory(join(source, model)))) {
      throw new OptionError(
        `embedded.configOverrides: model '${model}' is not in the repository ${source} (models: ${entries.join(', ')})`,
      );
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'inferbench-overrides-'));
  try {
    for (const name of entries) {
      const from = join(source, name);
      const override = overrides[name];
      if (override === undefined) {
        await symlink(from, join(dir, name));
        continue;
      }
      await mkdir(join(dir, name));
      for (const child of await readdir(from)) {
        if (child !== 'config.pbtxt') await linkTree(join(from, child), join(dir, name, child));
      }
      const base = await readFile(join(from, 'config.pbtxt'), 'utf8').catch(() => '');
      let merged: string;
      try {
        merged = mergeModelConfigText(base, override);
      } catch (error) {
        throw new OptionError(
          `embedded.configOverrides.${name}: cannot merge into ${join(from, 'config.pbtxt')}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await writeFile(join(dir, name, 'config.pbtxt'), merged);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Recreates `from` at `to` with real files (hard links, or copies across file systems): the server refuses
 * model files that resolve outside their model directory, so an overridden model's versions cannot be symlinks.
 */
async function linkTree(from: string, to: string): Promise<void> {
  if (await isDirectory(from)) {
    await mkdir(to);
    for (const child of await readdir(from)) await linkTree(join(from, child), join(to, child));
    return;
  }
  await link(from, to).catch(() => copyFile(from, to));
}
