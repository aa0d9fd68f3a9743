/**
 * Paths that come from a model config (`default_model_filename`, `model_warmup … input_data_file`, from
 * config.pbtxt or from the load API's `parameters.config`) are resolved inside the model's own directory:
 * relative, no `..`, no NUL or backslash, and after following symlinks (realpath) still inside it; only
 * regular files are read, and only up to a stated size. Refusals name the config field and the value given,
 * never a resolved path, a size or whether something exists outside the model directory, so a client of the
 * load API learns nothing about the server's files.
 */
import { constants } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { ConfigError } from './config-error.ts';

/** Longest config path accepted (bytes of the value as given). */
export const MAX_CONFIG_PATH_LENGTH = 1024;

/** Why a config path is refused before touching the file system; undefined when it is acceptable. */
export function relativePathProblem(value: string, options: { allowSubdirs: boolean }): string | undefined {
  if (value === '') return 'is empty';
  if (value.length > MAX_CONFIG_PATH_LENGTH) return `is longer than ${MAX_CONFIG_PATH_LENGTH} characters`;
  if (value.includes('\0')) return 'contains a NUL character';
  if (value.includes('\\')) return 'contains a backslash';
  if (isAbsolute(value) || value.startsWith('/')) return 'is an absolute path';
  const segments = value.split('/');
  if (segments.some((s) => s === '..')) return "contains '..'";
  if (!options.allowSubdirs && segments.length > 1) return 'must be a file name, not a path';
  if (segments.some((s) => s === '' || s === '.')) return "has an empty or '.' path segment";
  return undefined;
}

function refusal(field: string, value: string, why: string): ConfigError {
  return new ConfigError(`${field} '${printable(value)}' ${why}`, { kind: 'invalid' });
}

/** The value as shown in a message: bounded and without control characters. */
function printable(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced here.
  return shown.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** Throws a ConfigError naming `field` when `value` is not a plain relative path (see relativePathProblem). */
export function assertRelativePath(field: string, value: string, options: { allowSubdirs: boolean }): void {
  const problem = relativePathProblem(value, options);
  if (problem !== undefined) throw refusal(field, value, problem);
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * `<base>/<relative>` after checking the value lexically and, when the target exists, that its real path
 * (symlinks followed) is inside the real path of `root` (the model directory). A missing target is returned
 * as is: the caller reports it as missing, inside the model directory.
 */
export async function resolveInsideModelDir(
  root: string,
  base: string,
  relative: string,
  field: string,
  options: { allowSubdirs: boolean } = { allowSubdirs: false },
): Promise<string> {
  assertRelativePath(field, relative, options);
  const path = join(base, relative);
  const realRoot = await realpath(root).catch(() => root);
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return path;
  }
  if (!inside(realRoot, real)) throw refusal(field, relative, 'resolves outside the model directory');
  return path;
}

/** Largest model file accepted (ONNX protobuf files cannot exceed 2 GiB). */
export const MAX_MODEL_FILE_BYTES = 2 ** 31;

/**
 * Checks that a model file selected from the config (a version's `default_model_filename`) is, after
 * following symlinks, a regular file inside the model directory and at most MAX_MODEL_FILE_BYTES. A missing
 * file passes: the caller reports it as Triton does ("unable to find").
 */
export async function assertModelFileInside(
  modelDir: string,
  modelPath: string,
  field: string,
): Promise<void> {
  const realRoot = await realpath(modelDir).catch(() => modelDir);
  let real: string;
  try {
    real = await realpath(modelPath);
  } catch {
    return;
  }
  const shown = modelPath.startsWith(modelDir) ? modelPath.slice(modelDir.length + 1) : modelPath;
  if (!inside(realRoot, real)) throw refusal(field, shown, 'resolves outside the model directory');
  const st = await stat(real);
  if (st.isDirectory()) return;
  if (!st.isFile()) throw refusal(field, shown, 'is not a regular file');
  if (st.size > MAX_MODEL_FILE_BYTES) {
    throw refusal(field, shown, `is larger than the limit of ${MAX_MODEL_FILE_BYTES} bytes`);
  }
}

/**
 * Reads a regular file of at most `maxBytes` (`prefixOnly`: its first `maxBytes`, the file may be longer).
 * Opened non-blocking, so a FIFO cannot stall the server; a device, FIFO or directory is refused unread.
 * Throws open's own errors (ENOENT, EACCES…) unchanged, FileLimitError for the rest.
 */
export async function readBoundedFile(
  path: string,
  options: { maxBytes: number; prefixOnly?: boolean },
): Promise<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new FileLimitError('is not a regular file');
    if (!options.prefixOnly && st.size > options.maxBytes) {
      throw new FileLimitError(`is larger than the limit of ${options.maxBytes} bytes`);
    }
    const want = Math.min(st.size, options.maxBytes);
    const buffer = new Uint8Array(want);
    let offset = 0;
    while (offset < want) {
      const { bytesRead } = await handle.read(buffer, offset, want - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return offset === want ? buffer : buffer.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

/** A file that is not a regular file or is over its size limit; the message completes "<what> …". */
export class FileLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileLimitError';
  }
}

/**
 * Reads a file named by a config field, inside the model directory, at most `maxBytes` bytes (`prefixOnly`:
 * exactly the first `maxBytes`, the file may be longer; otherwise a longer file is refused).
 */
export async function readFileInsideModelDir(
  root: string,
  base: string,
  relative: string,
  field: string,
  options: { maxBytes: number; prefixOnly?: boolean; allowSubdirs?: boolean },
): Promise<Uint8Array> {
  const path = await resolveInsideModelDir(root, base, relative, field, {
    allowSubdirs: options.allowSubdirs ?? true,
  });
  try {
    return await readBoundedFile(path, options);
  } catch (e) {
    if (e instanceof FileLimitError) throw refusal(field, relative, e.message);
    throw refusal(field, relative, 'was not found or cannot be read in the model directory');
  }
}
