/**
 * The bundled models as a catalogue (`inferbench models list`) and as a repository written to a directory of
 * the user's choice (`inferbench models export <dir>`) that any KServe-v2 server can load, Triton included:
 * `<model>/config.pbtxt` and `<model>/1/model.onnx` (copies, never links into node_modules), and for the
 * ensemble its config and an empty version directory, which is what Triton expects of an ensemble. A model
 * on a built-in backend (`repeat`, Triton's repeat backend) is left out with a note unless named.
 *
 * The target is refused when it is not empty (unless `force`), is a symbolic link, a file, or lies under
 * /proc, /sys or /dev. Nothing inside it is followed: the models are written into a fresh staging directory
 * (files created exclusively) and renamed into place; with `force`, an entry of the same name as a bundled
 * model is removed first without following it (a symlink is removed, not what it points to), and every
 * other entry is kept.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { datatypeFromConfigEnum } from '../../src/protocol/datatypes.ts';
import type { ModelConfig } from '../../src/protocol/gen/model_config_pb.ts';
import { BadOptionsError } from './bad-options-error.ts';
import {
  builtInBackendOf,
  EMBEDDED_MODELS,
  modelSourceOf,
  readEmbeddedConfigs,
  writeEmbeddedModel,
} from './embedded-repository.ts';
import { parseModelConfigText } from './repository/model-config.ts';

/** A target or a model name the export refuses (exit 3); the message says what is wrong and what to do. */
export class ExportError extends BadOptionsError {
  readonly code = 'ERR_MODELS_EXPORT';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ExportError', message, options);
  }
}

export interface TensorSummary {
  name: string;
  datatype: string;
  dims: number[];
}

export interface CatalogEntry {
  name: string;
  platform: string;
  maxBatchSize: number;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  /** 'dynamic batching', 'sequence batching (stateful)', 'ensemble', or 'none'. */
  scheduling: string;
  /** The composing models of an ensemble, in step order. */
  composing: string[];
  /** Where the model file comes from. */
  source: string;
  /** A backend the model needs besides ONNX Runtime (Triton's `repeat`): not exported unless named. */
  builtInBackend?: string;
  /** What the model is for. */
  description: string;
}

function tensors(list: ModelConfig['input'] | ModelConfig['output']): TensorSummary[] {
  return list.map((t) => ({
    name: t.name,
    datatype: datatypeFromConfigEnum(t.dataType) ?? String(t.dataType),
    dims: t.dims.map(Number),
  }));
}

function schedulingOf(config: ModelConfig): string {
  if (config.modelTransactionPolicy?.decoupled) return 'decoupled (any number of responses per request)';
  switch (config.schedulingChoice.case) {
    case 'dynamicBatching':
      return 'dynamic batching';
    case 'sequenceBatching':
      return 'sequence batching (stateful)';
    case 'ensembleScheduling':
      return 'ensemble';
    default:
      return 'none';
  }
}

function composingOf(config: ModelConfig): string[] {
  if (config.schedulingChoice.case !== 'ensembleScheduling') return [];
  return [...new Set(config.schedulingChoice.value.step.map((s) => s.modelName))];
}

/** The bundled models, in the order of EMBEDDED_MODELS (the documented order), read from their configs. */
export async function embeddedCatalog(): Promise<CatalogEntry[]> {
  const texts = await readEmbeddedConfigs();
  return EMBEDDED_MODELS.map(({ name, description }) => {
    const text = texts.get(name);
    if (text === undefined) throw new Error(`embedded model '${name}' has no config.pbtxt`);
    const config = parseModelConfigText(text, `embedded-server/models/${name}/config.pbtxt`);
    return {
      name,
      platform: config.platform || config.backend,
      maxBatchSize: config.maxBatchSize,
      inputs: tensors(config.input),
      outputs: tensors(config.output),
      scheduling: schedulingOf(config),
      composing: composingOf(config),
      source: modelSourceOf(name),
      ...(builtInBackendOf(name) !== undefined ? { builtInBackend: builtInBackendOf(name) } : {}),
      description,
    };
  });
}

export interface ExportOptions {
  /** Write into a non-empty directory, replacing entries named like a bundled model. */
  force?: boolean;
  /** Only these models (an ensemble brings its composing models); default: all. */
  models?: readonly string[];
}

export interface ExportResult {
  /** The absolute path written. */
  dir: string;
  /** The models written, in name order. */
  models: string[];
  /** Entries of the target that were replaced (with `force`). */
  replaced: string[];
  /** Bundled models left out, and why. */
  skipped: { name: string; why: string }[];
}

/** Pseudo file systems: writing there fails oddly or means something else entirely. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(root + sep);
}

/** Refuses a path string no directory can have. */
function checkPathText(target: string): void {
  if (target.trim() === '') throw new ExportError('the export directory must not be empty');
  if (target.includes('\0')) throw new ExportError('the export directory contains a NUL character');
}

