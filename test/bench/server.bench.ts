/**
 * Reference-server overhead benchmark for the FP32 identity model.
 * Run: node --import tsx test/bench/server.bench.ts [--out PATH]   (npm run bench:server)
 * Writes bench-results/server-identity.{json,md} (the run it replaces goes to bench-results/history/).
 *
 * The server runs in this process; the load client runs in a child process (server-load-client.ts), so the
 * server's event loop shares no thread with the client.
 *
 * Non-compute time per request = (success.ns − computeInfer.ns) / success.count from the server statistics,
 * i.e. overhead + queue + compute input + compute output. Target: ≤ 50 µs median at concurrency 1.
 * "Where the time goes": the server's opt-in stage trace (embedded-server/src/stats/stage-trace.ts), medians
 * per stage at concurrency 1, taken in a separate run after the statistics runs (tracing off during those).
 */

import { fork } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ModelStatisticsJson } from '../../embedded-server/src/core/api.ts';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import type { StageSummary } from '../../embedded-server/src/stats/stage-trace.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import type { LoadClientCommand, LoadClientConfig, LoadRunResult } from './server-load-client.ts';
import { busiestThread, readSchedstats, type ThreadLoad, threadLoad } from './thread-cpu.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT = fileURLToPath(new URL('./server-load-client.ts', import.meta.url));
const MODEL = 'identity_fp32';
const WARMUP_MS = 500;
const RUN_MS = 3000;
const MEDIAN_REPS = 5;
const MEDIAN_REP_MS = 1000;
const TRACE_MS = 2000;
const CONCURRENCIES = [1, 8, 32] as const;
const TARGET_US = 50;

interface Case {
  label: string;
  protocol: 'http' | 'grpc';
  binary: boolean;
}
const CASES: Case[] = [
  { label: 'HTTP JSON', protocol: 'http', binary: false },
  { label: 'HTTP binary', protocol: 'http', binary: true },
  { label: 'gRPC', protocol: 'grpc', binary: false },
];

interface Breakdown {
  count: number;
  nonComputeUs: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
  overheadUs: number;
}
type Med = Omit<Breakdown, 'count'>;

function snapshot(server: RunningServer): ModelStatisticsJson {
  const s = server.core.modelStatistics(MODEL, '')[0];
  if (!s) throw new Error('no statistics for ' + MODEL);
  return s;
}

