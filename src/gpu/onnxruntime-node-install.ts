/**
 * Where onnxruntime-node lives and which version it is. The CUDA provider only loads when it lies next to
 * onnxruntime-node's core library and was built for the very same ONNX Runtime version, so setup-gpu needs
 * both facts from the installed package itself, not from our package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OptionError } from '../errors.ts';

export interface OnnxruntimeNodeInstall {
  /** Directory holding onnxruntime-node's package.json. */
  packageDir: string;
  version: string;
}

const PACKAGE_NAME = 'onnxruntime-node';

function readPackageJson(path: string): { name?: unknown; version?: unknown } {
  return JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
}

/**
 * The onnxruntime-node this process would load: resolves its entry point and walks up to its package.json
 * (the package's `exports` need not expose package.json itself).
 */
export function findOnnxruntimeNode(): OnnxruntimeNodeInstall {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(PACKAGE_NAME);
  } catch (cause) {
    throw new OptionError(
      `${PACKAGE_NAME} is not installed; run \`npm install ${PACKAGE_NAME}@1.29.0\` first`,
      { cause },
    );
  }
  let dir = dirname(entry);
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = readPackageJson(candidate);
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') {
        return { packageDir: dir, version: pkg.version };
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new OptionError(`cannot find ${PACKAGE_NAME}'s package.json above ${entry}`);
    dir = parent;
  }
}

/** The directory of `libonnxruntime.so.1`, where ONNX Runtime looks for its execution-provider libraries. */
export function coreLibraryDir(packageDir: string, platform: string, arch: string): string {
  return join(packageDir, 'bin', 'napi-v6', platform, arch);
}
