/**
 * CPU time of another process, split into its main thread and all other threads, read from
 * `/proc/<pid>/task/<tid>/stat` (Linux). The batching benchmark reads the server's at every window edge: the
 * main thread carries the transports and the batcher, the other threads ORT and V8's helpers, so the split
 * shows whether the server's own work or the model is what fills its cores. Elsewhere it reads `undefined`.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux USER_HZ: the unit of utime/stime in /proc (100 on every mainstream kernel build). */
const TICKS_PER_SECOND = 100;

export interface ProcessCpuSample {
  /** When it was read (Clock ns of the reader). */
  atNs: number;
  mainThreadSeconds: number;
  /** Every thread, the main one included (threads that already exited are not counted). */
  totalSeconds: number;
}

/** utime + stime (ticks) of one `stat` line; the command name may hold spaces and parentheses. */
export function statTicks(statLine: string): number {
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

export function sampleProcessCpu(pid: number, atNs: number): ProcessCpuSample | undefined {
  try {
    let main = 0;
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let ticks: number;
      try {
        ticks = statTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      } catch {
        continue; // the thread ended between the listing and the read
      }
      total += ticks;
      if (tid === String(pid)) main = ticks;
    }
    return { atNs, mainThreadSeconds: main / TICKS_PER_SECOND, totalSeconds: total / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** Cores used between two samples: in total and by the main thread. */
export function coresBetween(
  first: ProcessCpuSample,
  last: ProcessCpuSample,
): { totalCores: number; mainThreadCores: number } | undefined {
  const seconds = (last.atNs - first.atNs) / 1e9;
  if (!(seconds > 0)) return undefined;
  return {
    totalCores: (last.totalSeconds - first.totalSeconds) / seconds,
    mainThreadCores: (last.mainThreadSeconds - first.mainThreadSeconds) / seconds,
  };
}
