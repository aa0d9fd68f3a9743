/**
 * `npm run bench:server-scaling`: how the reference server's throughput grows with the cores it may use.
 * For each core count N the server runs in its own process pinned to N CPUs (`taskset`) with
 * `--http-thread-count` threads (default N), serving the FP32 identity model (16 floats, nothing to compute:
 * the figure is the data plane alone). Load clients (`server-load-client.ts`, child processes) are pinned
 * to other CPUs and drive a closed loop at the given concurrency. Reports requests/s per N, the ratio to
 * N × the 1-core figure (target ≥ 0.7), and the server's per-thread CPU.
 * Writes `<out>.json` and `<out>.md`.
 */

import { fork } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { startEmbeddedServerProcess } from '../../src/cli/embedded-process.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import { parseCpuList, pinnedCommand, pinProcess } from './cpu-pinning.ts';
import { describeDevice } from './device-info.ts';
import { sampleProcessCpu, threadCoresBetween, threadCoresSummary } from './proc-cpu.ts';
import { type AggregatedPoint, aggregateRounds, parseRounds, roundOrder } from './scaling-rounds.ts';
import { ingressThreadsFor } from './scaling-threads.ts';
import type { LoadClientCommand, LoadClientConfig, LoadRunResult } from './server-load-client.ts';

