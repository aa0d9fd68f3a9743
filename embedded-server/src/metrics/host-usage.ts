/**
 * Host CPU utilisation and RAM for `nv_cpu_*`, computed the way Triton does (core:src/metrics.cc): busy share
 * of all CPU time between two readings, and used memory = MemTotal − MemAvailable from /proc/meminfo.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuTimes {
  busyMs: number;
  totalMs: number;
}

export interface HostUsage {
  /** 0.0–1.0 over the time since the previous call (since creation for the first). */
  cpuUtilization(): number;
  memoryTotalBytes(): number;
  memoryUsedBytes(): number;
}

/** Sum of all cores' times, from os.cpus(). */
export function readCpuTimes(): CpuTimes {
  let busyMs = 0;
  let totalMs = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    totalMs += all;
    busyMs += all - t.idle;
  }
  return { busyMs, totalMs };
}

/** Busy share between two readings, clamped to [0, 1]; 0 when no time passed. */
export function utilizationBetween(before: CpuTimes, after: CpuTimes): number {
  const total = after.totalMs - before.totalMs;
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, (after.busyMs - before.busyMs) / total));
}

/** `{ totalBytes, availableBytes }` from /proc/meminfo text; undefined when the fields are missing. */
export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } | undefined {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const totalBytes = kb('MemTotal');
  const availableBytes = kb('MemAvailable');
  return totalBytes === undefined || availableBytes === undefined
    ? undefined
    : { totalBytes, availableBytes };
}

function readMemory(): { totalBytes: number; availableBytes: number } {
  try {
    const parsed = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
    if (parsed) return parsed;
  } catch {
    // not Linux: fall back to what Node knows
  }
  return { totalBytes: os.totalmem(), availableBytes: os.freemem() };
}

/** Live host readings; `cpuTimes` is injectable for tests. */
export function createHostUsage(cpuTimes: () => CpuTimes = readCpuTimes): HostUsage {
  let previous = cpuTimes();
  return {
    cpuUtilization() {
      const now = cpuTimes();
      const u = utilizationBetween(previous, now);
      previous = now;
      return u;
    },
    memoryTotalBytes: () => readMemory().totalBytes,
    memoryUsedBytes: () => {
      const m = readMemory();
      return Math.max(0, m.totalBytes - m.availableBytes);
    },
  };
}
