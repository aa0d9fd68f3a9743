/**
 * Pinning the server and the load generator to disjoint CPUs for the benchmarks (`--server-cpus`,
 * `--client-cpus`), so a figure says what the server does on its cores rather than how it fights the
 * client for them. Uses util-linux `taskset` (Linux only); a missing tool is a clear error, never a
 * silently unpinned run.
 */
import { execFileSync } from 'node:child_process';

/** `0,1` or `0-3,8`: what `taskset -c` takes. Returns the CPU numbers; throws on anything else. */
export function parseCpuList(text: string, flag: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || to < from) throw new Error(`${flag}: expected a CPU list such as 0,1 or 0-3,8, got '${text}'`);
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

export interface CpuPinning {
  /** Pin the server to these CPUs. */
  serverCpus?: number[];
  /** Pin the load generator (this process) to these CPUs. */
  clientCpus?: number[];
}

/** The parseArgs option specs of `--server-cpus` / `--client-cpus`, shared by the benchmarks. */
export const CPU_PINNING_ARGS = {
  'server-cpus': { type: 'string' },
  'client-cpus': { type: 'string' },
} as const;

/** `--server-cpus` / `--client-cpus` as parsed by parseArgs; absent flags stay absent. */
export function cpuPinningOptions(values: { 'server-cpus'?: string; 'client-cpus'?: string }): CpuPinning {
  const pinning: CpuPinning = {};
  if (values['server-cpus'] !== undefined)
    pinning.serverCpus = parseCpuList(values['server-cpus'], '--server-cpus');
  if (values['client-cpus'] !== undefined)
    pinning.clientCpus = parseCpuList(values['client-cpus'], '--client-cpus');
  return pinning;
}

function taskset(args: string[]): string {
  try {
    return execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error('CPU pinning needs `taskset` (util-linux), which is not on PATH');
    throw new Error(`taskset ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** Pins every thread of `pid` (default: this process) to `cpus`; threads started later inherit it. */
export function pinProcess(cpus: readonly number[], pid: number = process.pid): void {
  taskset(['-a', '-p', '-c', cpus.join(','), String(pid)]);
}

/** The command prefix that starts a program pinned to `cpus`. */
export function pinnedCommand(cpus: readonly number[]): string[] {
  taskset(['-c', cpus.join(','), 'true']);
  return ['taskset', '-c', cpus.join(',')];
}