const CLIENT = fileURLToPath(new URL('./server-load-client.ts', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

const USAGE = `usage: node --import tsx test/bench/server-scaling.bench.ts [options]
  --cores 1,2,4,8          server core counts (the first N of --server-cpus)   (default 1,2,4,8)
  --server-cpus LIST       CPUs the server may be pinned to            (default: the first half)
  --client-cpus LIST       CPUs of the load clients                    (default: the second half)
  --threads N|cores|default  the server's --http-thread-count (0 = event loop only; cores = N; default = what
                           serve picks on N cores: half of them, 0 below 4)          (default default)
  --protocol http|grpc     (default http)
  --concurrency N          requests in flight in all              (default 64)
  --clients N              load-client processes sharing the concurrency            (default 4)
  --seconds S              measured seconds per core count (after 1 s warm-up)       (default 4)
  --rounds N               measure every core count N times, alternating the order; the figures are
                           medians over the rounds (scaling-rounds.ts)               (default 3)
  --out PATH               results path without extension (default bench-results/server-scaling-<protocol>)`;

interface Point {
  cores: number;
  threads: number;
  requestsPerSec: number;
  errors: number;
  serverCores: number;
  mainThreadCores: number;
  threadSummary: string;
  /**
   * CPU cores the load-client processes used together over the window, of the client CPUs they may use: near
   * that many, the clients and not the server set the figure.
   */
  clientCores: number;
}

function startClient(config: LoadClientConfig, cpuList: readonly number[]) {
  const child = fork(CLIENT, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Pinned at once, before it starts its connections: the threads it starts later inherit the CPUs.
  if (child.pid !== undefined && cpuList.length > 0) pinProcess(cpuList, child.pid);
  const replies: ((m: unknown) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const next = () =>
    new Promise<unknown>((res, rej) => {
      replies.push(res);
      void exited.then(() => rej(new Error('load client exited')));
    });
  const ready = next();
  return {
    child,
    ready,
    async run(ms: number): Promise<LoadRunResult> {
      const reply = next();
      child.send({ cmd: 'run', ms } satisfies LoadClientCommand);
      const m = (await reply) as LoadRunResult | { fatal: string };
      if ('fatal' in m) throw new Error(`load client: ${m.fatal}`);
      return m;
    },
    async close(): Promise<void> {
      child.send({ cmd: 'close' } satisfies LoadClientCommand);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function measure(
  repositoryDir: string,
  n: number,
  threads: number,
  serverCpus: number[],
  clientCpus: number[],
  opts: { protocol: 'http' | 'grpc'; concurrency: number; clients: number; seconds: number },
): Promise<Point> {
  const server = await startEmbeddedServerProcess({
    modelRepository: repositoryDir,
    commandPrefix: pinnedCommand(serverCpus.slice(0, n)),
    serveArgs: ['--http-thread-count', String(threads)],
  });
  const clients: ReturnType<typeof startClient>[] = [];
  try {
    const per = Math.max(1, Math.floor(opts.concurrency / opts.clients));
    for (let i = 0; i < opts.clients; i++) {
      const c = startClient(
        {
          protocol: opts.protocol,
          url: opts.protocol === 'grpc' ? server.grpcUrl : server.httpUrl,
          binary: true,
          concurrency: i === opts.clients - 1 ? opts.concurrency - per * (opts.clients - 1) : per,
          model: 'identity_fp32',
        },
        clientCpus,
      );
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.ready));
    await Promise.all(clients.map((c) => c.run(1000)));
    const clientPids = clients.flatMap((c) => (c.child.pid === undefined ? [] : [c.child.pid]));
    const clientCpuSeconds = () =>
      clientPids.reduce((sum, pid) => sum + (sampleProcessCpu(pid, 0)?.totalSeconds ?? 0), 0);
    const clientsBefore = clientCpuSeconds();
    const first = sampleProcessCpu(server.pid, systemClock.nowNs());
    const runs = await Promise.all(clients.map((c) => c.run(opts.seconds * 1000)));
    const last = sampleProcessCpu(server.pid, systemClock.nowNs());
    const clientsAfter = clientCpuSeconds();
    const ok = runs.reduce((a, r) => a + r.ok, 0);
    const errors = runs.reduce((a, r) => a + r.errors, 0);
    const seconds = Math.max(...runs.map((r) => r.seconds));
    const threadsCpu = first && last ? threadCoresBetween(first, last) : [];
    const elapsed = first && last ? (last.atNs - first.atNs) / 1e9 : Number.NaN;
    if (errors > 0) log(`  ${errors} errors, first: ${runs.find((r) => r.firstError)?.firstError}`);
    return {
      cores: n,
      threads,
      requestsPerSec: ok / seconds,
      errors,
      serverCores: first && last ? (last.totalSeconds - first.totalSeconds) / elapsed : Number.NaN,
      mainThreadCores:
        first && last ? (last.mainThreadSeconds - first.mainThreadSeconds) / elapsed : Number.NaN,
      threadSummary: threadCoresSummary(threadsCpu, server.pid),
      clientCores: (clientsAfter - clientsBefore) / elapsed,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.stop(10_000);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      cores: { type: 'string', default: '1,2,4,8' },
      'server-cpus': { type: 'string' },
      'client-cpus': { type: 'string' },
      threads: { type: 'string', default: 'default' },
      protocol: { type: 'string', default: 'http' },
      concurrency: { type: 'string', default: '64' },
      clients: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '3' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    log(USAGE);
    return 0;
  }
  const int = (text: string, flag: string, min: number, max: number): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max)
      throw new Error(`${flag}: expected ${min}-${max}, got '${text}'`);
    return n;
  };
  const all = cpus().length;
  const half = Math.max(1, Math.floor(all / 2));
  const serverCpus = values['server-cpus']
    ? parseCpuList(values['server-cpus'], '--server-cpus')
    : Array.from({ length: half }, (_, i) => i);
  const clientCpus = values['client-cpus']
    ? parseCpuList(values['client-cpus'], '--client-cpus')
    : Array.from({ length: all - half }, (_, i) => half + i);
  const coreCounts = values.cores.split(',').map((c) => int(c.trim(), '--cores', 1, serverCpus.length));
  if (values.protocol !== 'http' && values.protocol !== 'grpc')
    throw new Error(`--protocol: expected http or grpc, got '${values.protocol}'`);
  const protocol = values.protocol;
  const concurrency = int(values.concurrency, '--concurrency', 1, 4096);
  const clients = int(values.clients, '--clients', 1, 64);
  const seconds = int(values.seconds, '--seconds', 1, 600);
  const roundCount = parseRounds(values.rounds);
  const threadsFor = ingressThreadsFor(values.threads);
  const command =
    `node --import tsx test/bench/server-scaling.bench.ts ${process.argv.slice(2).join(' ')}`.trim();
  const device = await describeDevice();
  const startedAt = new Date();

  // A repository with the identity model alone: nothing else loads or competes.
  const embedded = await materializeEmbeddedRepository();
  const repo = await mkdtemp(join(tmpdir(), 'inferbench-scaling-'));
  await cp(join(embedded, 'identity_fp32'), join(repo, 'identity_fp32'), { recursive: true });
  const rounds: Point[][] = [];
  for (let round = 0; round < roundCount; round++) {
    const measured: Point[] = [];
    for (const n of roundOrder(coreCounts, round)) {
      log(
        `round ${round + 1}/${roundCount}: server on ${n} core(s), ${threadsFor(n)} ingress thread(s), ${protocol}, c=${concurrency}`,
      );
      const p = await measure(repo, n, threadsFor(n), serverCpus, clientCpus, {
        protocol,
        concurrency,
        clients,
        seconds,
      });
      log(
        `  ${p.requestsPerSec.toFixed(0)} req/s; server ${p.serverCores.toFixed(2)} cores (${p.threadSummary})`,
      );
      measured.push(p);
    }
    rounds.push(measured);
  }
  await rm(repo, { recursive: true, force: true });
  // Medians over the rounds; the per-thread summary shown is the round closest to the median.
  const points = aggregateRounds(coreCounts, rounds).map((a: AggregatedPoint) => {
    const mine = rounds.flatMap((r) => r.filter((p) => p.cores === a.cores));
    const nearest = mine.reduce((best, p) =>
      Math.abs(p.requestsPerSec - a.requestsPerSec) < Math.abs(best.requestsPerSec - a.requestsPerSec)
        ? p
        : best,
    );
    return { ...a, threads: nearest.threads, threadSummary: nearest.threadSummary };
  });
  const one = points.find((p) => p.cores === 1)?.requestsPerSec;
  device.loadAverageEnd = loadavg()[0] ?? 0;
  const spread = (p: (typeof points)[number]): string =>
    p.requestsPerSecRounds.length > 1
      ? ` (${Math.round(Math.min(...p.requestsPerSecRounds))}–${Math.round(Math.max(...p.requestsPerSecRounds))})`
      : '';

  const rows = points.map(
    (p) =>
      `| ${p.cores} | ${p.threads} | ${p.requestsPerSec.toFixed(0)}${spread(p)} | ${p.scaling === undefined ? '–' : p.scaling.toFixed(2)} | ` +
      `${p.serverCores.toFixed(2)} (${p.mainThreadCores.toFixed(2)}) | ${p.threadSummary} | ` +
      `${p.clientCores.toFixed(2)} of ${clientCpus.length} | ${p.errors} |`,
  );
  const md = [
    `# Server scaling: identity_fp32 over ${protocol}, c=${concurrency}`,
    '',
    `Command: \`${command}\`  `,
    `Date: ${startedAt.toISOString()}`,
    '',
    `- CPU: ${device.cpuModel} × ${device.cpuCount}; Node ${device.node}; commit ${device.commit}`,
    `- Server pinned to the first N of CPUs ${serverCpus.join(',')}; ${clients} load-client processes on CPUs ${clientCpus.join(',')}`,
    `- 1 s warm-up, then ${seconds} s measured per core count; binary tensors, 16 FP32 per request`,
    `- ${roundCount} round(s), each measuring every core count with a fresh server, in alternating order; figures are medians over the rounds (min–max of requests/s in brackets), the ratio uses the 1-core median`,
    `- Load average at start ${device.loadAverageStart.toFixed(2)}, at end ${device.loadAverageEnd.toFixed(2)}`,
    '',
    '| server cores N | ingress threads | requests/s | ÷ (N × 1-core) | server CPU cores (main thread) | cores per thread (main first) | load clients CPU cores | errors |',
    '|---:|---:|---:|---:|---:|---|---:|---:|',
    ...rows,
    '',
    `Target: ≥ 0.70 × N × the 1-core figure: ${
      points.length > 1 && one
        ? points
            .filter((p) => p.cores > 1)
            .map((p) => `N=${p.cores} ${p.scaling !== undefined && p.scaling >= 0.7 ? 'MET' : 'NOT MET'}`)
            .join(', ')
        : 'not evaluated (no 1-core point)'
    }`,
    '',
  ].join('\n');
  const out = resolve(values.out ?? currentResultBase(`server-scaling-${protocol}`));
  writeBenchResults(out, {
    json: { command, startedAt: startedAt.toISOString(), device, serverCpus, clientCpus, points, rounds },
    markdown: md,
    summary: `${device.cpuModel} × ${device.cpuCount}: ${points.map((p) => `${p.cores} cores ${Math.round(p.requestsPerSec)} req/s`).join(', ')}`,
  });
  process.stdout.write(`${md}\nwrote ${out}.json and ${out}.md\n`);
  return points.some((p) => p.errors > 0) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`server scaling benchmark failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);
