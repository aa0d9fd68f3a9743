/**
 * `inferbench setup-gpu`: gives users ONNX Runtime's CUDA execution provider, so that the embedded server can
 * run KIND_GPU (and KIND_AUTO) instances on an NVIDIA GPU. onnxruntime-node ships no CUDA provider on npm:
 * for CUDA 13 this command drops the two provider libraries of `com.github.asus4.onnxruntime.linux-x64-gpu`
 * next to onnxruntime-node's core library; for CUDA 12 it points at onnxruntime-node's own installer. It
 * ends with the server's own CUDA probe, so "installed" and "works here" are never confused.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// The one deliberate exception to "nothing in src/ imports embedded-server/": setup-gpu verifies the
// server's runtime, so it must ask the very probe the server uses to decide KIND_GPU/KIND_AUTO.
import { type CudaProbe, runCudaProbe } from '../../embedded-server/src/runtime/gpu-probe.ts';
import { reportError } from '../cli/exit.ts';
import { ExitCode, InferbenchError, OptionError } from '../errors.ts';
import {
  assertExpectedPackage,
  CUDA13_LIBRARY_SHA256,
  CUDA13_PROVIDER,
  CUDA13_PROVIDER_SPEC,
  type NpmPack,
  npmPack,
  obtainProviderLibraries,
  PROVIDER_LIBRARIES,
  type ProviderLibrary,
} from './cuda-provider-package.ts';
import { installLibraries, librariesMatch, planLibraryInstall } from './install-provider-libraries.ts';
import { coreLibraryDir, findOnnxruntimeNode } from './onnxruntime-node-install.ts';

export interface SetupGpuIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Everything setup-gpu touches outside its arguments; tests replace these to run offline in temp dirs. */
export interface SetupGpuDeps {
  /** Fetches the provider package (default: `npm pack`). */
  npmPack: NpmPack;
  /** Installed onnxruntime-node version (default: read from its package.json). */
  ortVersion: string;
  /** onnxruntime-node's core library directory, where the provider goes (default: resolved from the package). */
  binDir: string;
  /** Parent of the temporary download/unpack directory (default: the OS temp dir). */
  tmpDir: string;
  platform: string;
  arch: string;
  /** SHA-256 of the provider libraries of CUDA13_PROVIDER_SPEC: a match means "already installed" without a download. */
  providerSha256: Readonly<Record<ProviderLibrary, string>>;
  /** The server's CUDA probe, pointed at the directory the provider was installed into. */
  probe: (providerDir: string) => Promise<CudaProbe>;
}

/** The deps that need no look-up on disk, with their defaults filled in. */
type SetupGpuRuntime = Omit<SetupGpuDeps, 'ortVersion' | 'binDir'>;

interface SetupGpuOptions {
  cuda: 12 | 13;
  from: string | undefined;
  dryRun: boolean;
  check: boolean;
  help: boolean;
}

const OFFICIAL_CUDA12_INSTALL = `ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@${CUDA13_PROVIDER.ortVersion}`;
const OFFICIAL_CUDA12_REBUILD = 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';

export const SETUP_GPU_USAGE = `Usage: inferbench setup-gpu [--cuda 13|12] [--from <dir-or-tgz>] [--dry-run]
       inferbench setup-gpu --check

Installs ONNX Runtime's CUDA execution provider next to onnxruntime-node, so that the embedded server
can run KIND_GPU (and KIND_AUTO) instances on an NVIDIA GPU. Linux x64, onnxruntime-node ${CUDA13_PROVIDER.ortVersion} exactly.

Options:
  --cuda <13|12>      CUDA major version (default 13).
                        13: fetches ${CUDA13_PROVIDER_SPEC} (179 MB) with \`npm pack\` and copies
                            ${PROVIDER_LIBRARIES.join(' and ')} into onnxruntime-node.
                        12: downloads nothing; prints onnxruntime-node's official CUDA 12 install command.
  --from <dir-or-tgz> use an already-downloaded package instead of the registry (offline installs): the
                      .tgz from \`npm pack\`, the directory it was unpacked into, or a directory holding
                      the two libraries.
  --dry-run           print what would be done; download and copy nothing.
  --check             only check whether CUDA works here for the server (exit 0 if so, 5 if not).
  -h, --help          show this help.

Exit codes: 0 done, 3 bad options or version/platform mismatch, 5 package could not be fetched (or, with
--check, CUDA is not usable), 99 unexpected error.
`;

