import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { CudaProbe } from '../../../embedded-server/src/runtime/gpu-probe.ts';
import {
  CUDA13_PROVIDER_SPEC,
  type NpmPack,
  PROVIDER_LIBRARIES,
  ProviderPackageError,
} from '../../../src/gpu/cuda-provider-package.ts';
import { coreLibraryDir, findOnnxruntimeNode } from '../../../src/gpu/onnxruntime-node-install.ts';
import { runSetupGpu, type SetupGpuDeps } from '../../../src/gpu/setup-gpu.ts';

const [CUDA_LIB, SHARED_LIB] = PROVIDER_LIBRARIES;
const LIB_SUBDIR = join('package', 'Plugins', 'Linux', 'x64');

function capture() {
  const chunks = { out: '', err: '' };
  const sink = (key: 'out' | 'err') =>
    new Writable({
      write(chunk, _enc, done) {
        chunks[key] += String(chunk);
        done();
      },
    });
  return { io: { stdout: sink('out'), stderr: sink('err') }, chunks };
}

/** Writes a fake provider package (dummy libraries + package.json) under `root` and packs it with tar. */
function makeFakePackage(root: string, version: string, libraries: Record<string, Buffer>): string {
  const src = join(root, `src-${version}`);
  mkdirSync(join(src, LIB_SUBDIR), { recursive: true });
  for (const [name, bytes] of Object.entries(libraries)) writeFileSync(join(src, LIB_SUBDIR, name), bytes);
  writeFileSync(
    join(src, 'package', 'package.json'),
    JSON.stringify({ name: 'com.github.asus4.onnxruntime.linux-x64-gpu', version }),
  );
  const tgz = join(root, `fake-${version}.tgz`);
  execFileSync('tar', ['czf', tgz, '-C', src, 'package']);
  return tgz;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('inferbench setup-gpu', () => {
  let root: string;
  let fakeTgz: string;
  const libBytes = { [CUDA_LIB]: randomBytes(96 * 1024), [SHARED_LIB]: randomBytes(4 * 1024) };
  const noGpu: CudaProbe = {
    available: false,
    deviceIds: [],
    reason: 'fake: no GPU here',
    fix: 'fake: add one',
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'setup-gpu-test-'));
    fakeTgz = makeFakePackage(root, '0.4.9', libBytes);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A fresh fake onnxruntime-node bin dir and deps that must not touch the network or the real probe. */
  function fixture(overrides: Partial<SetupGpuDeps> = {}) {
    const binDir = mkdtempSync(join(root, 'bin-'));
    const tmpDir = mkdtempSync(join(root, 'tmp-'));
    const packCalls: string[] = [];
    const probeCalls: string[] = [];
    const deps: Partial<SetupGpuDeps> = {
      binDir,
      tmpDir,
      ortVersion: '1.29.0',
      platform: 'linux',
      arch: 'x64',
      npmPack: async (spec) => {
        packCalls.push(spec);
        throw new Error('npm pack must not run in this test');
      },
      probe: async (dir) => {
        probeCalls.push(dir);
        return noGpu;
      },
      ...overrides,
    };
    return { binDir, tmpDir, deps, packCalls, probeCalls };
  }

  function assertInstalled(binDir: string): void {
    for (const lib of PROVIDER_LIBRARIES) {
      assert.ok(readFileSync(join(binDir, lib)).equals(libBytes[lib] as Buffer), `${lib} is byte-identical`);
    }
  }

  it('installs both libraries from a --from tarball, byte-identical, then prints requirements and the probe verdict', async () => {
    const f = fixture();
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', fakeTgz], io, f.deps), 0, chunks.err);
    assertInstalled(f.binDir);
    assert.match(chunks.out, new RegExp(`installed ${join(f.binDir, CUDA_LIB)}`));
    assert.match(chunks.out, /cuDNN 9/);
    assert.match(chunks.out, /LD_LIBRARY_PATH/);
    assert.match(
      chunks.out,
      /CUDA check: not available\n {2}reason: fake: no GPU here\n {2}fix: fake: add one/,
    );
    assert.deepEqual(f.probeCalls, [f.binDir]);
    assert.deepEqual(f.packCalls, []);
    assert.deepEqual(readdirSync(f.tmpDir), [], 'the temporary unpack directory is removed');
  });

  it('says "already installed" on a second run and rewrites nothing', async () => {
    const f = fixture();
    assert.equal(await runSetupGpu(['--from', fakeTgz], capture().io, f.deps), 0);
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', fakeTgz], io, f.deps), 0);
    assert.match(chunks.out, /already installed/);
    assert.doesNotMatch(chunks.out, /^installed /m);
  });

  it('replaces a different copy (e.g. the CUDA 12 build) with the package files', async () => {
    const f = fixture();
    writeFileSync(join(f.binDir, CUDA_LIB), 'an older provider');
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', fakeTgz], io, f.deps), 0);
    assertInstalled(f.binDir);
    assert.match(chunks.out, /replaced a different copy/);
    assert.ok(
      readdirSync(f.binDir).every((n) => !n.includes('.partial-')),
      'no partial file is left behind',
    );
  });

  it('fetches the exact package with npm pack when --from is absent, and cleans up its download', async () => {
    const packCalls: string[] = [];
    const pack: NpmPack = async (spec, dest) => {
      packCalls.push(spec);
      const tgz = join(dest, 'pkg.tgz');
      copyFileSync(fakeTgz, tgz);
      return tgz;
    };
    const f = fixture({ npmPack: pack });
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu([], io, f.deps), 0, chunks.err);
    assert.deepEqual(packCalls, ['com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9']);
    assertInstalled(f.binDir);
    assert.deepEqual(readdirSync(f.tmpDir), []);
  });

  it('skips the download when the installed libraries already have the package checksums', async () => {
    const f = fixture({
      providerSha256: {
        [CUDA_LIB]: sha256(libBytes[CUDA_LIB] as Buffer),
        [SHARED_LIB]: sha256(libBytes[SHARED_LIB] as Buffer),
      },
    });
    for (const lib of PROVIDER_LIBRARIES) writeFileSync(join(f.binDir, lib), libBytes[lib] as Buffer);
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu([], io, f.deps), 0, chunks.err);
    assert.deepEqual(f.packCalls, [], 'npm pack is not run');
    assert.match(chunks.out, /already installed/);
  });

  it('exits 5 when npm pack fails, and 5 when the package lacks the libraries', async () => {
    const failing = fixture({
      npmPack: async () => {
        throw new ProviderPackageError('`npm pack x` failed:\nnpm error 404 Not Found');
      },
    });
    const a = capture();
    assert.equal(await runSetupGpu([], a.io, failing.deps), 5);
    assert.match(a.chunks.err, /^error: `npm pack x` failed:\nnpm error 404/);

    const empty = join(root, 'empty-pkg');
    mkdirSync(join(empty, 'package'), { recursive: true });
    writeFileSync(join(empty, 'package', 'README.md'), 'no libraries');
    const emptyTgz = join(root, 'empty.tgz');
    execFileSync('tar', ['czf', emptyTgz, '-C', empty, 'package']);
    const f = fixture();
    const b = capture();
    assert.equal(await runSetupGpu(['--from', emptyTgz], b.io, f.deps), 5);
    assert.match(
      b.chunks.err,
      /does not contain libonnxruntime_providers_cuda\.so and libonnxruntime_providers_shared\.so/,
    );
    assert.deepEqual(readdirSync(f.binDir), []);
  });

  it('takes an unpacked package directory or a bare directory of libraries as --from', async () => {
    const unpacked = join(root, 'src-0.4.9');
    const f1 = fixture();
    assert.equal(await runSetupGpu(['--from', unpacked], capture().io, f1.deps), 0);
    assertInstalled(f1.binDir);

    const f2 = fixture();
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', join(unpacked, LIB_SUBDIR)], io, f2.deps), 0);
    assertInstalled(f2.binDir);
    assert.match(chunks.out, /no package\.json, so the version cannot be checked/);
  });

  it('refuses a version mismatch with both versions and the fix (exit 3), copying nothing', async () => {
    const f = fixture({ ortVersion: '1.30.0' });
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', fakeTgz], io, f.deps), 3);
    assert.match(chunks.err, /onnxruntime-node 1\.30\.0 is installed/);
    assert.match(chunks.err, /ONNX Runtime 1\.29\.0/);
    assert.match(chunks.err, /npm install onnxruntime-node@1\.29\.0/);
    assert.deepEqual(readdirSync(f.binDir), []);
  });

  it('refuses a provider package of another version (exit 3)', async () => {
    const otherTgz = makeFakePackage(root, '0.4.8', libBytes);
    const f = fixture();
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', otherTgz], io, f.deps), 3);
    assert.match(chunks.err, /linux-x64-gpu@0\.4\.8/);
    assert.ok(chunks.err.includes(CUDA13_PROVIDER_SPEC));
    assert.deepEqual(readdirSync(f.binDir), []);
  });

  it('refuses platforms other than linux/x64 (exit 3)', async () => {
    const f = fixture({ platform: 'darwin', arch: 'arm64' });
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--from', fakeTgz], io, f.deps), 3);
    assert.match(chunks.err, /linux\/x64 only; this machine is darwin\/arm64/);
  });

  it('--cuda 12 prints the official onnxruntime-node route and downloads nothing', async () => {
    const f = fixture();
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--cuda', '12'], io, f.deps), 0);
    assert.ok(chunks.out.includes('ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@1.29.0'));
    assert.deepEqual(f.packCalls, []);
    assert.deepEqual(readdirSync(f.binDir), []);
  });

  it('refuses --cuda 11, unknown flags and --check with --from (exit 3)', async () => {
    const f = fixture();
    const a = capture();
    assert.equal(await runSetupGpu(['--cuda', '11'], a.io, f.deps), 3);
    assert.match(a.chunks.err, /--cuda 11 is not supported/);
    const b = capture();
    assert.equal(await runSetupGpu(['--cuda13'], b.io, f.deps), 3);
    assert.match(b.chunks.err, /--cuda13/);
    const c = capture();
    assert.equal(await runSetupGpu(['--check', '--from', fakeTgz], c.io, f.deps), 3);
    const d = capture();
    assert.equal(await runSetupGpu(['--from', join(root, 'does-not-exist.tgz')], d.io, f.deps), 3);
    assert.match(d.chunks.err, /no such file or directory/);
  });

  it('--dry-run says what it would do and copies nothing', async () => {
    const f = fixture();
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--dry-run'], io, f.deps), 0);
    assert.match(chunks.out, /Dry run/);
    assert.ok(chunks.out.includes(`npm pack ${CUDA13_PROVIDER_SPEC}`));
    assert.ok(chunks.out.includes(f.binDir));
    assert.deepEqual(readdirSync(f.binDir), []);
    assert.deepEqual(f.packCalls, []);
    assert.deepEqual(f.probeCalls, []);
  });

  it('--check runs the real probe: exit 5 with the reason when the provider is missing (no GPU needed)', async () => {
    const { probe: _fake, ...withoutProbe } = fixture().deps;
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--check'], io, withoutProbe), 5);
    assert.match(chunks.out, /CUDA check: not available/);
    assert.match(chunks.out, /reason: ONNX Runtime's CUDA execution provider is not installed/);
    assert.ok(chunks.out.includes(withoutProbe.binDir as string));
  });

  it('--check exits 0 when the probe says CUDA is available', async () => {
    const f = fixture({ probe: async () => ({ available: true, deviceIds: [0, 1] }) });
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--check'], io, f.deps), 0);
    assert.match(chunks.out, /CUDA check: available \(CUDA device ids: 0, 1\)/);
  });

  it('--help prints the usage', async () => {
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['-h'], io, fixture().deps), 0);
    assert.match(chunks.out, /^Usage: inferbench setup-gpu/);
    assert.match(chunks.out, /--from <dir-or-tgz>/);
  });

  it('finds the installed onnxruntime-node and its core library directory by default', async () => {
    const found = findOnnxruntimeNode();
    assert.equal(found.version, '1.29.0');
    const coreDir = coreLibraryDir(found.packageDir, 'linux', 'x64');
    assert.ok(existsSync(join(coreDir, 'libonnxruntime.so.1')), `${coreDir} holds the core library`);
    const { binDir: _b, ortVersion: _v, ...defaults } = fixture().deps;
    const { io, chunks } = capture();
    assert.equal(await runSetupGpu(['--dry-run'], io, defaults), 0, chunks.err);
    assert.ok(chunks.out.includes(`copy them into ${coreDir}`));
  });
});
