/**
 * The bundled OCR pipeline as a Triton ensemble against the client chaining its three models itself.
 * Run: node --import tsx test/bench/ensemble.bench.ts [options]   (npm run bench:ensemble -- [options];
 * --help lists them: CPU pinning of the server and the client, text_recognition's ORT intra-op threads)
 * Writes bench-results/ensemble-pipeline.{json,md} (the run it replaces goes to bench-results/history/).
 *
 * The server (embedded repository) runs in this process; the load client runs in a child process
 * (ensemble-load-client.ts). Per concurrency 1, 8, 32 and mode, a warm-up then REPS closed-loop windows;
 * figures are medians over the windows. The ensemble's own overhead per request is read from the server's
 * statistics over each ensemble window: ensemble success.ns / count − Σ over the three composing models of
 * success.ns / count (the time an ensemble request spends outside its steps' requests).
 * Targets (issue 14): overhead ≤ 100 µs at c=1; ensemble throughput ≥ chained at c=8.
 */

import { fork } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import type { ModelStatisticsJson } from '../../embedded-server/src/core/api.ts';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import type { RunningServer } from '../../embedded-server/src/index.ts';
import { configToPbtxt, parseModelConfigText } from '../../embedded-server/src/repository/model-config.ts';
import { ModelParameterSchema } from '../../src/protocol/gen/model_config_pb.ts';
import { packageInfo } from '../../src/protocol/package-info.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import { type CpuPinning, pinProcess } from './cpu-pinning.ts';
import { describeDevice } from './device-info.ts';
import {
  ENSEMBLE_BENCH_USAGE,
  type EnsembleBenchOptions,
  parseEnsembleBenchOptions,
  resolveIntraOpThreads,
} from './ensemble-bench-options.ts';
import type {
  EnsembleClientCommand,
  EnsembleClientConfig,
  EnsembleRunResult,
} from './ensemble-load-client.ts';
import { loadStartServer, serverEntry } from './server-build.ts';

const CLIENT = fileURLToPath(new URL('./ensemble-load-client.ts', import.meta.url));
const CONCURRENCIES = [1, 8, 32] as const;
const MODES = ['ensemble', 'chained'] as const;
const WARMUP_MS = 1000;
const RUN_MS = 2000;
const REPS = 3;
const STEPS = ['ocr_preprocess', 'text_recognition', 'ocr_ctc_argmax'] as const;
const ENSEMBLE = 'text_recognition_pipeline';
const OVERHEAD_TARGET_US = 100;

interface Client {
  run(ms: number): Promise<EnsembleRunResult>;
  close(): Promise<void>;
}

