/**
 * What one worker thread has used so far, read inside it: event-loop active time (Node's
 * eventLoopUtilization: every moment the thread was not idle in its event loop, so a blocking ORT run and
 * an Atomics.wait for a batch both count; on a loaded machine, also time it waited for a core) and its CPU
 * time from /proc/thread-self (Linux: schedstat's nanoseconds where the kernel keeps them, else stat's
 * 10 ms ticks; undefined elsewhere). Asked for by benchmarks, never on the request path.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Linux USER_HZ (utime/stime unit in /proc/.../stat). */
const TICKS_PER_SECOND = 100;

export interface ThreadUsage {
  /** Event-loop active time since the thread started. */
  activeMs: number;
  /** CPU time of this thread, or undefined where /proc/thread-self is not readable. */
  cpuMs: number | undefined;
}

function cpuMs(): number | undefined {
  try {
    // Fields: ns on a CPU, ns waiting on a run queue, time slices (all 0 where schedstats are off).
    const onCpuNs = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    if (Number.isFinite(onCpuNs) && onCpuNs > 0) return onCpuNs / 1e6;
  } catch {
    // fall through to stat
  }
  try {
    const line = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

export function threadUsage(): ThreadUsage {
  return { activeMs: performance.eventLoopUtilization().active, cpuMs: cpuMs() };
}
