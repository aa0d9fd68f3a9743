/**
 * A model repository on disk (`<repo>/<model>/{config.pbtxt, <version>/model.onnx}`, §3.1), and
 * `loadModelConfig`, which turns one model directory into the config the server serves (parse, read the
 * ONNX signature of the first selected version, then completeModelConfig's chain).
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { create, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { type ModelConfig, ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { completeModelConfig } from './complete-config.ts';
import { ConfigError } from './config-error.ts';
import {
  assertModelFileInside,
  assertRelativePath,
  FileLimitError,
  readBoundedFile,
} from './contained-path.ts';
import { parseModelConfigText } from './model-config.ts';
import {
  autoCompleteBackendFields,
  normalizeModelConfig,
  ONNX_MODEL_FILENAME,
  ONNXRUNTIME_BACKEND,
  type VersionDirEntry,
} from './normalize.ts';
import { type OnnxSignature, readOnnxSignature } from './onnx-signature.ts';
import { validateModelLevel } from './validate.ts';
import { parseVersionDir, selectVersions } from './version-policy.ts';

export const CONFIG_FILENAME = 'config.pbtxt';

export interface ScannedVersion {
  version: string;
  /** Path of the model file (inside a `model.onnx` directory when the artifact is one). */
  modelPath: string;
}

export interface ScannedModel {
  name: string;
  dir: string;
  /** Path of the config file read, when there is one. */
  configPath?: string;
  configText?: string;
  /** Versions selected by the config's version policy, ascending. */
  versions: ScannedVersion[];
  /** Every valid version directory, ascending, whatever the policy. */
  availableVersions: string[];
  /** Warnings Triton would log: skipped directory names, missing specific versions, unparsable config. */
  problems: string[];
  /** Entries of the lexicographically first subdirectory: what Triton inspects to detect the backend. */
  firstSubdirEntries: VersionDirEntry[] | undefined;
}

export interface ScanOptions {
  /** `--model-config-name`: read `configs/<name>.pbtxt` instead of config.pbtxt when it exists. */
  configName?: string;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Largest config.pbtxt read (Triton's configs are a few KB; this bounds a hostile or mistaken file). */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return Buffer.from(await readBoundedFile(path, { maxBytes: MAX_CONFIG_FILE_BYTES })).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const reason = e instanceof FileLimitError ? `it ${e.message}` : (e as Error).message;
    throw new ConfigError(`failed to read ${path}: ${reason}`, {
      kind: 'io',
      filePath: path,
      cause: e,
    });
  }
}

async function entriesOf(dir: string): Promise<VersionDirEntry[]> {
  // stat follows symlinks, so a linked model.onnx counts as the file it points to.
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ name, isDirectory: await isDirectory(join(dir, name)) })));
}

/** The selected versions' model files; a `model.onnx` directory stands for the model.onnx inside it. */
async function versionFiles(
  dir: string,
  versions: readonly bigint[],
  filename: string,
): Promise<ScannedVersion[]> {
  return Promise.all(
    versions.map(async (v) => {
      const artifact = join(dir, String(v), filename);
      const modelPath = (await isDirectory(artifact)) ? join(artifact, ONNX_MODEL_FILENAME) : artifact;
      return { version: String(v), modelPath };
    }),
  );
}

/** Scans one `<repo>/<model>/` directory. Never throws for content problems: they land in `problems`. */
export async function scanModelDir(dir: string, options: ScanOptions = {}): Promise<ScannedModel> {
  const name = basename(dir);
  const problems: string[] = [];
  let configPath = join(dir, CONFIG_FILENAME);
  if (options.configName) {
    const custom = join(dir, 'configs', `${options.configName}.pbtxt`);
    if ((await readOptional(custom)) !== undefined) configPath = custom;
  }
  const configText = await readOptional(configPath);
  let config: ModelConfig | undefined;
  if (configText !== undefined) {
    try {
      config = parseModelConfigText(configText, configPath);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }

  const subdirs = (await entriesOf(dir)).filter((e) => e.isDirectory).map((e) => e.name);
  const available: bigint[] = [];
  for (const sub of subdirs) {
    const verdict = parseVersionDir(sub);
    if ('version' in verdict) available.push(verdict.version);
    if ('skipped' in verdict) problems.push(verdict.skipped);
  }
  if (available.length === 0) problems.push('No model version was found');
  const selection =
    configText !== undefined && config === undefined
      ? { versions: [], problems: [] }
      : selectVersions(config?.versionPolicy, available, config?.name || name);
  problems.push(...selection.problems);

  const versions = await versionFiles(
    dir,
    selection.versions,
    config?.defaultModelFilename || ONNX_MODEL_FILENAME,
  );
  const firstSubdir = subdirs[0];
  return {
    name,
    dir,
    ...(configText !== undefined ? { configPath, configText } : {}),
    versions,
    availableVersions: available.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String),
    problems,
    firstSubdirEntries: firstSubdir === undefined ? undefined : await entriesOf(join(dir, firstSubdir)),
  };
}

/** Every model directory of a repository (hidden entries skipped), sorted by name. */
export async function scanRepository(repoDir: string, options: ScanOptions = {}): Promise<ScannedModel[]> {
  let names: string[];
  try {
    names = await readdir(repoDir);
  } catch (e) {
    throw new ConfigError(`failed to open model repository '${repoDir}': ${(e as Error).message}`, {
      kind: 'io',
      code: 'UNAVAILABLE',
      filePath: repoDir,
      cause: e,
    });
  }
  const dirs: string[] = [];
  for (const n of names.sort()) {
    if (!n.startsWith('.') && (await isDirectory(join(repoDir, n)))) dirs.push(join(repoDir, n));
  }
  return Promise.all(dirs.map((d) => scanModelDir(d, options)));
}

