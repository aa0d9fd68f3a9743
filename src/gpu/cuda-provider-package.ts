/**
 * Getting ONNX Runtime's CUDA 13 execution provider: the npm package
 * `com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9` ships `libonnxruntime_providers_cuda.so` and
 * `libonnxruntime_providers_shared.so` for ONNX Runtime 1.29.0 (179 MB, so never a dependency). It is
 * fetched with `npm pack` (the user's own npm: registry, proxy and auth settings apply) and unpacked with
 * `tar`, or taken from a copy the user already has (`--from`, for offline machines).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ExitCode, InferbenchError, OptionError } from '../errors.ts';

const execFileAsync = promisify(execFile);

/** The provider package for CUDA 13 and the one ONNX Runtime version its libraries were built for. */
export const CUDA13_PROVIDER = {
  packageName: 'com.github.asus4.onnxruntime.linux-x64-gpu',
  packageVersion: '0.4.9',
  ortVersion: '1.29.0',
} as const;

/** `name@version`, as `npm pack` takes it. */
export const CUDA13_PROVIDER_SPEC = `${CUDA13_PROVIDER.packageName}@${CUDA13_PROVIDER.packageVersion}`;

/** The libraries ONNX Runtime's core loads the CUDA execution provider from. */
export const PROVIDER_LIBRARIES = [
  'libonnxruntime_providers_cuda.so',
  'libonnxruntime_providers_shared.so',
] as const;

export type ProviderLibrary = (typeof PROVIDER_LIBRARIES)[number];

/**
 * SHA-256 of the libraries in CUDA13_PROVIDER_SPEC, so that setup-gpu can tell "already installed" without
 * downloading 179 MB again.
 */
export const CUDA13_LIBRARY_SHA256: Readonly<Record<ProviderLibrary, string>> = {
  'libonnxruntime_providers_cuda.so': '56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037',
  'libonnxruntime_providers_shared.so': 'c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772',
};

/** Where the package keeps them (it is laid out as a Unity plug-in). */
const PACKAGE_LIBRARY_SUBDIR = join('Plugins', 'Linux', 'x64');

const NPM_PACK_TIMEOUT_MS = 30 * 60_000;
const TAR_TIMEOUT_MS = 10 * 60_000;

/** The provider package could not be fetched, unpacked or did not hold the libraries: exit code 5. */
export class ProviderPackageError extends InferbenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.NoData, options);
  }
}

/** Downloads `spec` into `destinationDir` and returns the tarball's path. */
export type NpmPack = (spec: string, destinationDir: string) => Promise<string>;

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' && stderr.trim() !== '' ? stderr : String(error);
  return text.trim().split('\n').slice(-5).join('\n');
}

function tarballsIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.tgz'))
    .map((name) => join(dir, name));
}