function diff(a: ModelStatisticsJson, b: ModelStatisticsJson): Breakdown {
  const A = a.inference_stats;
  const B = b.inference_stats;
  const count = B.success.count - A.success.count;
  const d = (k: 'success' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output') =>
    count > 0 ? (B[k].ns - A[k].ns) / count / 1000 : Number.NaN;
  const success = d('success');
  const queue = d('queue');
  const ci = d('compute_input');
  const inf = d('compute_infer');
  const co = d('compute_output');
  return {
    count,
    nonComputeUs: success - inf,
    queueUs: queue,
    computeInputUs: ci,
    computeInferUs: inf,
    computeOutputUs: co,
    overheadUs: success - queue - ci - inf - co,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/** The load client child process: `run(ms)` drives load for ms milliseconds, `close()` ends it. */
async function startClient(config: LoadClientConfig) {
  const child = fork(CLIENT, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: ((m: unknown) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      replies.push(resolve);
      void exited.then(() => reject(new Error('load client exited')));
    });
  await next(); // { ready: true }
  return {
    pid: child.pid as number,
    async run(ms: number): Promise<LoadRunResult> {
      const reply = next();
      child.send({ cmd: 'run', ms } satisfies LoadClientCommand);
      const m = (await reply) as LoadRunResult | { fatal: string };
      if ('fatal' in m) throw new Error(`load client: ${m.fatal}`);
      return m;
    },
    async close(): Promise<void> {
      child.send({ cmd: 'close' } satisfies LoadClientCommand);
      const t = setTimeout(() => child.kill(), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

const USAGE = `usage: node --import tsx test/bench/server.bench.ts [options]
  --out PATH    results path without extension (default bench-results/server-identity)
  -h, --help`;

/** The command line; a flag it does not know stops the run before a server starts (a typo must not overwrite the current result). */
function parseOptions(): { out: string } | 'help' {
  const { values } = parseArgs({
    strict: true,
    allowPositionals: false,
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return 'help';
  if (values.out === '') throw new Error('--out: expected a path');
  return { out: values.out ?? currentResultBase('server-identity') };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const repo = await mkdtemp(path.join(os.tmpdir(), 'inferbench-server-bench-'));
  await mkdir(path.join(repo, MODEL, '1'), { recursive: true });
  await copyFile(
    path.join(ROOT, 'embedded-server/models/identity_fp32/config.pbtxt'),
    path.join(repo, MODEL, 'config.pbtxt'),
  );
  await writeFile(path.join(repo, MODEL, '1', 'model.onnx'), identityModel('FP32'));
  const server = await startServer({ modelRepository: repo, host: '127.0.0.1', stageTrace: true });
  const trace = server.stageTrace as NonNullable<RunningServer['stageTrace']>;
  trace.enabled = false;

  const results: Record<string, unknown>[] = [];
  try {
    for (const c of CASES) {
      const url = c.protocol === 'http' ? server.httpUrl : server.grpcUrl;
      const row: Record<string, unknown> = { case: c.label, protocol: c.protocol, binary: c.binary };
      for (const conc of CONCURRENCIES) {
        const client = await startClient({
          protocol: c.protocol,
          url,
          binary: c.binary,
          concurrency: conc,
          model: MODEL,
        });
        let errors = 0;
        let firstError: string | undefined;
        const runFor = async (ms: number): Promise<LoadRunResult> => {
          const r = await client.run(ms);
          errors += r.errors;
          firstError ??= r.firstError;
          return r;
        };

        await runFor(WARMUP_MS);
        const before = snapshot(server);
        const main = await runFor(RUN_MS);
        const after = snapshot(server);
        const rps = main.ok / main.seconds;
        row[`rps_c${conc}`] = Math.round(rps);
        row[`stats_c${conc}`] = diff(before, after);

        if (conc === 1) {
          const reps: Breakdown[] = [];
          for (let i = 0; i < MEDIAN_REPS; i++) {
            const b = snapshot(server);
            await runFor(MEDIAN_REP_MS);
            reps.push(diff(b, snapshot(server)));
          }
          row.c1_reps = reps;
          row.c1_median = {
            nonComputeUs: median(reps.map((r) => r.nonComputeUs)),
            queueUs: median(reps.map((r) => r.queueUs)),
            computeInputUs: median(reps.map((r) => r.computeInputUs)),
            computeInferUs: median(reps.map((r) => r.computeInferUs)),
            computeOutputUs: median(reps.map((r) => r.computeOutputUs)),
            overheadUs: median(reps.map((r) => r.overheadUs)),
          } satisfies Med;
          // Stage trace: its own run, so the statistics above carry none of the stamps' cost.
          trace.reset();
          trace.enabled = true;
          const b = snapshot(server);
          const serverBefore = readSchedstats();
          const clientBefore = readSchedstats(client.pid);
          const traced = await runFor(TRACE_MS);
          const serverAfter = readSchedstats();
          const clientAfter = readSchedstats(client.pid);
          const tracedStats = diff(b, snapshot(server));
          trace.enabled = false;
          row.c1_stages = { ...trace.summary(), nonComputeUsWhileTracing: tracedStats.nonComputeUs };
          if (serverBefore && serverAfter && clientBefore && clientAfter) {
            const worker = busiestThread(serverBefore, serverAfter, process.pid);
            row.c1_threads = {
              serverMain: threadLoad(serverBefore, serverAfter, process.pid, traced.ok),
              instanceWorker:
                worker === undefined ? undefined : threadLoad(serverBefore, serverAfter, worker, traced.ok),
              client: threadLoad(clientBefore, clientAfter, client.pid, traced.ok),
              wallUsPerRequest: (traced.seconds * 1e6) / traced.ok,
            };
          }
        }
        if (errors) row[`errors_c${conc}`] = { count: errors, first: firstError };
        await client.close();
        process.stderr.write(
          `${c.label} c=${conc}: ${Math.round(rps)} req/s${errors ? ` (${errors} errors)` : ''}\n`,
        );
      }
      results.push(row);
    }
  } finally {
    await server.stop({ timeoutMs: 5000 });
    await rm(repo, { recursive: true, force: true });
  }

  const header =
    '| Case | non-compute µs (median, c=1) | overhead | queue | input | output | infer µs | req/s c=1 | req/s c=8 | req/s c=32 |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = results.map((r) => {
    const m = r.c1_median as Med;
    return `| ${r.case} | ${r1(m.nonComputeUs)} | ${r1(m.overheadUs)} | ${r1(m.queueUs)} | ${r1(m.computeInputUs)} | ${r1(m.computeOutputUs)} | ${r1(m.computeInferUs)} | ${r.rps_c1} | ${r.rps_c8} | ${r.rps_c32} |`;
  });
  const table = [header, ...lines].join('\n');

  type Stages = StageSummary & { nonComputeUsWhileTracing: number };
  const stageRows = results.map((r) => r.c1_stages as Stages);
  const stageNames = stageRows[0]?.stages.map((s) => s.stage) ?? [];
  const stageTable = [
    `| Stage (time since the previous stamp) | ${results.map((r) => r.case).join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
    ...stageNames.map(
      (name, i) =>
        `| ${name} | ${stageRows.map((s) => r1(s.stages[i]?.medianUs ?? Number.NaN)).join(' | ')} |`,
    ),
    `| **received → written** (median of the per-request span) | ${stageRows.map((s) => r1(s.totalMedianUs)).join(' | ')} |`,
    `| decoded → completed (the statistics' request span) | ${stageRows.map((s) => r1(s.statisticsSpanMedianUs)).join(' | ')} |`,
    `| **non-compute, median per request** (span − runStart → runEnd) | ${stageRows.map((s) => r1(s.nonComputeMedianUs)).join(' | ')} |`,
    `| non-compute from the statistics in this traced run (mean) | ${stageRows.map((s) => r1(s.nonComputeUsWhileTracing)).join(' | ')} |`,
    `| requests traced | ${stageRows.map((s) => s.count).join(' | ')} |`,
  ].join('\n');

  type Threads = {
    serverMain?: ThreadLoad;
    instanceWorker?: ThreadLoad;
    client?: ThreadLoad;
    wallUsPerRequest: number;
  };
  const threadRows = results.map((r) => r.c1_threads as Threads | undefined);
  const cell = (t: ThreadLoad | undefined) =>
    t
      ? `${r1(t.cpuUsPerRequest)} / ${r1(t.waitUsPerRequest)} / ${Math.round(t.slicesPerRequest * 100) / 100}`
      : 'n/a';
  const threadTable = threadRows.every((t) => t === undefined)
    ? ''
    : [
        `| Thread (per request: CPU µs / waiting for a CPU µs / times scheduled) | ${results.map((r) => r.case).join(' | ')} |`,
        `|---|${results.map(() => '---:').join('|')}|`,
        `| server main thread | ${threadRows.map((t) => cell(t?.serverMain)).join(' | ')} |`,
        `| model instance worker thread | ${threadRows.map((t) => cell(t?.instanceWorker)).join(' | ')} |`,
        `| load client process | ${threadRows.map((t) => cell(t?.client)).join(' | ')} |`,
        `| wall time per request (µs) | ${threadRows.map((t) => (t ? r1(t.wallUsPerRequest) : 'n/a')).join(' | ')} |`,
      ].join('\n');

  const worst = Math.max(...results.map((r) => (r.c1_median as Med).nonComputeUs));
  const met = worst <= TARGET_US;
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const command = 'node --import tsx test/bench/server.bench.ts';
  const meta = {
    date: new Date().toISOString(),
    command,
    node: process.version,
    cpu,
    cpuCount: os.cpus().length,
    loadavg: os.loadavg(),
    platform: `${os.platform()} ${os.release()}`,
    method: {
      warmupMs: WARMUP_MS,
      runMs: RUN_MS,
      medianReps: MEDIAN_REPS,
      medianRepMs: MEDIAN_REP_MS,
      traceMs: TRACE_MS,
      client:
        'child process (fork of test/bench/server-load-client.ts); the server runs in the bench process',
      nonCompute:
        '(success.ns - computeInfer.ns) / success.count; overhead = success - queue - input - infer - output',
      stages:
        'server stage trace (startServer stageTrace), median per stage of the time since the previous stamp, separate run at c=1',
      payload: 'FP32 [1,16] (64 bytes), closed loop of C async loops, 127.0.0.1',
    },
    targetUs: TARGET_US,
    tritonReferenceUs: 27,
    targetMet: met,
    worstMedianNonComputeUs: worst,
  };
  const md =
    `# Reference server overhead — identity_fp32\n\n` +
    `${meta.date} · Node ${meta.node} · ${cpu} (${meta.cpuCount} CPUs) · load avg ${meta.loadavg.map((x) => x.toFixed(2)).join(' ')}\n\n` +
    `Command: \`${command}\`\n\n` +
    `The server runs in the bench process, the load client in a child process (closed loop, 127.0.0.1, ` +
    `FP32 [1,16]). Both share this machine's ${meta.cpuCount} CPUs.\n\n` +
    `Non-compute = overhead + queue + compute input + compute output, per request, from the server statistics; ` +
    `median of ${MEDIAN_REPS} × ${MEDIAN_REP_MS / 1000} s repetitions at concurrency 1. ` +
    `Throughput: closed loop, ${WARMUP_MS / 1000} s warm-up then ${RUN_MS / 1000} s. Columns overhead…output split the non-compute time.\n\n` +
    `${table}\n\n` +
    `Target ≤ ${TARGET_US} µs median non-compute at c=1 (Triton ≈ 27 µs): **${met ? 'met' : 'NOT met'}** (worst case ${r1(worst)} µs).\n\n` +
    `## Where the time goes (c=1, µs, medians per stage)\n\n` +
    `From the server's stage trace (\`startServer({ stageTrace: true })\`), in a separate ${TRACE_MS / 1000} s run ` +
    `at concurrency 1 after the statistics runs. Each row is the time from the previous stamp to this one; ` +
    `received = transport handler entered, decoded = the statistics' request start, completed = their request end, ` +
    `written = response handed to the socket. The statistics' request span is decoded → completed: it starts ` +
    `after parsing and before validation (Triton: after validation) and ends when the scheduler answers, before ` +
    `the transport serialises the response (Triton: after its response callback, which serialises). Receiving, ` +
    `decoding, encoding and writing lie outside it; the received → written row covers them all. The ` +
    `per-request non-compute median is the statistics' non-compute figure taken request by request instead of ` +
    `as a mean, so a few requests delayed by other processes on the machine do not dominate it.\n\n` +
    `${stageTable}\n` +
    (threadTable
      ? `\nThe same traced run seen from the scheduler (Linux /proc/<pid>/task/<tid>/schedstat): time each ` +
        `thread spent on a CPU, time it was runnable but waiting for one, and how often it was put on one, ` +
        `per request.\n\n${threadTable}\n`
      : '');
  writeBenchResults(parsed.out, { json: { ...meta, results }, markdown: md });
  console.log(table);
  console.log('');
  console.log(stageTable);
  if (threadTable) console.log(`\n${threadTable}`);
  console.log(`\ntarget ≤ ${TARGET_US} µs: ${met ? 'met' : 'NOT met'} (worst ${r1(worst)} µs)`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