async function startClient(config: EnsembleClientConfig, cpus: number[] | undefined): Promise<Client> {
  const child = fork(CLIENT, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'] });
  // Every thread the client has so far; the ones it starts later inherit the mask.
  if (cpus && child.pid !== undefined) pinProcess(cpus, child.pid);
  let pending: ((m: unknown) => void) | undefined;
  child.on('message', (m) => pending?.(m));
  const next = () => new Promise<unknown>((resolve) => (pending = resolve));
  await next();
  const send = (cmd: EnsembleClientCommand) => child.send(cmd);
  return {
    async run(ms) {
      const reply = next();
      send({ cmd: 'run', ms });
      const r = (await reply) as EnsembleRunResult & { fatal?: string };
      if (r.fatal) throw new Error(r.fatal);
      return r;
    },
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      send({ cmd: 'close' });
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill();
    },
  };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * The model's `success` statistics, read from the server core (the JSON `/v2/models/<m>/stats` serves). Not
 * through fetch: undici's fetch in the server's own process slowed its request path (measured with the same
 * server and client, 6 windows each: ensemble overhead at c=1 127.7 us with fetch snapshots against 83.0 us
 * with these), where a real client reads the statistics from another process.
 */
function successOf(server: RunningServer, model: string): { count: number; ns: number } {
  const entry: ModelStatisticsJson | undefined = server.core.modelStatistics(model, '')[0];
  return { count: entry?.inference_stats.success.count ?? 0, ns: entry?.inference_stats.success.ns ?? 0 };
}

async function snapshot(server: RunningServer): Promise<Map<string, { count: number; ns: number }>> {
  const out = new Map<string, { count: number; ns: number }>();
  for (const m of [ENSEMBLE, ...STEPS]) out.set(m, successOf(server, m));
  return out;
}

/** µs per request the ensemble spends outside its composing requests over one window. */
function overheadUs(
  before: Map<string, { count: number; ns: number }>,
  after: Map<string, { count: number; ns: number }>,
): { overheadUs: number; ensembleUs: number; stepsUs: number } {
  const per = (m: string): number => {
    const a = after.get(m) as { count: number; ns: number };
    const b = before.get(m) as { count: number; ns: number };
    return (a.ns - b.ns) / Math.max(1, a.count - b.count) / 1000;
  };
  const ensembleUs = per(ENSEMBLE);
  const stepsUs = STEPS.reduce((sum, m) => sum + per(m), 0);
  return { overheadUs: ensembleUs - stepsUs, ensembleUs, stepsUs };
}

interface Row {
  mode: 'ensemble' | 'chained';
  concurrency: number;
  inferPerSec: number;
  p50Us: number;
  p99Us: number;
  errors: number;
  overheadUs?: number;
  ensembleRequestUs?: number;
  stepsRequestUs?: number;
}

/**
 * The embedded repository with text_recognition's `intra_op_thread_count` set to `threads`, in a temporary
 * directory (the shipped configs are edited, not rewritten, so everything else is what users get).
 */
async function repositoryWithIntraOpThreads(
  threads: number,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(os.tmpdir(), 'inferbench-bench-ensemble-'));
  const dir = await materializeEmbeddedRepository(join(root, 'models'));
  const path = join(dir, 'text_recognition', 'config.pbtxt');
  const config = parseModelConfigText(await readFile(path, 'utf8'), path);
  config.parameters.intra_op_thread_count = create(ModelParameterSchema, { stringValue: String(threads) });
  await writeFile(path, configToPbtxt(config));
  return { dir, remove: () => rm(root, { recursive: true, force: true }) };
}

function pinningText(pinning: CpuPinning): string {
  if (!pinning.serverCpus && !pinning.clientCpus)
    return 'No CPU pinning: the server, its model threads, the load client and the OS share every core.';
  return (
    `CPU pinning (taskset): server and its model threads on CPUs ${pinning.serverCpus?.join(',') ?? 'any'}; ` +
    `load client on CPUs ${pinning.clientCpus?.join(',') ?? 'any'}.`
  );
}