export interface LoadModelConfigOptions extends ScanOptions {
  /** GPUs the server may use; default none (CPU-only). */
  gpuIds?: readonly number[];
  /** ORT backend's default-max-batch-size for autocomplete; default 4. */
  defaultMaxBatchSize?: number;
  /** The load API's `parameters.config` (ModelConfig JSON): replaces the config file. */
  configJson?: string;
  /** Injected in tests; default reads the ONNX file with onnxruntime-node. */
  readSignature?: (modelPath: string) => Promise<OnnxSignature>;
  /**
   * False = `--disable-auto-complete-config`: a model without a config file is refused, and a partial config
   * is served as written (normalised, validated, checked against the graph) instead of completed from it.
   * Default true.
   */
  autoComplete?: boolean;
}

/**
 * Triton's poll error for a model without a config file when auto-complete is disabled (its ReadTextProto
 * text), with the reason appended so the fix is obvious.
 */
export function missingConfigMessage(configPath: string): string {
  return (
    `failed to open text file for read ${configPath}: No such file or directory ` +
    '(auto-complete is disabled by --disable-auto-complete-config, so every model needs a config.pbtxt)'
  );
}

export interface LoadedModelConfig {
  /** Normalised, autocompleted (unless disabled), validated: what `/config` returns. */
  config: ModelConfig;
  /** Triton's warnings: autofill notes and scan problems. */
  warnings: string[];
  /** Where the config came from: the file read, 'load API', or undefined when there was none (autocomplete). */
  configSource: string | undefined;
  versions: ScannedVersion[];
  /** The signature of the first selected version's ONNX file (undefined for non-ORT backends). */
  signature: OnnxSignature | undefined;
}

function configFromJson(json: string, modelName: string): ModelConfig {
  try {
    return fromJson(ModelConfigSchema, JSON.parse(json) as JsonValue);
  } catch (e) {
    throw new ConfigError(
      `failed to load '${modelName}': invalid model config JSON: ${(e as Error).message}`,
      {
        kind: 'parse',
        cause: e,
      },
    );
  }
}

/**
 * Loads, completes and validates one model directory's config. Throws ConfigError with Triton's message for
 * the first problem found. Does not judge whether this server can serve the model: see assertServable.
 */
export async function loadModelConfig(
  modelDir: string,
  options: LoadModelConfigOptions = {},
): Promise<LoadedModelConfig> {
  const scanned = await scanModelDir(modelDir, options);
  const readSignature = options.readSignature ?? readOnnxSignature;
  let config: ModelConfig;
  if (options.configJson !== undefined) {
    config = configFromJson(options.configJson, scanned.name);
  } else if (scanned.configText !== undefined) {
    config = parseModelConfigText(scanned.configText, scanned.configPath ?? modelDir);
  } else if (options.autoComplete === false) {
    const configPath = join(modelDir, CONFIG_FILENAME);
    throw new ConfigError(missingConfigMessage(configPath), {
      kind: 'io',
      code: 'INTERNAL',
      filePath: configPath,
    });
  } else {
    config = create(ModelConfigSchema);
  }
  const backendCtx = { modelName: scanned.name, versionDirEntries: scanned.firstSubdirEntries };
  // Backend and policy first (pure, repeated by completeModelConfig): they decide which file to read.
  const withBackend = normalizeModelConfig(autoCompleteBackendFields(config, backendCtx));
  validateModelLevel(withBackend);

  // A config given over the load API may change the policy or the file name: select against it.
  // The model file name comes from the config (maybe over the network): a plain name inside each version
  // directory, never a path, and the file it names must stay inside the model directory.
  if (withBackend.defaultModelFilename !== '') {
    assertRelativePath('default_model_filename', withBackend.defaultModelFilename, { allowSubdirs: false });
  }
  const rescanned = options.configJson === undefined ? scanned : await rescanFor(withBackend, scanned);
  for (const v of rescanned.versions) {
    await assertModelFileInside(scanned.dir, v.modelPath, 'default_model_filename');
  }
  const first = rescanned.versions[0];
  if (!first) throw new ConfigError('No model version was found', { kind: 'io', code: 'UNAVAILABLE' });

  let signature: OnnxSignature | undefined;
  if (withBackend.backend === ONNXRUNTIME_BACKEND) {
    if ((await stat(first.modelPath).catch(() => undefined)) === undefined) {
      throw new ConfigError(`unable to find '${first.modelPath}' for model instance '${withBackend.name}'`, {
        kind: 'io',
        code: 'UNAVAILABLE',
        filePath: first.modelPath,
      });
    }
    signature = await readSignature(first.modelPath);
  }
  const completed = completeModelConfig(config, {
    ...backendCtx,
    gpuIds: options.gpuIds ?? [],
    defaultMaxBatchSize: options.defaultMaxBatchSize,
    signature,
    autoComplete: options.autoComplete ?? true,
  });
  return {
    config: completed.config,
    warnings: [...rescanned.problems, ...completed.warnings],
    configSource: options.configJson !== undefined ? 'load API' : scanned.configPath,
    versions: rescanned.versions,
    signature,
  };
}

/** Re-applies version policy and model file name of a config given over the load API. */
async function rescanFor(config: ModelConfig, scanned: ScannedModel): Promise<ScannedModel> {
  const selection = selectVersions(config.versionPolicy, scanned.availableVersions.map(BigInt), config.name);
  const filename = config.defaultModelFilename || ONNX_MODEL_FILENAME;
  return {
    ...scanned,
    versions: await versionFiles(scanned.dir, selection.versions, filename),
    problems: selection.problems,
  };
}
