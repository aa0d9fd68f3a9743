/**
 * `npm run bench:server-c1`: the reference server's non-compute time per request at concurrency 1, this
 * checkout against a baseline copy of the server (an earlier commit), side by side in one run.
 *
 *   git archive <commit> embedded-server src package.json | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/
 *   npm run bench:server-c1 -- --baseline /tmp/base --baseline-label <commit> --threads 0,1
 *
 * Each server runs in its own process (server-c1-host.ts, optionally pinned with --server-cpus), the load
 * client in another (server-load-client.ts, --client-cpus), identity_fp32 FP32 [1,16] at concurrency 1. Rounds
 * alternate the servers (A B, then B A, …); in each a case runs one window per server. Non-compute =
 * (Δ success.ns − Δ compute_infer.ns) / Δ success.count from the server's own statistics (as bench:server);
 * the figure is the median over the rounds. Writes bench-results/server-c1.{json,md}.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ModelStatisticsJson } from '../../embedded-server/src/core/api.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import { CPU_PINNING_ARGS, cpuPinningOptions, pinProcess } from './cpu-pinning.ts';
import type { ServerHostCommand, ServerHostConfig } from './server-c1-host.ts';
import type { LoadClientCommand, LoadClientConfig, LoadRunResult } from './server-load-client.ts';
import { readSchedstats, type Schedstat } from './thread-cpu.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = fileURLToPath(new URL('./server-c1-host.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./server-load-client.ts', import.meta.url));
const MODEL = 'identity_fp32';
const TARGET_US = { http: 50, grpc: 80 } as const;

const USAGE = `usage: node --import tsx test/bench/server-c1.bench.ts [options]
  --baseline DIR           a copy of an earlier server (holding embedded-server/src) to compare with
  --baseline-label TEXT    what the baseline is, e.g. its commit (default: DIR)
  --threads LIST           the servers' --http-thread-count values, e.g. 0,1   (default 0)
  --cases LIST             http-binary,http-json,grpc                         (default all)
  --rounds N               alternating rounds; the figure is their median      (default 7)
  --window-ms MS           one measured window per case, server and round      (default 1000)
  --warmup-ms MS           load before the first round, per case and server    (default 2000)
  --server-cpus LIST       pin the servers (taskset -c)
  --client-cpus LIST       pin the load client
  --out PATH               results path without extension (default bench-results/server-c1)`;

interface Case {
  name: string;
  protocol: 'http' | 'grpc';
  binary: boolean;
}
const CASES: Record<string, Case> = {
  'http-binary': { name: 'HTTP binary', protocol: 'http', binary: true },
  'http-json': { name: 'HTTP JSON', protocol: 'http', binary: false },
  grpc: { name: 'gRPC', protocol: 'grpc', binary: false },
};

/** A child process answering one IPC message per command, in order. */
function ipcChild(child: ChildProcess) {
  const replies: ((m: unknown) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = (): Promise<unknown> =>
    new Promise<unknown>((resolve, reject) => {
      replies.push(resolve);
      void exited.then(() => reject(new Error(`child ${child.pid} exited`)));
    });
  return {
    next,
    async ask(m: unknown): Promise<unknown> {
      const reply = next();
      child.send(m as never);
      return reply;
    },
    async end(m: unknown): Promise<void> {
      child.send(m as never);
      const t = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function forkTs(script: string, arg: unknown, cpus: number[] | undefined): ChildProcess {
  const child = fork(script, [JSON.stringify(arg)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (cpus && child.pid !== undefined) pinProcess(cpus, child.pid);
  return child;
}

async function startHost(config: ServerHostConfig, cpus: number[] | undefined) {
  const child = forkTs(HOST, config, cpus);
  const ipc = ipcChild(child);
  const ready = (await ipc.next()) as { httpUrl: string; grpcUrl: string };
  return {
    ...ready,
    pid: child.pid as number,
    stats: async () =>
      ((await ipc.ask({ cmd: 'stats' } satisfies ServerHostCommand)) as { stats: ModelStatisticsJson }).stats,
    stop: () => ipc.end({ cmd: 'stop' } satisfies ServerHostCommand),
  };
}

async function startClient(config: LoadClientConfig, cpus: number[] | undefined) {
  const ipc = ipcChild(forkTs(CLIENT, config, cpus));
  await ipc.next(); // { ready: true }
  return {
    async run(ms: number): Promise<LoadRunResult> {
      const m = (await ipc.ask({ cmd: 'run', ms } satisfies LoadClientCommand)) as
        | LoadRunResult
        | { fatal: string };
      if ('fatal' in m) throw new Error(`load client: ${m.fatal}`);
      return m;
    },
    close: () => ipc.end({ cmd: 'close' } satisfies LoadClientCommand),
  };
}

/** Non-compute µs per request, compute_infer µs per request, and requests, between two snapshots. */
function window(a: ModelStatisticsJson, b: ModelStatisticsJson) {
  const count = b.inference_stats.success.count - a.inference_stats.success.count;
  const successNs = b.inference_stats.success.ns - a.inference_stats.success.ns;
  const inferNs = b.inference_stats.compute_infer.ns - a.inference_stats.compute_infer.ns;
  return { count, nonComputeUs: (successNs - inferNs) / count / 1000, inferUs: inferNs / count / 1000 };
}

/** CPU time and times put on a CPU, summed over every thread of `pid` (zero without /proc). */
function processSchedstat(pid: number): Schedstat {
  const total = { cpuNs: 0, waitNs: 0, slices: 0 };
  for (const s of readSchedstats(pid)?.values() ?? []) {
    total.cpuNs += s.cpuNs;
    total.waitNs += s.waitNs;
    total.slices += s.slices;
  }
  return total;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[m] as number)
      : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
/** The middle half of the rounds (first to third quartile, nearest rank), to show the run-to-run spread. */
function spread(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return `${Math.round(at(0.25))}–${Math.round(at(0.75))}`;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${flag}: expected a positive integer, got '${text}'`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      baseline: { type: 'string' },
      'baseline-label': { type: 'string' },
      threads: { type: 'string', default: '0' },
      cases: { type: 'string', default: Object.keys(CASES).join(',') },
      rounds: { type: 'string', default: '7' },
      'window-ms': { type: 'string', default: '1000' },
      'warmup-ms': { type: 'string', default: '2000' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...CPU_PINNING_ARGS,
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const threads = values.threads.split(',').map((t) => {
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < 0 || n > 64) throw new Error(`--threads: expected 0…64, got '${t}'`);
    return n;
  });
  const cases = values.cases.split(',').map((c) => {
    const found = CASES[c];
    if (!found) throw new Error(`--cases: unknown case '${c}' (known: ${Object.keys(CASES).join(', ')})`);
    return found;
  });
  const rounds = positiveInt(values.rounds, '--rounds');
  const windowMs = positiveInt(values['window-ms'], '--window-ms');
  const warmupMs = positiveInt(values['warmup-ms'], '--warmup-ms');
  const pinning = cpuPinningOptions(values);
  const variants = [
    { label: 'this checkout', root: ROOT },
    ...(values.baseline
      ? [
          {
            label: `baseline (${values['baseline-label'] ?? values.baseline})`,
            root: path.resolve(values.baseline),
          },
        ]
      : []),
  ];

  const repo = await mkdtemp(path.join(os.tmpdir(), 'inferbench-server-c1-'));
  await mkdir(path.join(repo, MODEL, '1'), { recursive: true });
  await copyFile(
    path.join(ROOT, 'embedded-server/models/identity_fp32/config.pbtxt'),
    path.join(repo, MODEL, 'config.pbtxt'),
  );
  await writeFile(path.join(repo, MODEL, '1', 'model.onnx'), identityModel('FP32'));

  const loadBefore = os.loadavg();
  const started = new Date();
  type Row = {
    threads: number;
    case: string;
    variant: string;
    nonComputeUs: number[];
    inferUs: number[];
    rps: number[];
    /** The server process's CPU (all threads) per request, and how often its threads were put on a CPU. */
    serverCpuUs: number[];
    serverSlices: number[];
  };
  const rows: Row[] = [];
  try {
    for (const t of threads) {
      const hosts = [];
      for (const v of variants) {
        hosts.push(
          await startHost(
            { root: v.root, modelRepository: repo, model: MODEL, httpThreadCount: t },
            pinning.serverCpus,
          ),
        );
      }
      try {
        for (const c of cases) {
          const clients = [];
          for (const h of hosts) {
            const client = await startClient(
              {
                protocol: c.protocol,
                url: c.protocol === 'http' ? h.httpUrl : h.grpcUrl,
                binary: c.binary,
                concurrency: 1,
                model: MODEL,
              },
              pinning.clientCpus,
            );
            clients.push(client);
            await client.run(warmupMs);
          }
          const caseRows = variants.map((v) => {
            const row: Row = {
              threads: t,
              case: c.name,
              variant: v.label,
              nonComputeUs: [],
              inferUs: [],
              rps: [],
              serverCpuUs: [],
              serverSlices: [],
            };
            rows.push(row);
            return row;
          });
          for (let r = 0; r < rounds; r++) {
            const order = variants.map((_, i) => i);
            if (r % 2 === 1) order.reverse();
            for (const i of order) {
              const host = hosts[i] as (typeof hosts)[number];
              const before = await host.stats();
              const cpuBefore = processSchedstat(host.pid);
              const run = await (clients[i] as (typeof clients)[number]).run(windowMs);
              const cpuAfter = processSchedstat(host.pid);
              const w = window(before, await host.stats());
              if (run.errors > 0) throw new Error(`${c.name}: ${run.errors} errors (${run.firstError})`);
              const row = caseRows[i] as Row;
              row.nonComputeUs.push(w.nonComputeUs);
              row.inferUs.push(w.inferUs);
              row.rps.push(run.ok / run.seconds);
              row.serverCpuUs.push((cpuAfter.cpuNs - cpuBefore.cpuNs) / run.ok / 1000);
              row.serverSlices.push((cpuAfter.slices - cpuBefore.slices) / run.ok);
            }
          }
          for (const client of clients) await client.close();
          process.stderr.write(
            `threads ${t}, ${c.name}: ${caseRows.map((row) => `${row.variant} ${r1(median(row.nonComputeUs))} µs`).join(', ')}\n`,
          );
        }
      } finally {
        for (const h of hosts) await h.stop();
      }
    }
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg();

  const command = `npm run bench:server-c1 -- ${process.argv.slice(2).join(' ')}`.trim();
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const header =
    `| --http-thread-count | case | ${variants.map((v) => `${v.label}: non-compute µs (middle half of rounds)`).join(' | ')}` +
    `${variants.length > 1 ? ' | after / before' : ''} | ${variants.map((v) => `${v.label}: req/s (wall µs per request)`).join(' | ')} | ${variants.map((v) => `${v.label}: server CPU µs / wake-ups per request`).join(' | ')} | infer µs | target |`;
  const sep = `|---:|---|${variants.map(() => '---:|').join('')}${variants.length > 1 ? '---:|' : ''}${variants.map(() => '---:|').join('')}${variants.map(() => '---:|').join('')}---:|---:|`;
  const lines: string[] = [];
  for (const t of threads) {
    for (const c of cases) {
      const rs = rows.filter((r) => r.threads === t && r.case === c.name);
      const nc = rs.map((r) => median(r.nonComputeUs));
      const ratio = variants.length > 1 ? ` ${((nc[0] as number) / (nc[1] as number)).toFixed(2)} |` : '';
      lines.push(
        `| ${t} | ${c.name} | ${rs.map((r, i) => `${r1(nc[i] as number)} (${spread(r.nonComputeUs)})`).join(' | ')} |${ratio} ${rs.map((r) => `${Math.round(median(r.rps))} (${r1(1e6 / median(r.rps))})`).join(' | ')} | ${rs.map((r) => `${r1(median(r.serverCpuUs))} / ${r1(median(r.serverSlices))}`).join(' | ')} | ${r1(median(rs.flatMap((r) => r.inferUs)))} | ≤ ${TARGET_US[c.protocol]} |`,
      );
    }
  }
  const table = [header, sep, ...lines].join('\n');
  const pinText =
    pinning.serverCpus || pinning.clientCpus
      ? `servers pinned to CPUs ${pinning.serverCpus?.join(',') ?? '(any)'}, load client to ${pinning.clientCpus?.join(',') ?? '(any)'}`
      : 'not pinned';
  const meta = {
    date: started.toISOString(),
    command,
    node: process.version,
    cpu,
    cpuCount: os.cpus().length,
    loadavgBefore: loadBefore,
    loadavgAfter: loadAfter,
    pinning: pinText,
    rounds,
    windowMs,
    warmupMs,
    variants,
  };
  const la = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  const md =
    `# Reference server non-compute time at concurrency 1 — identity_fp32\n\n` +
    `${meta.date} · Node ${meta.node} · ${cpu} (${meta.cpuCount} CPUs) · load average before ${la(loadBefore)}, after ${la(loadAfter)} · ${pinText}\n\n` +
    `Command: \`${command}\`\n\n` +
    `Each server in its own process, the load client in another; FP32 [1,16], closed loop at concurrency 1, ` +
    `127.0.0.1. Non-compute = (Δ success.ns − Δ compute_infer.ns) / Δ count from the server's statistics, ` +
    `median of ${rounds} rounds of ${windowMs / 1000} s windows; the servers alternate within each round ` +
    `(A B, then B A), after ${warmupMs / 1000} s of warm-up each. Server CPU per request: every thread of the ` +
    `server process (/proc/<pid>/task/*/schedstat) over the same windows, with the times its threads were put ` +
    `on a CPU (thread wake-ups, plus preemptions on a busy host). Targets (issue #12): ≤ 50 µs HTTP, ≤ 80 µs gRPC ` +
    `on dedicated cores.\n\n${table}\n`;
  const out = values.out ?? currentResultBase('server-c1');
  writeBenchResults(out, {
    json: { ...meta, rows },
    markdown: md,
    summary: `identity_fp32 c=1 non-compute: ${lines.length} rows`,
  });
  console.log(table);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
