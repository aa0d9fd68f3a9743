/**
 * What a benchmark result must say about where it ran: CPU model and cores, GPUs (`nvidia-smi -L`), Node and
 * ONNX Runtime versions, the commit, and the load average (a busy machine makes every figure lower, so the
 * result carries the evidence).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, hostname, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DeviceInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  hostname: string;
  /** `nvidia-smi -L` lines; empty when there is no NVIDIA driver. */
  gpus: string[];
  node: string;
  onnxruntimeNode: string;
  /** `git rev-parse HEAD` plus "-dirty" when the tree has changes; "unknown" outside git. */
  commit: string;
  /** 1-minute load average when the run started and ended. */
  loadAverageStart: number;
  loadAverageEnd?: number;
}

async function quiet(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 10_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function ortVersion(): Promise<string> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('onnxruntime-node');
  let dir = dirname(entry);
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8').catch(() => '{}')) as {
      name?: string;
      version?: string;
    };
    if (pkg.name === 'onnxruntime-node') return pkg.version ?? 'unknown';
  }
  return 'unknown';
}

export async function describeDevice(): Promise<DeviceInfo> {
  const cpuList = cpus();
  const gpus = (await quiet('nvidia-smi', ['-L']))?.split('\n').filter((l) => l.trim() !== '') ?? [];
  const head = await quiet('git', ['rev-parse', 'HEAD']);
  const dirty = head ? (await quiet('git', ['status', '--porcelain', '--untracked-files=no'])) !== '' : false;
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cpuCount: cpuList.length,
    totalMemoryBytes: totalmem(),
    hostname: hostname(),
    gpus,
    node: process.version,
    onnxruntimeNode: await ortVersion(),
    commit: head ? `${head}${dirty ? '-dirty' : ''}` : 'unknown',
    loadAverageStart: loadavg()[0] ?? 0,
  };
}
