/**
 * `npm run bench:batching`: the reference server's dynamic batching measured end to end. For each
 * configuration (plain / batched / batched_2inst) the embedded model's config is edited into a temporary
 * repository, the server is started on 127.0.0.1 and driven by inferbench's own load generator over the
 * concurrency list; afterwards the raw ONNX Runtime ceiling is timed at the batch sizes the batcher formed.
 * Writes `<out>.json` (every figure, device, versions, command) and `<out>.md` (the summary table) and
 * prints whether the issue's targets are met. Run with `--help` for the options.
 */

import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { sessionOptionsFromConfig } from '../../embedded-server/src/runtime/session-options.ts';
import {
  buildRows,
  ceilingBatchSizes,
  ceilingTable,
  checkTargets,
  markdownReport,
  resultsTable,
  serverViewTable,
  targetLines,
} from './batching-report.ts';
import { type BenchOptions, parseBenchOptions, USAGE } from './bench-options.ts';
import {
  type BenchConfigName,
  type BenchRepository,
  benchConfigSpec,
  writeBenchRepository,
} from './bench-repository.ts';
import { writeBenchResults } from './bench-results.ts';
import { type ConfigRun, runConfig } from './config-run.ts';
import { pinnedCommand, pinProcess } from './cpu-pinning.ts';
import { describeDevice } from './device-info.ts';
import { type CeilingPoint, measureOrtCeiling, type ShapeChangeProbe } from './ort-ceiling.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);

interface CeilingSet {
  sessions: number;
  configs: string[];
  sessionOptions: unknown;
  points: CeilingPoint[];
  shapeChange?: ShapeChangeProbe;
}

/** Batch sizes the shape-change probe alternates between (any two distinct sizes expose the cost). */
const SHAPE_PROBE: [number, number] = [2, 3];

function shapeChangeNote(probe: ShapeChangeProbe): string {
  const ms = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`;
  const [a, b] = probe.batchSizes;
  const steady = Math.max(...probe.steadyMedianRunNs);
  return (
    `Shape-change probe (1 session): runs alternating batch ${a} ↔ ${b} take ${ms(probe.alternatingMedianRunNs)} ` +
    `(median) against ${ms(probe.steadyMedianRunNs[0])} / ${ms(probe.steadyMedianRunNs[1])} when each size repeats` +
    (probe.alternatingMedianRunNs > 3 * steady
      ? ': the runtime re-tunes on every input-shape change, so a batcher that varies the batch size pays this per execution.'
      : ': no per-shape-change cost.')
  );
}

/** Shapes for the data generator: the config's input dims with variable dims set to `width`. */
function inputDims(repo: BenchRepository, width: number): { name: string; dims: number[] } {
  const input = repo.config.input[0];
  if (!input) throw new Error(`model config of ${repo.dir} has no input`);
  return { name: input.name, dims: input.dims.map((d) => (Number(d) < 0 ? width : Number(d))) };
}

/** CPU threads per instance: the option, or for `auto` the cores shared out among the instances. */
function intraOpThreadsFor(options: BenchOptions, instances: number): number {
  return options.intraOpThreads === 'auto'
    ? Math.max(1, Math.floor((options.serverCpus?.length ?? cpus().length) / instances))
    : options.intraOpThreads;
}

function justification(options: BenchOptions): string[] {
  return [
    `Dynamic batcher: max_queue_delay_microseconds ${options.delayUs}, no preferred sizes, max_batch_size ${options.maxBatchSize}. ` +
      'Under closed-loop load the batcher stages the next payload on the busy instance: requests that arrive while it ' +
      'runs join that payload until the instance starts it by itself when its run ends (no main-thread round trip), ' +
      'so from c ≥ 2 the instance is rarely idle and the delay rarely applies; it only holds a request that ' +
      'finds the instance idle (c = 1: pure added latency). A delay below one batch-1 execution (≈ 0.9 ms on this CPU, ' +
      '≈ 1 ms on the GPU) bounds that cost; the server arms it with setTimeout, so it lasts at least 1 ms in practice.',
    options.device === 'cpu'
      ? `CPU: intra_op_thread_count ${options.intraOpThreads} per instance (instances × threads ≤ cores), ` +
        `session.intra_op.allow_spinning ${options.intraOpSpinning === undefined ? "ORT's default (on)" : options.intraOpSpinning ? 'on' : 'off'}; ORT runs in the instances' worker threads.`
      : 'GPU: KIND_GPU instances on GPU 0 (CUDA EP), one ORT session per batch-size bucket (inferbench.batch_buckets auto: powers of two up to max_batch_size, batches zero-padded to the next bucket).',
    `The server runs in its own process (inferbench serve, --http-thread-count ${options.serverThreads ?? 'default: the cores available'}); the load generator in this one, with ${options.clientThreads} worker thread(s) (--client-threads).`,
    options.serverCpus || options.clientCpus
      ? `CPU pinning (taskset): server and raw ORT ceiling on CPUs ${options.serverCpus?.join(',') ?? 'any'}; load generator on CPUs ${options.clientCpus?.join(',') ?? 'any'}.`
      : 'No CPU pinning: the server, the load generator and the OS share all cores (on a 2-core machine the client takes CPU the model would use).',
    `Levels: warm-up max(32, ${options.warmupPerConcurrency}×c) requests, then ${options.windowMs} ms windows until the last 3 are within ` +
      `${Math.round(options.stability * 100)}% or ${options.maxTrials} windows; figures are the merge of the last ≤ 3 windows.`,
    'Ceiling: median session.run time per batch size in worker threads (one session per instance, run concurrently), ' +
      'best of 3 passes, read at the mean batch formed rounded to the nearest integer.',
  ];
}

