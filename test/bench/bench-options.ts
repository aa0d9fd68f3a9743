/**
 * Command line of the batching benchmark, with per-device defaults chosen so a whole run stays bounded
 * (CPU ≈ 3 min per protocol, GPU ≈ 3–4 min per protocol) and the result name says what was run.
 */

import { parseArgs } from 'node:util';
import {
  BENCH_CONFIG_CHOICES,
  BENCH_CONFIG_NAMES,
  type BenchConfigName,
  type BenchDevice,
} from './bench-repository.ts';
import { currentResultBase } from './bench-results.ts';
import { CPU_PINNING_ARGS, type CpuPinning, cpuPinningOptions } from './cpu-pinning.ts';

export type BenchModel = 'text_direction' | 'text_recognition';
export type BenchProtocol = 'http' | 'grpc';

/** `serverCpus` also pins the raw ORT ceiling (it runs on the server's cores). */
export interface BenchOptions extends CpuPinning {
  device: BenchDevice;
  model: BenchModel;
  protocols: BenchProtocol[];
  configs: BenchConfigName[];
  concurrency: number[];
  windowMs: number;
  /** Windows per level at most; the level stops earlier once the last 3 are within `stability`. */
  maxTrials: number;
  stability: number;
  /** Dynamic batcher `max_queue_delay_microseconds`. */
  delayUs: number;
  maxBatchSize: number;
  /** CPU only: ORT intra-op threads per instance; `auto` = cores / instances. */
  intraOpThreads: number | 'auto';
  /** text_recognition's variable width (pixels). */
  width: number;
  /** Load-generator worker threads (the server runs in its own process either way). */
  clientThreads: number;
  /**
   * Requests per level before its windows, per unit of concurrency (at least 32 in all). 4 fills the batcher
   * and the instances' first runs; a fresh GPU server keeps speeding up for seconds after that (V8 optimising
   * its request path), which a larger figure takes out of the windows.
   */
  warmupPerConcurrency: number;
  /** CPU: ORT intra-op thread-pool spinning; undefined = ORT's default (on). */
  intraOpSpinning?: boolean;
  /** The server's `--http-thread-count` (0 = its event loop only); undefined = serve's default, the cores available. */
  serverThreads?: number;
  /** Times the config list is measured, alternating its order (A B, B A, …), for side-by-side medians. */
  rounds: number;
  /** Output path without extension: `<out>.json` and `<out>.md` are written. */
  out: string;
}

