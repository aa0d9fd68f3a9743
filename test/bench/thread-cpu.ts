/**
 * Per-thread CPU accounting from Linux's /proc/<pid>/task/<tid>/schedstat (ns on CPU, ns runnable but
 * waiting for a CPU, number of times scheduled in), for the server benchmark's "where the time goes":
 * it separates time a thread spent working from time it spent waiting for a CPU. Linux only; elsewhere
 * `readSchedstats` returns undefined.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Schedstat {
  /** Time on a CPU, ns. */
  cpuNs: number;
  /** Time runnable but waiting for a CPU (run-queue wait), ns. */
  waitNs: number;
  /** Times the thread was put on a CPU. */
  slices: number;
}

/** Parses one schedstat line: "<cpu ns> <wait ns> <slices>". */
export function parseSchedstat(line: string): Schedstat | undefined {
  const [cpu, wait, slices] = line.trim().split(/\s+/).map(Number);
  if (![cpu, wait, slices].every((x) => Number.isFinite(x))) return undefined;
  return { cpuNs: cpu as number, waitNs: wait as number, slices: slices as number };
}

/** Every thread of process `pid` (default: this one), by thread id; undefined without /proc. */
export function readSchedstats(pid: number = process.pid): Map<number, Schedstat> | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<number, Schedstat>();
  for (const tid of tids) {
    try {
      const s = parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
      if (s) out.set(Number(tid), s);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** Per-request figures of one thread between two readings. */
export interface ThreadLoad {
  cpuUsPerRequest: number;
  waitUsPerRequest: number;
  slicesPerRequest: number;
}

/** `after − before` for thread `tid`, divided by `requests` (threads new in `after` count from zero). */
export function threadLoad(
  before: ReadonlyMap<number, Schedstat>,
  after: ReadonlyMap<number, Schedstat>,
  tid: number,
  requests: number,
): ThreadLoad | undefined {
  const b = before.get(tid) ?? { cpuNs: 0, waitNs: 0, slices: 0 };
  const a = after.get(tid);
  if (!a || requests <= 0) return undefined;
  return {
    cpuUsPerRequest: (a.cpuNs - b.cpuNs) / requests / 1000,
    waitUsPerRequest: (a.waitNs - b.waitNs) / requests / 1000,
    slicesPerRequest: (a.slices - b.slices) / requests,
  };
}

/** The thread other than `excludeTid` that used the most CPU between the readings. */
export function busiestThread(
  before: ReadonlyMap<number, Schedstat>,
  after: ReadonlyMap<number, Schedstat>,
  excludeTid: number,
): number | undefined {
  let best: number | undefined;
  let bestNs = -1;
  for (const [tid, a] of after) {
    if (tid === excludeTid) continue;
    const ns = a.cpuNs - (before.get(tid)?.cpuNs ?? 0);
    if (ns > bestNs) {
      bestNs = ns;
      best = tid;
    }
  }
  return best;
}
