import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  defaultProbeEnvironment,
  probeCuda,
  runCudaProbe,
} from '../../../embedded-server/src/runtime/gpu-probe.ts';

let dir: string;
let emptyProviderDir: string;
let fakeProviderDir: string;
let fakeSmi: string;
let procGpus: string;
const NO_SMI = '/nonexistent/nvidia-smi';
const NO_PROC = '/nonexistent/gpus';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'inferbench-gpu-probe-'));
  emptyProviderDir = join(dir, 'empty');
  mkdirSync(emptyProviderDir);
  fakeProviderDir = join(dir, 'providers');
  mkdirSync(fakeProviderDir);
  for (const lib of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) {
    writeFileSync(join(fakeProviderDir, lib), '');
  }
  fakeSmi = join(dir, 'nvidia-smi');
  writeFileSync(
    fakeSmi,
    '#!/bin/sh\necho "GPU 0: NVIDIA H100 (UUID: GPU-a)"\necho "GPU 1: NVIDIA H100 (UUID: GPU-b)"\n',
  );
  chmodSync(fakeSmi, 0o755);
  procGpus = join(dir, 'gpus');
  mkdirSync(join(procGpus, '0000:01:00.0'), { recursive: true });
  mkdirSync(join(procGpus, '0000:02:00.0'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('runCudaProbe', () => {
  it('names both the missing provider libraries and the missing GPU, with how to fix each', async () => {
    const r = await runCudaProbe({ providerDir: emptyProviderDir, nvidiaSmi: NO_SMI, procGpusDir: NO_PROC });
    assert.equal(r.available, false);
    assert.deepEqual(r.deviceIds, []);
    assert.match(
      r.reason ?? '',
      /libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so missing/,
    );
    assert.match(
      r.reason ?? '',
      /no NVIDIA GPU found \(\/nonexistent\/nvidia-smi is not installed and \/nonexistent\/gpus does not exist\)/,
    );
    assert.match(r.fix ?? '', /ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@1\.29\.0/);
    assert.match(r.fix ?? '', /com\.github\.asus4\.onnxruntime\.linux-x64-gpu@0\.4\.9/);
    assert.match(r.fix ?? '', new RegExp(`copy them into ${emptyProviderDir}`));
  });

  it('counts GPUs from nvidia-smi -L, narrowed by CUDA_VISIBLE_DEVICES', async () => {
    const base = { providerDir: emptyProviderDir, nvidiaSmi: fakeSmi, procGpusDir: NO_PROC };
    const all = await runCudaProbe({ ...base, cudaVisibleDevices: undefined });
    assert.deepEqual(all.deviceIds, [0, 1]);
    assert.doesNotMatch(all.reason ?? '', /no NVIDIA GPU/, 'only the provider is missing');
    assert.deepEqual((await runCudaProbe({ ...base, cudaVisibleDevices: '1' })).deviceIds, [0]);
    const hidden = await runCudaProbe({ ...base, cudaVisibleDevices: '' });
    assert.deepEqual(hidden.deviceIds, []);
    assert.match(hidden.reason ?? '', /CUDA_VISIBLE_DEVICES='' hides every GPU/);
  });

  it('falls back to the driver directory when nvidia-smi is absent', async () => {
    const r = await runCudaProbe({
      providerDir: emptyProviderDir,
      nvidiaSmi: NO_SMI,
      procGpusDir: procGpus,
      cudaVisibleDevices: undefined,
    });
    assert.deepEqual(r.deviceIds, [0, 1]);
    assert.equal(r.available, false);
  });

  it('with libraries and a GPU present, still tries a real CUDA session and reports its failure', async (t) => {
    const real = defaultProbeEnvironment().providerDir;
    if (existsSync(join(real, 'libonnxruntime_providers_cuda.so'))) {
      t.skip('a real CUDA provider is installed here');
      return;
    }
    const r = await runCudaProbe({
      providerDir: fakeProviderDir,
      nvidiaSmi: fakeSmi,
      procGpusDir: NO_PROC,
      cudaVisibleDevices: undefined,
    });
    assert.equal(r.available, false);
    assert.deepEqual(r.deviceIds, [0, 1]);
    assert.match(r.reason ?? '', /^a CUDA session could not be created: \S/);
    assert.match(r.fix ?? '', /LD_LIBRARY_PATH/);
  });
});

describe('probeCuda', () => {
  it('answers quickly with a helpful reason on this CPU-only machine, and caches the answer', async (t) => {
    const real = defaultProbeEnvironment().providerDir;
    if (existsSync(join(real, 'libonnxruntime_providers_cuda.so'))) {
      t.skip('a real CUDA provider is installed here');
      return;
    }
    const t0 = process.hrtime.bigint();
    const first = await probeCuda();
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(first.available, false);
    assert.match(first.reason ?? '', /CUDA execution provider is not installed/);
    assert.ok(first.fix && first.fix.length > 0);
    assert.ok(elapsedMs < 5_000, `probe took ${elapsedMs} ms`);
    assert.equal(probeCuda(), probeCuda(), 'one cached promise');
    assert.deepEqual(await probeCuda(), first);
  });
});
