/**
 * `--output-model-repository DIR`: the best config as DIR/<model>/config.pbtxt, next to a copy of the model's
 * files when analyze knows where they are (the embedded server's repository), so DIR is a model repository a
 * server can load. An existing DIR/<model> is refused unless `--override-output-model-repository` (then only
 * its config.pbtxt is replaced, the previous one kept as config.pbtxt.bak). Checked before the search starts.
 */
import { cp, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OptionError } from '../errors.ts';

export interface OutputRepositoryPlan {
  dir: string;
  model: string;
  override: boolean;
  /** The model's directory in the served repository, when on this machine. */
  sourceModelDir?: string;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** A model name that is one path segment (the name comes from the user and becomes a directory). */
function checkModelName(model: string): void {
  if (model === '' || model === '.' || model === '..' || /[/\\\0]/.test(model)) {
    throw new OptionError(`--output-model-repository: model name '${model}' cannot be a directory name`);
  }
}

/** Refuses early what the write would refuse later. */
export async function checkOutputRepository(plan: OutputRepositoryPlan): Promise<void> {
  checkModelName(plan.model);
  const dir = resolve(plan.dir);
  if (plan.sourceModelDir && resolve(plan.sourceModelDir) === join(dir, plan.model) && !plan.override) {
    throw new OptionError(
      `--output-model-repository ${plan.dir} is the served repository: analyze never writes it unless --override-output-model-repository is given`,
    );
  }
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new OptionError(`--output-model-repository ${plan.dir} is not a directory`);
  if (!plan.override && (await exists(join(dir, plan.model)))) {
    throw new OptionError(
      `--output-model-repository: ${join(dir, plan.model)} exists; pass --override-output-model-repository to replace its config.pbtxt`,
    );
  }
}

/** Writes the best config; returns the files written and a note when the model files could not be copied. */
export async function writeOutputRepository(
  plan: OutputRepositoryPlan,
  configPbtxt: string,
): Promise<{ configPath: string; note?: string }> {
  await checkOutputRepository(plan);
  const modelDir = join(resolve(plan.dir), plan.model);
  const configPath = join(modelDir, 'config.pbtxt');
  if (await exists(modelDir)) {
    if (await exists(configPath)) await rename(configPath, `${configPath}.bak`);
    await writeFile(configPath, configPbtxt);
    return { configPath };
  }
  await mkdir(modelDir, { recursive: true });
  let note: string | undefined;
  if (plan.sourceModelDir) {
    for (const entry of await readdir(plan.sourceModelDir)) {
      if (entry === 'config.pbtxt' || entry.startsWith('.')) continue;
      await cp(join(plan.sourceModelDir, entry), join(modelDir, entry), {
        recursive: true,
        dereference: true,
      });
    }
  } else {
    note = `the model files are on the server, not here: copy its version directories into ${modelDir}`;
  }
  await writeFile(configPath, configPbtxt);
  return { configPath, ...(note ? { note } : {}) };
}