function parseSetupGpuArgs(argv: string[]): SetupGpuOptions {
  let values: { cuda?: string; from?: string; 'dry-run'?: boolean; check?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        cuda: { type: 'string' },
        from: { type: 'string' },
        'dry-run': { type: 'boolean' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw new OptionError(`setup-gpu: ${(cause as Error).message} (see inferbench setup-gpu --help)`, {
      cause,
    });
  }
  const cudaText = values.cuda ?? '13';
  if (cudaText !== '12' && cudaText !== '13') {
    throw new OptionError(
      `setup-gpu: --cuda ${cudaText} is not supported: use 13 (the CUDA 13 provider from npm, default) or 12 ` +
        `(onnxruntime-node's official CUDA 12 route); ONNX Runtime ${CUDA13_PROVIDER.ortVersion} has no build for other CUDA versions`,
    );
  }
  const options: SetupGpuOptions = {
    cuda: cudaText === '12' ? 12 : 13,
    from: values.from,
    dryRun: values['dry-run'] ?? false,
    check: values.check ?? false,
    help: values.help ?? false,
  };
  if (options.check && (options.from !== undefined || options.dryRun)) {
    throw new OptionError('setup-gpu: --check only runs the CUDA check; it takes no --from or --dry-run');
  }
  if (options.cuda === 12 && options.from !== undefined) {
    throw new OptionError(
      `setup-gpu: --from applies to the CUDA 13 package only; for CUDA 12 run \`${OFFICIAL_CUDA12_INSTALL}\``,
    );
  }
  return options;
}

/** The core library directory and onnxruntime-node version: injected, or found on disk only when needed. */
function locateOnnxruntime(deps: Partial<SetupGpuDeps>, platform: string, arch: string) {
  if (deps.ortVersion !== undefined && deps.binDir !== undefined) {
    return { ortVersion: deps.ortVersion, binDir: deps.binDir };
  }
  const found = findOnnxruntimeNode();
  return {
    ortVersion: deps.ortVersion ?? found.version,
    binDir: deps.binDir ?? coreLibraryDir(found.packageDir, platform, arch),
  };
}

/** The probe's verdict as the user reads it: available, or why not and what to do. */
export function renderProbeVerdict(probe: CudaProbe): string {
  if (probe.available) return `CUDA check: available (CUDA device ids: ${probe.deviceIds.join(', ')})\n`;
  return (
    'CUDA check: not available\n' +
    `  reason: ${probe.reason ?? 'unknown'}\n` +
    (probe.fix !== undefined ? `  fix: ${probe.fix}\n` : '')
  );
}

function runtimeRequirements(binDir: string): string {
  return (
    'At run time the CUDA 13 provider also needs:\n' +
    '  - an NVIDIA GPU with a driver that supports CUDA 13 (`nvidia-smi -L` lists the GPU);\n' +
    "  - the CUDA 13 runtime, cuBLAS and cuRAND libraries and cuDNN 9 on LD_LIBRARY_PATH, e.g. from PyTorch's\n" +
    '    `nvidia` wheels: export LD_LIBRARY_PATH=<site-packages>/nvidia/cu13/lib:<site-packages>/nvidia/cudnn/lib:$LD_LIBRARY_PATH\n' +
    `  - \`ldd ${join(binDir, PROVIDER_LIBRARIES[0])}\` names any library that is still "not found".\n`
  );
}

function cuda12Route(): string {
  return (
    "CUDA 12: onnxruntime-node's own install script fetches the official CUDA 12 build of the provider\n" +
    '(from NuGet; needs internet). Nothing is downloaded by setup-gpu. Run:\n' +
    `  ${OFFICIAL_CUDA12_INSTALL}\n` +
    `If onnxruntime-node ${CUDA13_PROVIDER.ortVersion} is already installed, npm skips its install script; then run:\n` +
    `  ${OFFICIAL_CUDA12_REBUILD}\n` +
    'At run time it needs the CUDA 12 runtime and cuBLAS, cuDNN 9 (on LD_LIBRARY_PATH) and an NVIDIA driver.\n' +
    'Then verify with: inferbench setup-gpu --check\n'
  );
}

async function checkAndReport(binDir: string, deps: SetupGpuRuntime, io: SetupGpuIo): Promise<CudaProbe> {
  io.stdout.write('Checking CUDA the way the server does (a tiny CUDA session, if a GPU is present)...\n');
  const probe = await deps.probe(binDir);
  io.stdout.write(renderProbeVerdict(probe));
  return probe;
}

/** A copy that failed for lack of permission becomes a message that says so; anything else stays as it is. */
function explainWriteFailure(error: unknown, binDir: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return error;
  return new InferbenchError(
    `cannot write into ${binDir} (${code}): run setup-gpu as a user who may write onnxruntime-node's directory`,
    ExitCode.Unexpected,
    { cause: error },
  );
}

async function installCuda13(
  options: SetupGpuOptions,
  deps: Partial<SetupGpuDeps>,
  resolved: SetupGpuRuntime,
  io: SetupGpuIo,
): Promise<number> {
  const { platform, arch } = resolved;
  if (platform !== 'linux' || arch !== 'x64') {
    throw new OptionError(
      `setup-gpu: ${CUDA13_PROVIDER_SPEC} is built for linux/x64 only; this machine is ${platform}/${arch}`,
    );
  }
  const { ortVersion, binDir } = locateOnnxruntime(deps, platform, arch);
  if (ortVersion !== CUDA13_PROVIDER.ortVersion) {
    throw new OptionError(
      `setup-gpu: onnxruntime-node ${ortVersion} is installed, but the CUDA 13 provider (${CUDA13_PROVIDER_SPEC}) is ` +
        `built for ONNX Runtime ${CUDA13_PROVIDER.ortVersion} and only loads into exactly that version. ` +
        `Fix: npm install onnxruntime-node@${CUDA13_PROVIDER.ortVersion}`,
    );
  }
  if (!existsSync(binDir)) {
    throw new OptionError(
      `setup-gpu: onnxruntime-node's core library directory ${binDir} does not exist; reinstall it with ` +
        `npm install onnxruntime-node@${CUDA13_PROVIDER.ortVersion}`,
    );
  }
  const source = options.from ?? `the npm registry: npm pack ${CUDA13_PROVIDER_SPEC} (179 MB)`;
  if (options.dryRun) {
    io.stdout.write(
      'Dry run: nothing is downloaded or copied.\n' +
        `Would take ${PROVIDER_LIBRARIES.join(' and ')} from ${source}\n` +
        `and copy them into ${binDir}\n` +
        PROVIDER_LIBRARIES.map(
          (lib) =>
            `  ${lib}: ${existsSync(join(binDir, lib)) ? 'present (replaced unless identical)' : 'not installed yet'}\n`,
        ).join(''),
    );
    return ExitCode.Success;
  }
  if (options.from === undefined && (await librariesMatch(binDir, resolved.providerSha256))) {
    io.stdout.write(`CUDA 13 provider already installed in ${binDir} (${CUDA13_PROVIDER_SPEC}).\n`);
  } else {
    const workDir = await mkdtemp(join(resolved.tmpDir, 'inferbench-setup-gpu-'));
    try {
      if (options.from === undefined)
        io.stdout.write(`Fetching ${CUDA13_PROVIDER_SPEC} (179 MB) with npm pack...\n`);
      const found = await obtainProviderLibraries({ from: options.from, workDir, pack: resolved.npmPack });
      assertExpectedPackage(found);
      if (found.packageId === undefined) {
        io.stdout.write(
          `note: ${found.dir} has no package.json, so the version cannot be checked; the libraries must come ` +
            `from ${CUDA13_PROVIDER_SPEC}.\n`,
        );
      }
      const plans = await planLibraryInstall(found.dir, binDir);
      if (plans.every((p) => p.state === 'identical')) {
        io.stdout.write(`CUDA 13 provider already installed in ${binDir} (identical files).\n`);
      } else {
        const written = await installLibraries(plans).catch((e: unknown) => {
          throw explainWriteFailure(e, binDir);
        });
        for (const p of written) {
          io.stdout.write(
            `installed ${p.target}${p.state === 'different' ? ' (replaced a different copy)' : ''}\n`,
          );
        }
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
  io.stdout.write(runtimeRequirements(binDir));
  await checkAndReport(binDir, resolved, io);
  return ExitCode.Success;
}

/**
 * Runs `inferbench setup-gpu <argv>` and returns the exit code (0 done, 3 bad options or version/platform
 * mismatch, 5 package not fetchable or — with --check — CUDA not usable, 99 unexpected). Never throws.
 */
export async function runSetupGpu(
  argv: string[],
  io: SetupGpuIo,
  deps: Partial<SetupGpuDeps> = {},
): Promise<number> {
  try {
    const options = parseSetupGpuArgs(argv);
    if (options.help) {
      io.stdout.write(SETUP_GPU_USAGE);
      return ExitCode.Success;
    }
    const resolved: SetupGpuRuntime = {
      npmPack: deps.npmPack ?? npmPack,
      tmpDir: deps.tmpDir ?? tmpdir(),
      platform: deps.platform ?? process.platform,
      arch: deps.arch ?? process.arch,
      providerSha256: deps.providerSha256 ?? CUDA13_LIBRARY_SHA256,
      probe: deps.probe ?? ((providerDir) => runCudaProbe({ providerDir })),
    };
    if (options.check) {
      const { binDir } = locateOnnxruntime(deps, resolved.platform, resolved.arch);
      const probe = await checkAndReport(binDir, resolved, io);
      return probe.available ? ExitCode.Success : ExitCode.NoData;
    }
    if (options.cuda === 12) {
      io.stdout.write(cuda12Route());
      return ExitCode.Success;
    }
    return await installCuda13(options, deps, resolved, io);
  } catch (error) {
    return reportError(error, io.stderr);
  }
}