async function main(): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (e) {
    log(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    log(USAGE);
    return 0;
  }
  const opts = options;
  const command = `node --import tsx test/bench/batching.bench.ts ${process.argv.slice(2).join(' ')}`.trim();
  const startedAt = new Date();
  const device = await describeDevice();
  if (device.loadAverageStart > 0.5 * device.cpuCount) {
    log(
      `warning: load average ${device.loadAverageStart.toFixed(2)} on ${device.cpuCount} cores: figures will be low`,
    );
  }

  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    log('interrupted: finishing the current window, then stopping (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);

  if (opts.clientCpus) pinProcess(opts.clientCpus);
  const embeddedDir = await materializeEmbeddedRepository();
  const runs: ConfigRun[] = [];
  const repos = new Map<string, BenchRepository>();
  try {
    for (const name of opts.configs) {
      const spec = benchConfigSpec(name);
      const repo = await writeBenchRepository(embeddedDir, opts.model, spec, {
        device: opts.device,
        maxBatchSize: opts.maxBatchSize,
        maxQueueDelayUs: opts.delayUs,
        intraOpThreads: opts.device === 'cpu' ? intraOpThreadsFor(opts, spec.instanceCount) : 0,
        intraOpSpinning: opts.intraOpSpinning,
        variableDimSize: opts.width,
      });
      repos.set(name, repo);
    }
    // Rounds alternate the order (A B, B A, …): a drifting machine then weighs on every config alike.
    const schedule = Array.from({ length: opts.rounds }, (_, r) =>
      (r % 2 === 0 ? opts.configs : [...opts.configs].reverse()).map((name) => ({ name, round: r + 1 })),
    ).flat();
    for (const { name, round } of schedule) {
      if (abort.signal.aborted) break;
      const repo = repos.get(name) as BenchRepository;
      const input = inputDims(repo, opts.width);
      for (const protocol of opts.protocols) {
        if (abort.signal.aborted) break;
        log(
          `${name} over ${protocol}${opts.rounds > 1 ? ` (round ${round} of ${opts.rounds})` : ''}: concurrency ${opts.concurrency.join(', ')}`,
        );
        const run = await runConfig({
          config: name,
          protocol,
          repositoryDir: repo.dir,
          model: opts.model,
          concurrency: opts.concurrency,
          windowMs: opts.windowMs,
          maxTrials: opts.maxTrials,
          stability: opts.stability,
          shapes: { [input.name]: input.dims },
          clientThreads: opts.clientThreads,
          warmupPerConcurrency: opts.warmupPerConcurrency,
          serverCommandPrefix: opts.serverCpus ? pinnedCommand(opts.serverCpus) : undefined,
          ...(opts.serverThreads !== undefined ? { serverThreads: opts.serverThreads } : {}),
          signal: abort.signal,
          log,
        });
        if (opts.rounds > 1) for (const level of run.levels) level.round = round;
        runs.push(run);
        if (run.aborted) log(`  stopped early: ${run.aborted}`);
      }
    }

    const levels = runs.flatMap((r) => r.levels);
    const ceilings: CeilingSet[] = [];
    if (!abort.signal.aborted) {
      // The ceiling runs on the server's cores: the same CPUs the served model had.
      if (opts.serverCpus) pinProcess(opts.serverCpus);
      const bySessions = new Map<number, string[]>();
      for (const name of opts.configs) {
        const n = benchConfigSpec(name).instanceCount;
        bySessions.set(n, [...(bySessions.get(n) ?? []), name]);
      }
      for (const [sessions, configs] of bySessions) {
        const repo = repos.get(configs[0] as string);
        if (!repo) continue;
        const { options: sessionOptions } = sessionOptionsFromConfig(repo.config, {
          kind: opts.device === 'gpu' ? 'KIND_GPU' : 'KIND_CPU',
          deviceId: 0,
        });
        const batchSizes = ceilingBatchSizes(
          levels.filter((l) => configs.includes(l.config)),
          opts.maxBatchSize,
        );
        log(`raw ORT ceiling, ${sessions} session(s): batch ${batchSizes.join(', ')}`);
        const input = inputDims(repo, opts.width);
        const { points, shapeChange } = await measureOrtCeiling({
          modelPath: repo.modelPath,
          sessionOptions,
          inputName: input.name,
          dims: input.dims,
          sessions,
          batchSizes,
          warmupRuns: 3,
          minRuns: 10,
          maxRuns: 1000,
          minDurationMs: 600,
          passes: 3,
          shapeChangeProbe: sessions === 1 && opts.maxBatchSize >= SHAPE_PROBE[1] ? SHAPE_PROBE : undefined,
        });
        ceilings.push({ sessions, configs, sessionOptions, points, shapeChange });
      }
    }

    const ceilingFor = (config: string) => ceilings.find((c) => c.configs.includes(config))?.points;
    const rows = buildRows(levels, ceilingFor, opts.maxBatchSize);
    const checks = checkTargets(opts.device, rows, opts.protocols);
    device.loadAverageEnd = loadavg()[0] ?? 0;

    const notes = [
      ...justification(opts),
      ...ceilings.flatMap((c) => (c.shapeChange ? [shapeChangeNote(c.shapeChange)] : [])),
      `Load average (1 min) at start ${device.loadAverageStart.toFixed(2)}, at end ${device.loadAverageEnd.toFixed(2)}.`,
      ...runs.filter((r) => r.aborted).map((r) => `${r.config}/${r.protocol} stopped early: ${r.aborted}`),
      ...[...new Set(runs.flatMap((r) => r.warnings))].map((w) => `Load generator: ${w}`),
    ];
    const deviceLines = [
      `CPU: ${device.cpuModel} × ${device.cpuCount}; GPU: ${device.gpus.length > 0 ? device.gpus.join('; ') : 'none'}`,
      `Node ${device.node}, onnxruntime-node ${device.onnxruntimeNode}, commit ${device.commit}`,
    ];
    const settingsLines = [
      `Model ${opts.model} on ${opts.device}; protocols ${opts.protocols.join(', ')}; concurrency ${opts.concurrency.join(', ')}`,
    ];
    const markdown = markdownReport({
      title: `Dynamic batching: ${opts.model} on ${opts.device}`,
      command,
      date: startedAt.toISOString(),
      deviceLines,
      settingsLines,
      rows,
      serverView: serverViewTable(
        levels,
        ceilingFor,
        (config) => benchConfigSpec(config as BenchConfigName).instanceCount,
        opts.maxBatchSize,
      ),
      ceilings,
      checks,
      notes,
    });
    const out = resolve(opts.out);
    writeBenchResults(out, {
      markdown,
      json: {
        command,
        npmScript: process.env.npm_lifecycle_event,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        device,
        options: opts,
        configs: Object.fromEntries([...repos].map(([name, repo]) => [name, repo.configText])),
        rows,
        levels,
        ceilings,
        targets: checks,
        notes,
      },
      summary: `${device.cpuModel} × ${device.cpuCount}: ${rows
        .map(
          (r) =>
            `${r.config}${r.round === undefined ? '' : ` #${r.round}`} ${r.protocol} c=${r.concurrency} ${Math.round(r.inferPerSec)} infer/s`,
        )
        .join(', ')}`,
    });

    process.stdout.write(
      `\n${resultsTable(rows)}\n\n${ceilingTable(ceilings)}\n\n${targetLines(checks).join('\n')}\n`,
    );
    process.stdout.write(`\nwrote ${out}.json and ${out}.md\n`);
    return abort.signal.aborted || runs.some((r) => r.aborted) ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await Promise.all([...repos.values()].map((r) => r.remove()));
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`batching benchmark failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);
