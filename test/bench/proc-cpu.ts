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
  /** CPU seconds per thread id, with the thread's name (`comm`: Node names its threads, e.g. `inferbench-ingr`). */
  threads?: Map<number, { name: string; seconds: number }>;
}

/** One thread's share of an interval. */
export interface ThreadCores {
  tid: number;
  name: string;
  cores: number;
}

/** The thread name (`comm`, between the first '(' and the last ')') of a `stat` line. */
export function statName(statLine: string): string {
  return statLine.slice(statLine.indexOf('(') + 1, statLine.lastIndexOf(')'));
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
    const threads = new Map<number, { name: string; seconds: number }>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let ticks: number;
      let line: string;
      try {
        line = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        ticks = statTicks(line);
      } catch {
        continue; // the thread ended between the listing and the read
      }
      total += ticks;
      if (tid === String(pid)) main = ticks;
      threads.set(Number(tid), { name: statName(line), seconds: ticks / TICKS_PER_SECOND });
    }
    return {
      atNs,
      mainThreadSeconds: main / TICKS_PER_SECOND,
      totalSeconds: total / TICKS_PER_SECOND,
      threads,
    };
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

/**
 * Cores each thread used between two samples, busiest first; threads under `minCores` are left out (V8's
 * and libuv's helpers that woke once). Threads that started in between count from zero.
 */
export function threadCoresBetween(
  first: ProcessCpuSample,
  last: ProcessCpuSample,
  minCores = 0.01,
): ThreadCores[] {
  const seconds = (last.atNs - first.atNs) / 1e9;
  if (!(seconds > 0) || !last.threads) return [];
  const out: ThreadCores[] = [];
  for (const [tid, t] of last.threads) {
    const cores = (t.seconds - (first.threads?.get(tid)?.seconds ?? 0)) / seconds;
    if (cores >= minCores) out.push({ tid, name: t.name, cores });
  }
  return out.sort((a, b) => b.cores - a.cores || a.tid - b.tid);
}

/**
 * The shape of a server's CPU in one line: the main thread first, then every other thread busiest first
 * (Node 20 gives worker threads no OS name, so ingress, ORT and V8 threads are told apart by load only), at
 * most `shown` of them and the rest summed, e.g. "main 0.95; 0.81 0.79 0.12; +5 threads 0.20".
 */
export function threadCoresSummary(threads: readonly ThreadCores[], mainTid: number, shown = 8): string {
  const main = threads.find((t) => t.tid === mainTid)?.cores ?? 0;
  const others = threads.filter((t) => t.tid !== mainTid);
  const head = others.slice(0, shown).map((t) => t.cores.toFixed(2));
  const rest = others.slice(shown);
  const restCores = rest.reduce((a, t) => a + t.cores, 0);
  return [
    `main ${main.toFixed(2)}`,
    ...(head.length > 0 ? [head.join(' ')] : []),
    ...(rest.length > 0 ? [`+${rest.length} threads ${restCores.toFixed(2)}`] : []),
  ].join('; ');
}