/** `npm pack <spec> --pack-destination <dir>`, run in that (fresh) directory. */
export const npmPack: NpmPack = async (spec, destinationDir) => {
  try {
    await execFileAsync('npm', ['pack', spec, '--pack-destination', destinationDir], {
      cwd: destinationDir,
      timeout: NPM_PACK_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (cause) {
    throw new ProviderPackageError(`\`npm pack ${spec}\` failed:\n${stderrOf(cause)}`, { cause });
  }
  const [tarball, ...others] = tarballsIn(destinationDir);
  if (tarball === undefined || others.length > 0) {
    throw new ProviderPackageError(
      `\`npm pack ${spec}\` did not leave exactly one .tgz in ${destinationDir}`,
    );
  }
  return tarball;
};

/** Unpacks a gzip'd tarball into `destinationDir` with the system's `tar`. */
export async function extractTarball(tarball: string, destinationDir: string): Promise<void> {
  await mkdir(destinationDir, { recursive: true });
  try {
    await execFileAsync('tar', ['xzf', tarball, '--no-same-owner', '-C', destinationDir], {
      timeout: TAR_TIMEOUT_MS,
    });
  } catch (cause) {
    throw new ProviderPackageError(`cannot unpack ${tarball} with tar:\n${stderrOf(cause)}`, { cause });
  }
}

/** The two libraries found on disk, and the package.json next to them when there is one. */
export interface ProviderLibraries {
  /** Directory holding both PROVIDER_LIBRARIES. */
  dir: string;
  /** `name@version` from the package's package.json; undefined for a bare directory of libraries. */
  packageId?: string;
}

function hasAllLibraries(dir: string): boolean {
  return PROVIDER_LIBRARIES.every((lib) => existsSync(join(dir, lib)));
}

function packageIdAt(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
  return `${String(pkg.name)}@${String(pkg.version)}`;
}

/**
 * Finds the libraries under `root`: an unpacked tarball (`package/Plugins/Linux/x64`), the package's own
 * directory (`Plugins/Linux/x64`), or a directory that holds the two files directly.
 */
export function locateProviderLibraries(root: string): ProviderLibraries | undefined {
  const layouts = [
    {
      dir: join(root, 'package', PACKAGE_LIBRARY_SUBDIR),
      packageJson: join(root, 'package', 'package.json'),
    },
    { dir: join(root, PACKAGE_LIBRARY_SUBDIR), packageJson: join(root, 'package.json') },
    { dir: root, packageJson: undefined },
  ];
  for (const layout of layouts) {
    if (!hasAllLibraries(layout.dir)) continue;
    const packageId = layout.packageJson === undefined ? undefined : packageIdAt(layout.packageJson);
    return packageId === undefined ? { dir: layout.dir } : { dir: layout.dir, packageId };
  }
  return undefined;
}

function notFound(where: string): ProviderPackageError {
  return new ProviderPackageError(
    `${where} does not contain ${PROVIDER_LIBRARIES.join(' and ')} (expected under package/${PACKAGE_LIBRARY_SUBDIR} ` +
      `of ${CUDA13_PROVIDER_SPEC})`,
  );
}

async function fromTarball(tarball: string, workDir: string): Promise<ProviderLibraries> {
  const unpacked = join(workDir, 'unpacked');
  await extractTarball(tarball, unpacked);
  const found = locateProviderLibraries(unpacked);
  if (found === undefined) throw notFound(tarball);
  return found;
}

/**
 * The provider libraries from `from` (a .tgz, an unpacked package, a directory holding the libraries or
 * the single .tgz `npm pack` left there) or, without `from`, from the registry through `pack`.
 * Anything unpacked goes under `workDir`, which the caller removes.
 */
export async function obtainProviderLibraries(options: {
  from: string | undefined;
  workDir: string;
  pack: NpmPack;
}): Promise<ProviderLibraries> {
  const { from, workDir, pack } = options;
  if (from === undefined) {
    const downloads = join(workDir, 'download');
    await mkdir(downloads, { recursive: true });
    return fromTarball(await pack(CUDA13_PROVIDER_SPEC, downloads), workDir);
  }
  const stat = statSync(from, { throwIfNoEntry: false });
  if (stat === undefined) throw new OptionError(`--from ${from}: no such file or directory`);
  if (stat.isFile()) return fromTarball(from, workDir);
  const found = locateProviderLibraries(from);
  if (found !== undefined) return found;
  const tarballs = tarballsIn(from);
  if (tarballs.length === 1) return fromTarball(tarballs[0] as string, workDir);
  throw notFound(from);
}

/** Refuses a package other than the one built for ONNX Runtime 1.29.0: a mismatched provider does not load. */
export function assertExpectedPackage(found: ProviderLibraries): void {
  if (found.packageId !== undefined && found.packageId !== CUDA13_PROVIDER_SPEC) {
    throw new OptionError(
      `${found.dir} comes from ${found.packageId}, but onnxruntime-node ${CUDA13_PROVIDER.ortVersion} needs the ` +
        `provider from ${CUDA13_PROVIDER_SPEC} (the provider's ONNX Runtime version must equal the core's)`,
    );
  }
}
