/**
 * Can KIND_GPU instances run here? Checks, in order of how cheaply they fail: ONNX Runtime's CUDA provider
 * library next to onnxruntime-node's core library, an NVIDIA device, and a real CUDA session. The session
 * is tried in a short-lived child process, so a provider that crashes on load cannot take the server down.
 * The answer says what is missing and how to install it, because "no GPU" alone helps nobody.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { identityModel } from '../onnx/tiny-models.ts';

export interface CudaProbe {
  available: boolean;
  /** CUDA device ids ORT can use (relative to CUDA_VISIBLE_DEVICES). */
  deviceIds: number[];
  reason?: string;
  fix?: string;
}

/** Where the probe looks; every field is overridable for tests. */
export interface ProbeEnvironment {
  /** Directory of `libonnxruntime.so.1` in onnxruntime-node. */
  providerDir: string;
  /** Command that lists GPUs (`nvidia-smi`). */
  nvidiaSmi: string;
  /** Kernel driver's per-GPU directory, used when nvidia-smi is absent. */
  procGpusDir: string;
  cudaVisibleDevices: string | undefined;
  /** Limit for the CUDA session attempt. */
  sessionTimeoutMs: number;
}

const requireHere = createRequire(import.meta.url);
const ORT_PACKAGE_DIR = dirname(requireHere.resolve('onnxruntime-node/package.json'));
const ORT_MAIN = requireHere.resolve('onnxruntime-node');
const PROVIDER_LIBS = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];

export function defaultProbeEnvironment(): ProbeEnvironment {
  return {
    providerDir: join(ORT_PACKAGE_DIR, 'bin', 'napi-v6', process.platform, process.arch),
    nvidiaSmi: 'nvidia-smi',
    procGpusDir: '/proc/driver/nvidia/gpus',
    cudaVisibleDevices: process.env.CUDA_VISIBLE_DEVICES,
    sessionTimeoutMs: 60_000,
  };
}

function providerFix(dir: string): string {
  return (
    'Install the CUDA execution provider of ONNX Runtime 1.29.0 next to onnxruntime-node: for CUDA 12, ' +
    '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@1.29.0` (needs internet); for CUDA 13, take ' +
    `${PROVIDER_LIBS.join(' and ')} from the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 ` +
    `(\`npm pack\` it) and copy them into ${dir}. The provider version must equal onnxruntime-node's.`
  );
}

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ ok: boolean; stdout: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) => {
      const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      resolve({ ok: !error, stdout: stdout ?? '', missing });
    });
  });
}

/** GPU indices the driver reports, then narrowed to CUDA_VISIBLE_DEVICES (renumbered from 0 as CUDA does). */
async function listDevices(env: ProbeEnvironment): Promise<{ ids: number[]; how: string }> {
  const smi = await run(env.nvidiaSmi, ['-L'], 10_000);
  let count: number;
  let how: string;
  if (!smi.missing) {
    count = smi.stdout.split('\n').filter((l) => /^GPU \d+:/.test(l)).length;
    how = smi.ok ? `${env.nvidiaSmi} -L listed none` : `${env.nvidiaSmi} -L failed`;
  } else if (existsSync(env.procGpusDir)) {
    count = readdirSync(env.procGpusDir).length;
    how = `${env.nvidiaSmi} is not installed and ${env.procGpusDir} is empty`;
  } else {
    count = 0;
    how = `${env.nvidiaSmi} is not installed and ${env.procGpusDir} does not exist`;
  }
  const visible = env.cudaVisibleDevices?.trim();
  if (visible !== undefined) {
    const n = visible === '' ? 0 : Math.min(count, visible.split(',').length);
    if (n === 0 && count > 0) how = `CUDA_VISIBLE_DEVICES='${env.cudaVisibleDevices}' hides every GPU`;
    count = n;
  }
  return { ids: Array.from({ length: count }, (_, i) => i), how };
}

const SESSION_SCRIPT = `
const ort = require(process.argv[1]);
const model = Buffer.from(process.argv[2], 'base64');
ort.InferenceSession.create(model, { executionProviders: [{ name: 'cuda', deviceId: Number(process.argv[3]) }], logSeverityLevel: 3 })
  .then((s) => s.run({ INPUT0: new ort.Tensor('float32', new Float32Array(4), [1, 4]) }))
  .then(() => process.stdout.write('ok'), (e) => { process.stdout.write(String(e && e.message)); process.exitCode = 1; });
`;

/** Tries one CUDA session + run in a child process; undefined on success, else the error text. */
async function trySession(deviceId: number, timeoutMs: number): Promise<string | undefined> {
  const model = Buffer.from(identityModel('FP32')).toString('base64');
  const r = await run(process.execPath, ['-e', SESSION_SCRIPT, ORT_MAIN, model, String(deviceId)], timeoutMs);
  if (r.ok && r.stdout === 'ok') return undefined;
  return r.stdout.trim() || 'the probe process failed without a message (crashed or timed out)';
}

/** Uncached probe with an injectable environment. */
export async function runCudaProbe(overrides: Partial<ProbeEnvironment> = {}): Promise<CudaProbe> {
  const env = { ...defaultProbeEnvironment(), ...overrides };
  const missingLibs = PROVIDER_LIBS.filter((lib) => !existsSync(join(env.providerDir, lib)));
  const devices = await listDevices(env);
  const reasons: string[] = [];
  const fixes: string[] = [];
  if (missingLibs.length > 0) {
    reasons.push(
      `ONNX Runtime's CUDA execution provider is not installed (${missingLibs.join(', ')} missing in ${env.providerDir})`,
    );
    fixes.push(providerFix(env.providerDir));
  }
  if (devices.ids.length === 0) {
    reasons.push(`no NVIDIA GPU found (${devices.how})`);
    fixes.push(
      'Run on a machine with an NVIDIA GPU and its driver (nvidia-smi -L must list it), and check CUDA_VISIBLE_DEVICES.',
    );
  }
  if (reasons.length > 0) {
    return { available: false, deviceIds: devices.ids, reason: reasons.join('; '), fix: fixes.join(' ') };
  }
  const error = await trySession(devices.ids[0] as number, env.sessionTimeoutMs);
  if (error !== undefined) {
    return {
      available: false,
      deviceIds: devices.ids,
      reason: `a CUDA session could not be created: ${error}`,
      fix:
        'Make the CUDA libraries the provider links against loadable (CUDA 13 cuBLAS/cudart/cuRAND and cuDNN 9 for the ' +
        `asus4 build, CUDA 12 for the official one), e.g. add their lib directories to LD_LIBRARY_PATH; ` +
        `\`ldd ${join(env.providerDir, PROVIDER_LIBS[0] as string)}\` shows what is missing.`,
    };
  }
  return { available: true, deviceIds: devices.ids };
}

let cached: Promise<CudaProbe> | undefined;

/** Probes once per process; later calls get the same answer. */
export function probeCuda(): Promise<CudaProbe> {
  cached ??= runCudaProbe();
  return cached;
}
