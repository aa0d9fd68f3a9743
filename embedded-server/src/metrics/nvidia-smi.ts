/**
 * GPU readings for the `nv_gpu_*` gauges, from `nvidia-smi` (no NVML binding for Node is worth a native
 * dependency). Scrapes call `read()`; the answer is cached so a tight scrape loop never forks more than
 * once per `minIntervalMs`, and a hung nvidia-smi is killed after `timeoutMs`.
 */
import { execFile } from 'node:child_process';

/** One GPU, in Triton's metric units. */
export interface GpuReading {
  uuid: string;
  /** 0.0–1.0 (nvidia-smi reports percent). */
  utilization: number;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  /** Watts; undefined when the board does not report it (`[N/A]`). */
  powerUsageW: number | undefined;
}

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=uuid,utilization.gpu,memory.total,memory.used,power.draw',
  '--format=csv,noheader,nounits',
] as const;

const MIB = 1024 * 1024;

function parseNumber(field: string | undefined): number | undefined {
  if (field === undefined) return undefined;
  const n = Number.parseFloat(field);
  return Number.isFinite(n) ? n : undefined;
}

/** Parses nvidia-smi's `csv,noheader,nounits` output; lines that do not parse are skipped. */
export function parseNvidiaSmiCsv(text: string): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    const [uuid, util, total, used, power] = fields;
    const utilPct = parseNumber(util);
    const totalMib = parseNumber(total);
    const usedMib = parseNumber(used);
    if (!uuid || utilPct === undefined || totalMib === undefined || usedMib === undefined) continue;
    readings.push({
      uuid,
      utilization: utilPct / 100,
      memoryTotalBytes: totalMib * MIB,
      memoryUsedBytes: usedMib * MIB,
      powerUsageW: parseNumber(power),
    });
  }
  return readings;
}

/** Runs nvidia-smi once; rejects when it is missing, fails or times out. */
export function runNvidiaSmi(timeoutMs: number): Promise<GpuReading[]> {
  return new Promise((resolve, reject) => {
    execFile('nvidia-smi', [...NVIDIA_SMI_ARGS], { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      if (err) reject(err);
      else resolve(parseNvidiaSmiCsv(stdout));
    });
  });
}

export interface GpuReader {
  /** Latest readings (possibly cached); [] when nvidia-smi failed this time. */
  read(): Promise<GpuReading[]>;
}

/**
 * Wraps a query with a minimum interval between runs and single-flight (concurrent scrapes share one run).
 * `nowMs` is injected for tests.
 */
export function cachedGpuReader(
  query: () => Promise<GpuReading[]>,
  options: { minIntervalMs: number; nowMs?: () => number },
): GpuReader {
  const nowMs = options.nowMs ?? Date.now;
  let last: { atMs: number; readings: GpuReading[] } | undefined;
  let inFlight: Promise<GpuReading[]> | undefined;
  return {
    read() {
      if (last && nowMs() - last.atMs < options.minIntervalMs) return Promise.resolve(last.readings);
      inFlight ??= query()
        .catch(() => [])
        .then((readings) => {
          last = { atMs: nowMs(), readings };
          inFlight = undefined;
          return readings;
        });
      return inFlight;
    },
  };
}

/**
 * The reader the server uses, or undefined when no GPU is visible (nvidia-smi absent or listing nothing):
 * then the `nv_gpu_*` families are not registered at all, as in a CPU-only Triton.
 */
export async function detectGpuReader(
  timeoutMs = 2000,
  minIntervalMs = 1000,
): Promise<GpuReader | undefined> {
  try {
    const first = await runNvidiaSmi(timeoutMs);
    if (first.length === 0) return undefined;
  } catch {
    return undefined;
  }
  return cachedGpuReader(() => runNvidiaSmi(timeoutMs), { minIntervalMs });
}