/** REPS closed-loop windows of one (mode, concurrency); figures are medians over the windows. */
async function measureLevel(
  server: RunningServer,
  client: Client,
  mode: Row['mode'],
  concurrency: number,
  reps: number,
): Promise<Row> {
  const rates: number[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  const overheads: { overheadUs: number; ensembleUs: number; stepsUs: number }[] = [];
  let errors = 0;
  for (let rep = 0; rep < reps; rep++) {
    const before = await snapshot(server);
    const r = await client.run(RUN_MS);
    const after = await snapshot(server);
    if (r.errors > 0) console.error(`${mode} c=${concurrency}: ${r.errors} errors, first: ${r.firstError}`);
    errors += r.errors;
    rates.push(r.ok / r.seconds);
    p50s.push(percentile(r.latenciesUs, 50));
    p99s.push(percentile(r.latenciesUs, 99));
    if (mode === 'ensemble') overheads.push(overheadUs(before, after));
  }
  const row: Row = {
    mode,
    concurrency,
    inferPerSec: median(rates),
    p50Us: median(p50s),
    p99Us: median(p99s),
    errors,
  };
  if (mode === 'ensemble') {
    row.overheadUs = median(overheads.map((o) => o.overheadUs));
    row.ensembleRequestUs = median(overheads.map((o) => o.ensembleUs));
    row.stepsRequestUs = median(overheads.map((o) => o.stepsUs));
  }
  return row;
}

/** Runs `fn` with a load client of (mode, concurrency), then closes the client. */
async function withClient<T>(
  server: RunningServer,
  mode: Row['mode'],
  concurrency: number,
  options: EnsembleBenchOptions,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await startClient({ url: server.httpUrl, mode, concurrency }, options.clientCpus);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseEnsembleBenchOptions>;
  try {
    parsed = parseEnsembleBenchOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${ENSEMBLE_BENCH_USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(ENSEMBLE_BENCH_USAGE);
    return;
  }
  const options = parsed;
  const device = await describeDevice();
  if (options.serverCpus) pinProcess(options.serverCpus);
  const serverCpuCount = options.serverCpus?.length ?? os.availableParallelism();
  const intraOpThreads = resolveIntraOpThreads(options.intraOpThreads, serverCpuCount);
  const repository =
    intraOpThreads === undefined ? undefined : await repositoryWithIntraOpThreads(intraOpThreads);
  const root = packageInfo().root;
  const startServer = await loadStartServer(root, options.source === true);
  const loadBefore = os.loadavg()[0] as number;
  const server = await startServer(repository ? { modelRepository: repository.dir } : {});
  const rows: Row[] = [];
  let cold: Row | undefined;
  const warmupS = options.serverWarmupS;
  try {
    // The first requests a fresh server serves run its request path before V8 has optimised it (measured:
    // the overhead at c=1 fell from 1158 to 223 µs after 60 s of traffic, same load). One window of that,
    // reported beside the steady state.
    cold = await withClient(server, 'ensemble', 1, options, async (client) => {
      await client.run(WARMUP_MS);
      return measureLevel(server, client, 'ensemble', 1, 1);
    });
    console.log(`cold     c= 1: ensemble overhead ${cold.overheadUs?.toFixed(1)} µs/request (first window)`);
    const warmUp = async (mode: Row['mode']) => {
      if (warmupS > 0) await withClient(server, mode, 1, options, (client) => client.run(warmupS * 1000));
    };
    const measure = (mode: Row['mode'], concurrency: number) =>
      withClient(server, mode, concurrency, options, async (client) => {
        await client.run(WARMUP_MS);
        const row = await measureLevel(server, client, mode, concurrency, REPS);
        rows.push(row);
        console.log(
          `${mode.padEnd(8)} c=${String(concurrency).padStart(2)}: ${row.inferPerSec.toFixed(1)} infer/s, ` +
            `p50 ${(row.p50Us / 1000).toFixed(2)} ms, p99 ${(row.p99Us / 1000).toFixed(2)} ms` +
            (row.overheadUs !== undefined
              ? `, ensemble overhead ${row.overheadUs.toFixed(1)} µs/request`
              : ''),
        );
      });
    if (options.order === 'mode') {
      // One kind of traffic at a time: each mode's warm-up, then its levels.
      for (const mode of MODES) {
        await warmUp(mode);
        for (const concurrency of CONCURRENCIES) await measure(mode, concurrency);
      }
    } else {
      // Both request paths (the ensemble's and the composing models' own) warmed, then mixed per level.
      for (const mode of MODES) await warmUp(mode);
      for (const concurrency of CONCURRENCIES) {
        for (const mode of MODES) await measure(mode, concurrency);
      }
    }
  } finally {
    await server.stop({ timeoutMs: 10_000 });
    await repository?.remove();
  }

  const at = (mode: Row['mode'], c: number) =>
    rows.find((r) => r.mode === mode && r.concurrency === c) as Row;
  const overheadC1 = at('ensemble', 1).overheadUs ?? Number.NaN;
  const ratioC8 = at('ensemble', 8).inferPerSec / at('chained', 8).inferPerSec;
  const coldOverheadUs = cold?.overheadUs ?? Number.NaN;
  const targets = {
    overheadC1Us: overheadC1,
    overheadC1ColdUs: coldOverheadUs,
    overheadMet: overheadC1 <= OVERHEAD_TARGET_US,
    throughputRatioC8: ratioC8,
    throughputMet: ratioC8 >= 1,
  };
  const loadAfter = os.loadavg()[0] as number;
  const machine = `${device.cpuModel} × ${device.cpuCount}, load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`;
  const threadsText =
    intraOpThreads === undefined
      ? 'text_recognition: ORT intra-op threads as shipped (1 per instance; the other steps have 1).'
      : `text_recognition: ${intraOpThreads} ORT intra-op threads (--intra-op-threads ${options.intraOpThreads}; the other steps have 1 as shipped).`;
  const record = {
    bench: 'ensemble-pipeline',
    date: new Date().toISOString(),
    machine,
    node: process.version,
    device,
    pinning: { serverCpus: options.serverCpus ?? null, clientCpus: options.clientCpus ?? null },
    server: options.source ? 'sources (tsx)' : 'dist',
    intraOpThreads: intraOpThreads ?? null,
    loadAverage: { before: loadBefore, after: loadAfter },
    windows: { warmupMs: WARMUP_MS, runMs: RUN_MS, reps: REPS, serverWarmupS: warmupS },
    order: options.order,
    cold: cold ?? null,
    rows,
    targets,
  };
  const md = [
    '# Ensemble vs client-chained calls: the bundled OCR pipeline',
    '',
    `${record.date}, ${machine}, Node ${process.version}, onnxruntime-node ${device.onnxruntimeNode}, commit ${device.commit}.`,
    pinningText(options),
    threadsText,
    `Server in-process (${relative(root, serverEntry(root, options.source === true))}: ${options.source ? 'the TypeScript sources through tsx, --source' : 'the compiled build that `inferbench serve` runs'}), client in a child process, HTTP`,
    `binary tensors. ensemble = one request to \`${ENSEMBLE}\` asking for \`char_indices\` (text_direction pruned);`,
    `chained = the client calls ${STEPS.join(' → ')} itself. Medians of ${REPS} windows of ${RUN_MS} ms after ${WARMUP_MS} ms warm-up`,
    `per level, on a server warmed up by ${warmupS} s of c=1 traffic in each mode (--server-warmup-s) after one cold window;`,
    options.order === 'mode'
      ? 'order by mode (--order mode): the ensemble warm-up and every ensemble level, then the chained warm-up and every chained level.'
      : 'order by level (--order level): both warm-ups, then per concurrency ensemble then chained, so each ensemble level follows chained traffic.',
    "Request times are Triton's intervals: request_start once a request is validated and enters its scheduler (for the",
    "ensemble and for each step), request_end when its statistics are recorded; the overhead is the ensemble's mean minus",
    "the sum of the three steps' means, from the server's statistics over each window (read from the server core: a fetch",
    "of /stats in the server's own process slows its request path).",
    '',
    '| mode | c | infer/s | p50 ms | p99 ms | ensemble overhead µs/req | ensemble request µs | Σ step requests µs |',
    '|---|---|---|---|---|---|---|---|',
    `| ensemble, cold | 1 | ${cold ? `${cold.inferPerSec.toFixed(1)} | ${(cold.p50Us / 1000).toFixed(2)} | ${(cold.p99Us / 1000).toFixed(2)} | ${coldOverheadUs.toFixed(1)} | ${cold.ensembleRequestUs?.toFixed(1)} | ${cold.stepsRequestUs?.toFixed(1)}` : '— | — | — | — | — | —'} |`,
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.concurrency} | ${r.inferPerSec.toFixed(1)} | ${(r.p50Us / 1000).toFixed(2)} | ${(r.p99Us / 1000).toFixed(2)} | ` +
        `${r.overheadUs?.toFixed(1) ?? '—'} | ${r.ensembleRequestUs?.toFixed(1) ?? '—'} | ${r.stepsRequestUs?.toFixed(1) ?? '—'} |`,
    ),
    '',
    '"ensemble, cold" is one window on the fresh server (after 1 s of traffic), before V8 has optimised its request path.',
    '',
    `Targets: ensemble overhead at c=1 ${overheadC1.toFixed(1)} µs on the warmed-up server (≤ ${OVERHEAD_TARGET_US}: ${targets.overheadMet ? 'met' : 'NOT met'}; cold: ${coldOverheadUs.toFixed(1)} µs); ` +
      `ensemble / chained throughput at c=8 ${ratioC8.toFixed(2)}× (≥ 1: ${targets.throughputMet ? 'met' : 'NOT met'}).`,
    '',
  ].join('\n');
  writeBenchResults(options.out ?? currentResultBase('ensemble-pipeline'), {
    json: record,
    markdown: md,
    summary: `${device.cpuModel} × ${device.cpuCount}, order by ${options.order}: overhead at c=1 ${overheadC1.toFixed(1)} µs (cold ${coldOverheadUs.toFixed(1)}), c=8 ${ratioC8.toFixed(2)}× chained`,
  });
  console.log(md);
}

await main();
