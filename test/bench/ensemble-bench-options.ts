/**
 * Command line of `npm run bench:ensemble`: which CPUs the server and the load client may use, and how many
 * ORT intra-op threads text_recognition (the pipeline's heavy step) gets. The defaults run what users get:
 * the shipped configs (1 intra-op thread per instance), no pinning.
 */
import { parseArgs } from 'node:util';
import { MAX_ORT_THREADS_PER_INSTANCE } from '../../embedded-server/src/repository/config-limits.ts';
import { CPU_PINNING_ARGS, type CpuPinning, cpuPinningOptions } from './cpu-pinning.ts';

export interface EnsembleBenchOptions extends CpuPinning {
  /** text_recognition's ORT intra-op threads; undefined = as shipped; 'auto' = the server's CPUs − 1. */
  intraOpThreads?: number | 'auto';
  /** Seconds of c=1 traffic per mode before the levels are measured (0 = none). */
  serverWarmupS: number;
  /** Run the server's TypeScript sources through tsx instead of its dist/ build (server-build.ts). */
  source?: true;
  /**
   * 'mode': every ensemble level, then every chained level, each block after its own warm-up (one kind of
   * traffic at a time, as a perf_analyzer run profiles one model). 'level': per concurrency, ensemble then
   * chained (mixed traffic: V8 re-optimises the shared request path after every switch, which inflates the
   * ensemble's overhead for a while).
   */
  order: EnsembleBenchOrder;
  /** Results path without extension; undefined = bench-results/ensemble-pipeline (the current result). */
  out?: string;
}

export type EnsembleBenchOrder = 'mode' | 'level';
export const DEFAULT_ENSEMBLE_BENCH_ORDER: EnsembleBenchOrder = 'mode';

export const DEFAULT_SERVER_WARMUP_S = 30;
const MAX_SERVER_WARMUP_S = 3600;

export const ENSEMBLE_BENCH_USAGE = `usage: npm run bench:ensemble -- [options]
  --server-cpus LIST        pin the server (this process, its model threads included) to these CPUs
                            (taskset -c LIST, e.g. 0-7)
  --client-cpus LIST        pin the load client (a child process) to these CPUs; keep it off the server's
  --intra-op-threads N|auto ORT intra-op threads of text_recognition, the pipeline's ~28 ms step (default:
                            as shipped, 1); auto = the server's CPUs - 1, leaving one for its event loop
  --server-warmup-s N       seconds of c=1 traffic per mode (ensemble, chained) on the fresh server before
                            the levels, so they measure a server whose request path V8 has optimised
                            (default ${DEFAULT_SERVER_WARMUP_S}; 0-${MAX_SERVER_WARMUP_S}); one cold window is measured before it either way
  --order mode|level        mode (default): all ensemble levels after an ensemble warm-up, then all chained
                            levels after a chained one; level: per concurrency ensemble then chained, so
                            each ensemble level follows chained traffic (mixed traffic)
  --out PATH                results path without extension (default bench-results/ensemble-pipeline)
  --source                  run the server from its TypeScript sources through tsx instead of the dist/ build
                            that \`inferbench serve\` runs (npm run bench:ensemble builds it first)
  -h, --help`;

/** Parses argv (without node and script); throws Error with a one-line reason on bad input. */
export function parseEnsembleBenchOptions(argv: readonly string[]): EnsembleBenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      ...CPU_PINNING_ARGS,
      'intra-op-threads': { type: 'string' },
      'server-warmup-s': { type: 'string' },
      order: { type: 'string' },
      out: { type: 'string' },
      source: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const options: EnsembleBenchOptions = {
    ...cpuPinningOptions(values),
    serverWarmupS: DEFAULT_SERVER_WARMUP_S,
    order: DEFAULT_ENSEMBLE_BENCH_ORDER,
    ...(values.source ? { source: true as const } : {}),
  };
  const warmup = values['server-warmup-s'];
  if (warmup !== undefined) {
    const n = Number(warmup);
    if (!/^\d+$/.test(warmup) || n > MAX_SERVER_WARMUP_S)
      throw new Error(`--server-warmup-s: expected an integer 0-${MAX_SERVER_WARMUP_S}, got '${warmup}'`);
    options.serverWarmupS = n;
  }
  if (values.out !== undefined) {
    if (values.out === '') throw new Error('--out: expected a path');
    options.out = values.out;
  }
  const order = values.order;
  if (order !== undefined) {
    if (order !== 'mode' && order !== 'level')
      throw new Error(`--order: expected mode or level, got '${order}'`);
    options.order = order;
  }
  const threads = values['intra-op-threads'];
  if (threads !== undefined) {
    if (threads === 'auto') options.intraOpThreads = 'auto';
    else {
      const n = Number(threads);
      if (!/^\d+$/.test(threads) || n < 1 || n > MAX_ORT_THREADS_PER_INSTANCE) {
        throw new Error(
          `--intra-op-threads: expected auto or an integer 1-${MAX_ORT_THREADS_PER_INSTANCE}, got '${threads}'`,
        );
      }
      options.intraOpThreads = n;
    }
  }
  return options;
}

/** The thread count `auto` stands for: every server CPU but one, which the event loop keeps; at least 1. */
export function resolveIntraOpThreads(
  requested: number | 'auto' | undefined,
  serverCpuCount: number,
): number | undefined {
  if (requested === 'auto') return Math.max(1, serverCpuCount - 1);
  return requested;
}
