/**
 * Reference-server overhead benchmark for the FP32 identity model.
 * Run: node --import tsx test/bench/server.bench.ts
 * Writes bench-configs/results/server-identity.{json,md}.
 *
 * Non-compute time per request = (success.ns − computeInfer.ns) / success.count from the server statistics,
 * i.e. overhead + queue + compute input + compute output. Target: ≤ 50 µs median at concurrency 1.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../embedded-server/src/index.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import { createTransport } from '../../src/transport/create.ts';
import type { ModelStatsSnapshot } from '../../src/transport/server-api.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = 'identity_fp32';
const WARMUP_MS = 500;
const RUN_MS = 3000;
const MEDIAN_REPS = 5;
const MEDIAN_REP_MS = 1000;
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

function pick(snaps: ModelStatsSnapshot[]): ModelStatsSnapshot {
  const s = snaps.find((x) => x.name === MODEL) ?? snaps[0];
  if (!s) throw new Error('no statistics for ' + MODEL);
  return s;
}

function diff(a: ModelStatsSnapshot, b: ModelStatsSnapshot): Breakdown {
  const count = b.success.count - a.success.count;
  const d = (k: 'success' | 'queue' | 'computeInput' | 'computeInfer' | 'computeOutput') =>
    count > 0 ? (b[k].ns - a[k].ns) / count / 1000 : NaN;
  const success = d('success');
  const queue = d('queue');
  const ci = d('computeInput');
  const inf = d('computeInfer');
  const co = d('computeOutput');
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

async function main(): Promise<void> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'inferbench-server-bench-'));
  await mkdir(path.join(repo, MODEL, '1'), { recursive: true });
  await copyFile(
    path.join(ROOT, 'embedded-server/models/identity_fp32/config.pbtxt'),
    path.join(repo, MODEL, 'config.pbtxt'),
  );
  await writeFile(path.join(repo, MODEL, '1', 'model.onnx'), identityModel('FP32'));
  const server = await startServer({ modelRepository: repo, host: '127.0.0.1' });

  const results: Record<string, unknown>[] = [];
  try {
    for (const c of CASES) {
      const url = c.protocol === 'http' ? server.httpUrl : server.grpcUrl;
      const row: Record<string, unknown> = { case: c.label, protocol: c.protocol, binary: c.binary };
      for (const conc of CONCURRENCIES) {
        const { client, api } = createTransport(c.protocol, {
          url,
          clock: systemClock,
          connections: conc,
          headers: {},
        });
        const prepared = client.prepare({
          modelName: MODEL,
          modelVersion: '',
          inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: new Uint8Array(64) }],
          outputs: [],
          binaryInputs: c.binary,
          binaryOutputs: c.binary,
          parameters: {},
        });

        let errors = 0;
        let firstError: string | undefined;
        const runFor = async (ms: number): Promise<{ ok: number; seconds: number }> => {
          let ok = 0;
          const t0 = performance.now();
          const deadline = t0 + ms;
          await Promise.all(
            Array.from({ length: conc }, async () => {
              while (performance.now() < deadline) {
                const o = await client.infer(prepared, 0);
                if (o.ok) ok++;
                else {
                  errors++;
                  firstError ??= `${o.errorKind ?? 'error'}: ${o.errorMessage ?? ''}`;
                }
              }
            }),
          );
          return { ok, seconds: (performance.now() - t0) / 1000 };
        };

        await runFor(WARMUP_MS);
        const before = pick(await api.modelStatistics(MODEL, ''));
        const main = await runFor(RUN_MS);
        const after = pick(await api.modelStatistics(MODEL, ''));
        const bd = diff(before, after);
        const rps = main.ok / main.seconds;
        row[`rps_c${conc}`] = Math.round(rps);
        row[`stats_c${conc}`] = bd;

        if (conc === 1) {
          const reps: Breakdown[] = [];
          for (let i = 0; i < MEDIAN_REPS; i++) {
            const b = pick(await api.modelStatistics(MODEL, ''));
            await runFor(MEDIAN_REP_MS);
            const a = pick(await api.modelStatistics(MODEL, ''));
            reps.push(diff(b, a));
          }
          row.c1_reps = reps;
          row.c1_median = {
            nonComputeUs: median(reps.map((r) => r.nonComputeUs)),
            queueUs: median(reps.map((r) => r.queueUs)),
            computeInputUs: median(reps.map((r) => r.computeInputUs)),
            computeInferUs: median(reps.map((r) => r.computeInferUs)),
            computeOutputUs: median(reps.map((r) => r.computeOutputUs)),
            overheadUs: median(reps.map((r) => r.overheadUs)),
          };
        }
        if (errors) row[`errors_c${conc}`] = { count: errors, first: firstError };
        await client.close();
        await api.close();
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

  type Med = {
    nonComputeUs: number;
    queueUs: number;
    computeInputUs: number;
    computeInferUs: number;
    computeOutputUs: number;
    overheadUs: number;
  };
  const header =
    '| Case | non-compute µs (median, c=1) | overhead | queue | input | output | infer µs | req/s c=1 | req/s c=8 | req/s c=32 |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = results.map((r) => {
    const m = r.c1_median as Med;
    return `| ${r.case} | ${r1(m.nonComputeUs)} | ${r1(m.overheadUs)} | ${r1(m.queueUs)} | ${r1(m.computeInputUs)} | ${r1(m.computeOutputUs)} | ${r1(m.computeInferUs)} | ${r.rps_c1} | ${r.rps_c8} | ${r.rps_c32} |`;
  });
  const table = [header, ...lines].join('\n');
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
      nonCompute:
        '(success.ns - computeInfer.ns) / success.count; overhead = success - queue - input - infer - output',
      payload: 'FP32 [1,16] (64 bytes), closed loop of C async loops, 127.0.0.1',
    },
    targetUs: TARGET_US,
    tritonReferenceUs: 27,
    targetMet: met,
    worstMedianNonComputeUs: worst,
  };
  const outDir = path.join(ROOT, 'bench-configs/results');
  await mkdir(outDir, { recursive: true });
  await writeFile(
    path.join(outDir, 'server-identity.json'),
    JSON.stringify({ ...meta, results }, null, 2) + '\n',
  );
  const md =
    `# Reference server overhead — identity_fp32\n\n` +
    `${meta.date} · Node ${meta.node} · ${cpu} (${meta.cpuCount} CPUs) · load avg ${meta.loadavg.map((x) => x.toFixed(2)).join(' ')}\n\n` +
    `Command: \`${command}\`\n\n` +
    `Non-compute = overhead + queue + compute input + compute output, per request, from the server statistics; ` +
    `median of ${MEDIAN_REPS} × ${MEDIAN_REP_MS / 1000} s repetitions at concurrency 1. ` +
    `Throughput: closed loop, ${WARMUP_MS / 1000} s warm-up then ${RUN_MS / 1000} s. Columns overhead…output split the non-compute time.\n\n` +
    `${table}\n\n` +
    `Target ≤ ${TARGET_US} µs median non-compute at c=1 (Triton ≈ 27 µs): **${met ? 'met' : 'NOT met'}** (worst case ${r1(worst)} µs).\n`;
  await writeFile(path.join(outDir, 'server-identity.md'), md);
  console.log(table);
  console.log(`\ntarget ≤ ${TARGET_US} µs: ${met ? 'met' : 'NOT met'} (worst ${r1(worst)} µs)`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