/** The real path of `path`'s deepest existing ancestor (itself included), and what is left below it. */
async function deepestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      return await realpath(current);
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** Why a model left out by default is left out. */
function skipReason(entry: CatalogEntry): string {
  return `needs the '${entry.builtInBackend}' backend, which not every KServe-v2 server has (Triton loads it where its ${entry.builtInBackend} backend is installed); export it with --model ${entry.name}`;
}

/**
 * The models to write: the ones asked for (an ensemble with its composing models), or every model a
 * KServe-v2 server with ONNX Runtime can load (a model on a built-in backend only when named).
 */
function selectModels(catalog: readonly CatalogEntry[], asked: readonly string[] | undefined): string[] {
  if (asked === undefined || asked.length === 0)
    return catalog
      .filter((m) => m.builtInBackend === undefined)
      .map((m) => m.name)
      .sort();
  const byName = new Map(catalog.map((m) => [m.name, m]));
  const selected = new Set<string>();
  const add = (name: string): void => {
    const entry = byName.get(name);
    if (entry === undefined) {
      throw new ExportError(
        `no bundled model '${name}'; the bundled models are ${catalog.map((m) => m.name).join(', ')}`,
      );
    }
    if (selected.has(name)) return;
    selected.add(name);
    for (const step of entry.composing) add(step);
  };
  for (const name of asked) add(name);
  return [...selected].sort();
}

function errnoText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  // The code and its words, without the path the system message repeats (the caller names the target).
  if (e.code) return `${e.code} (${e.message.replace(/^[A-Z]+: /, '').split(',')[0]})`;
  return String(error).split('\n')[0] as string;
}

/**
 * Writes the bundled repository (or some of its models) into `target`. Throws ExportError (exit 3) for a
 * target it refuses or cannot write; on success returns what was written.
 */
export async function exportEmbeddedRepository(
  targetArg: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  checkPathText(targetArg);
  // Shown in messages on one line whatever it holds (a newline in a name is written escaped).
  const target = /[^\x20-\x7e\u00a0-\uffff]/.test(targetArg) ? JSON.stringify(targetArg) : targetArg;
  const dir = resolve(targetArg);
  const catalog = await embeddedCatalog();
  const models = selectModels(catalog, options.models);

  const existing = await deepestExisting(dir);
  const landing = join(existing, relative(existing, dir));
  for (const root of PSEUDO_ROOTS) {
    if (under(landing, root) || under(dir, root)) {
      throw new ExportError(`${target} is under ${root}, not a place for a model repository`);
    }
  }

  const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new ExportError(`cannot use ${target}: ${errnoText(e)}`, { cause: e });
  });
  let entries: string[] = [];
  if (st !== undefined) {
    if (st.isSymbolicLink()) {
      throw new ExportError(
        `${target} is a symbolic link; give the directory itself (the export never follows symbolic links)`,
      );
    }
    if (!st.isDirectory()) throw new ExportError(`${target} exists and is not a directory`);
    entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      throw new ExportError(`cannot read ${target}: ${errnoText(e)}`, { cause: e });
    });
    if (entries.length > 0 && !options.force) {
      throw new ExportError(
        `${target} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}): give an empty or new directory, ` +
          'or --force to write into it (entries named like a bundled model are replaced, others kept)',
      );
    }
  } else {
    await mkdir(dirname(dir), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      throw new ExportError(`cannot create the parent directory of ${target}: ${errnoText(e)}`, { cause: e });
    });
  }

  // Staging next to (new target) or inside (existing target) the destination: same file system, so every
  // move is a rename. Created exclusively, with the default mode, so a server running as another user (a
  // container) can read the export.
  const stagingParent = st === undefined ? dirname(dir) : dir;
  const staging = join(
    stagingParent,
    `.${st === undefined ? basename(dir) : ''}.inferbench-export-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const replaced: string[] = [];
  try {
    await mkdir(staging);
    const texts = await readEmbeddedConfigs();
    for (const name of models) {
      await writeEmbeddedModel(staging, name, texts.get(name) as string, 'copy');
    }
    if (st === undefined) {
      await rename(staging, dir);
    } else {
      for (const name of models) {
        if (entries.includes(name)) {
          // rm never follows a symlink: the link goes, not what it points to.
          await rm(join(dir, name), { recursive: true, force: true });
          replaced.push(name);
        }
        await rename(join(staging, name), join(dir, name));
      }
    }
  } catch (error) {
    if (error instanceof ExportError) throw error;
    throw new ExportError(`could not write ${target}: ${errnoText(error)}`, { cause: error });
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
  const skipped = catalog
    .filter((m) => !models.includes(m.name) && m.builtInBackend !== undefined && !options.models?.length)
    .map((m) => ({ name: m.name, why: skipReason(m) }));
  return { dir, models, replaced, skipped };
}