export const USAGE = `usage: node --import tsx test/bench/batching.bench.ts [options]
  --device cpu|gpu                   instances KIND_CPU or KIND_GPU, ceiling on CPU or CUDA EP (default cpu)
  --model text_direction|text_recognition                                  (default text_direction)
  --protocol http|grpc|both                                                (default http)
  --configs plain,batched,batched_2inst                                    (default these three; also batched_gather,
                                                                           batched_nogather: the gather thread forced on/off)
  --rounds N                         measure the configs N times, order alternating between rounds, and report
                                     each config's median per level next to the first config's (default 1)
  --concurrency 1,4,16,32            (default cpu: 1,4,16,32; gpu: 1,2,4,8,16,32,64,128)
  --window-ms N                      measurement window (default cpu 3000, gpu 2000)
  --max-trials N                     windows per level at most (default cpu 4, gpu 3)
  --stability F                      max/min spread of the last 3 windows to stop early (default 0.15)
  --warmup-per-concurrency N         warm-up requests per level: max(32, N × concurrency) (default 4; 1-10000)
  --delay-us N                       dynamic batcher max_queue_delay_microseconds (default 500)
  --max-batch-size N                 (default text_direction 64, text_recognition 16)
  --intra-op-threads N|auto          CPU: ORT threads per instance (default 1, as shipped: the event loop keeps
                                     a core; auto = cores / instances)
  --width N                          text_recognition input width (default 320)
  --client-threads N                 load-generator worker threads (default cpu 1, gpu 4)
  --intra-op-spinning on|off         CPU: ORT session.intra_op.allow_spinning (default: ORT's, on)
  --server-cpus LIST                 pin the server and the raw ORT ceiling to these CPUs (taskset -c LIST);
                                     --intra-op-threads auto then shares out these CPUs
  --client-cpus LIST                 pin the load generator to these CPUs (keep it off the server's)
  --server-threads N                 the server's --http-thread-count: ingress threads for HTTP/gRPC
                                     (0 = all on its event loop; default: serve's, the cores available)
  --out PATH                         results path without extension
                                     (default bench-results/batching-<model>-<device>-<protocol>)`;

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got '${text}'`);
  return n;
}

/** `--server-threads`: 0 (event loop only) up to 256. */
function threadCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 256)
    throw new Error(`--server-threads: expected an integer 0-256, got '${text}'`);
  return n;
}

function oneOf<T extends string>(text: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new Error(`${flag}: expected one of ${allowed.join(', ')}, got '${text}'`);
  return text as T;
}

/** The most warm-up requests one level may ask for (--warmup-per-concurrency × the largest concurrency). */
const MAX_WARMUP_REQUESTS = 1_000_000;

/** Parses argv (without node and script); throws Error with a one-line reason on bad input. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      device: { type: 'string', default: 'cpu' },
      model: { type: 'string', default: 'text_direction' },
      protocol: { type: 'string', default: 'http' },
      configs: { type: 'string', default: BENCH_CONFIG_NAMES.join(',') },
      rounds: { type: 'string', default: '1' },
      concurrency: { type: 'string' },
      'window-ms': { type: 'string' },
      'max-trials': { type: 'string' },
      stability: { type: 'string', default: '0.15' },
      'warmup-per-concurrency': { type: 'string', default: '4' },
      'delay-us': { type: 'string', default: '500' },
      'max-batch-size': { type: 'string' },
      'intra-op-threads': { type: 'string', default: '1' },
      width: { type: 'string', default: '320' },
      'client-threads': { type: 'string' },
      'intra-op-spinning': { type: 'string' },
      'server-threads': { type: 'string' },
      ...CPU_PINNING_ARGS,
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const device = oneOf(values.device, ['cpu', 'gpu'] as const, '--device');
  const model = oneOf(values.model, ['text_direction', 'text_recognition'] as const, '--model');
  const protocol = oneOf(values.protocol, ['http', 'grpc', 'both'] as const, '--protocol');
  const configs = values.configs.split(',').map((c) => oneOf(c.trim(), BENCH_CONFIG_CHOICES, '--configs'));
  if (new Set(configs).size !== configs.length)
    throw new Error(
      `--configs: a config is named twice in '${values.configs}' (use --rounds to repeat them)`,
    );
  const rounds = positiveInt(values.rounds, '--rounds');
  if (rounds > 20) throw new Error(`--rounds: expected 1 to 20, got '${values.rounds}'`);
  const concurrency = (values.concurrency ?? (device === 'gpu' ? '1,2,4,8,16,32,64,128' : '1,4,16,32'))
    .split(',')
    .map((c) => positiveInt(c.trim(), '--concurrency'));
  const stability = Number(values.stability);
  if (!(stability > 0 && stability < 1))
    throw new Error(`--stability: expected 0 < F < 1, got '${values.stability}'`);
  const warmupPerConcurrency = positiveInt(values['warmup-per-concurrency'], '--warmup-per-concurrency');
  if (warmupPerConcurrency > 10_000)
    throw new Error(
      `--warmup-per-concurrency: expected 1 to 10000, got '${values['warmup-per-concurrency']}'`,
    );
  // The warm-up runs until that many requests complete: a product in the millions would hold a level for hours.
  const warmupRequests = warmupPerConcurrency * Math.max(...concurrency);
  if (warmupRequests > MAX_WARMUP_REQUESTS)
    throw new Error(
      `--warmup-per-concurrency: ${warmupPerConcurrency} × concurrency ${Math.max(...concurrency)} = ${warmupRequests} warm-up requests, more than ${MAX_WARMUP_REQUESTS}`,
    );
  const delayUs = Number(values['delay-us']);
  if (!Number.isInteger(delayUs) || delayUs < 0)
    throw new Error(`--delay-us: expected an integer ≥ 0, got '${values['delay-us']}'`);
  return {
    device,
    model,
    protocols: protocol === 'both' ? ['http', 'grpc'] : [protocol],
    configs,
    rounds,
    concurrency,
    windowMs: positiveInt(values['window-ms'] ?? (device === 'gpu' ? '2000' : '3000'), '--window-ms'),
    maxTrials: positiveInt(values['max-trials'] ?? (device === 'gpu' ? '3' : '4'), '--max-trials'),
    stability,
    warmupPerConcurrency,
    delayUs,
    maxBatchSize: positiveInt(
      values['max-batch-size'] ?? (model === 'text_direction' ? '64' : '16'),
      '--max-batch-size',
    ),
    intraOpThreads:
      values['intra-op-threads'] === 'auto'
        ? 'auto'
        : positiveInt(values['intra-op-threads'], '--intra-op-threads'),
    width: positiveInt(values.width, '--width'),
    clientThreads: positiveInt(
      values['client-threads'] ?? (device === 'gpu' ? '4' : '1'),
      '--client-threads',
    ),
    ...(values['intra-op-spinning'] === undefined
      ? {}
      : {
          intraOpSpinning:
            oneOf(values['intra-op-spinning'], ['on', 'off'] as const, '--intra-op-spinning') === 'on',
        }),
    ...cpuPinningOptions(values),
    ...(values['server-threads'] === undefined
      ? {}
      : { serverThreads: threadCount(values['server-threads']) }),
    out: values.out ?? currentResultBase(`batching-${model}-${device}-${protocol}`),
  };
}
