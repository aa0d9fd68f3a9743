/**
 * The load generator's own cost, and autocannon side by side (issue 4).
 * Run: npm run bench:client [-- --quick] (node --import tsx test/bench/client.bench.ts --help for the options)
 * Writes bench-results/client-identity.{json,md} (with --quick: a temporary file unless --out is given).
 *
 * The reference server runs in a child process (src/cli/embedded-process.ts), so that neither tool shares an
 * event loop with it, serving only identity_fp32. Body: FP32 [1,16] (16 elements, 64 bytes of tensor data) of
 * zeros, HTTP with the binary tensor extension for inputs and outputs.
 *
 * - Ours is the real path a user runs: flags → resolveSettings → runBenchmark (transport, model metadata,
 *   input data, profiler, closed loop, window recorder), one window per level (`--single-measurement`) after
 *   `--warmup-request-count` requests. Its server figures are the statistics deltas of that same window.
 * - autocannon runs in this process, against the same URL with the same connections, body and headers,
 *   pipelining 1, after a 0.5 s warm-up run of its own; its statistics deltas are read around the measured run.
 * - Order per repetition and concurrency: ours HTTP and autocannon back to back (which goes first alternates
 *   between repetitions), then at c=1 the raw-socket floor (raw-http-floor.ts), then ours gRPC, then at c=1
 *   the bare node:http2 gRPC floor (raw-grpc-floor.ts).
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toBinary } from '@bufbuild/protobuf';
import autocannon from 'autocannon';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { startEmbeddedServerProcess } from '../../src/cli/embedded-process.ts';
import { parseProfileArgs } from '../../src/cli/options.ts';
import { resolveSettings } from '../../src/cli/resolve-settings.ts';
import { runBenchmark } from '../../src/cli/run-benchmark.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import { ModelInferRequestSchema } from '../../src/protocol/gen/grpc_service_pb.ts';
import { wireToGrpcRequest } from '../../src/protocol/grpc-infer-codec.ts';
import { preencodedModelInfer } from '../../src/protocol/grpc-service.ts';
import { encodeHttpInferRequest, INFERENCE_HEADER } from '../../src/protocol/http-infer-codec.ts';
import type { RequestSpec } from '../../src/transport/client.ts';
import type { ModelStatsSnapshot, ServerApi } from '../../src/transport/server-api.ts';
import { createHttpServerApi } from '../../src/transport/server-api-http.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import {
  type AutocannonRun,
  type BenchProtocol,
  DEFAULT_TARGETS,
  type FloorRun,
  type OursRun,
  perRequestUs,
  renderClientBenchTables,
  summarizeClientBench,
} from './client-bench-report.ts';
import {
  CPU_PINNING_ARGS,
  type CpuPinning,
  cpuPinningOptions,
  pinnedCommand,
  pinProcess,
} from './cpu-pinning.ts';
import { describeDevice } from './device-info.ts';
import { runRawGrpcFloor } from './raw-grpc-floor.ts';
import { runRawFloor } from './raw-http-floor.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = 'identity_fp32';
const ELEMENTS = 16;
const AUTOCANNON_WARMUP_S = 0.5;

const USAGE = `usage: node --import tsx test/bench/client.bench.ts [options]
  --quick                 c=1,8, 1 s windows, 1 repetition (a smoke run of a few seconds)
  --concurrency 1,8,...   connections / concurrency levels (default 1,8,64,256)
  --seconds N             measured seconds per run, whole seconds (default 2)
  --reps N                repetitions per concurrency above 1 (default 5)
  --warmup-seconds N      discarded warm-up run of each tool before measuring, whole seconds (default 3)
  --c1-reps N             repetitions at concurrency 1, where the client overhead is measured (default 5)
  --protocol http|grpc|both   our generator's protocols (default both; autocannon is HTTP only)
  --no-floor              skip the floor runs at c=1 (raw-http-floor.ts, raw-grpc-floor.ts)
  --server-cpus LIST      pin the server to these CPUs (taskset -c LIST), e.g. 0-3
  --client-cpus LIST      pin this process (both clients, the floors) to these CPUs, e.g. 4-7
  --out PATH              results path without extension (default bench-results/client-identity;
                          with --quick a temporary directory)`;

interface Options extends CpuPinning {
  quick: boolean;
  concurrency: number[];
  seconds: number;
  warmupSeconds: number;
  reps: number;
  c1Reps: number;
  protocols: BenchProtocol[];
  /** Run the floors at c=1 (raw-socket HTTP, bare node:http2 gRPC). */
  floor: boolean;
  out: string;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got '${text}'`);
  return n;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      seconds: { type: 'string' },
      'warmup-seconds': { type: 'string' },
      reps: { type: 'string' },
      'c1-reps': { type: 'string' },
      protocol: { type: 'string', default: 'both' },
      'no-floor': { type: 'boolean', default: false },
      ...CPU_PINNING_ARGS,
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const protocol = values.protocol;
  if (protocol !== 'http' && protocol !== 'grpc' && protocol !== 'both')
    throw new Error(`--protocol: expected http, grpc or both, got '${protocol}'`);
  return {
    quick,
    concurrency: (values.concurrency ?? (quick ? '1,8' : '1,8,64,256'))
      .split(',')
      .map((c) => positiveInt(c.trim(), '--concurrency')),
    seconds: positiveInt(values.seconds ?? (quick ? '1' : '2'), '--seconds'),
    warmupSeconds: positiveInt(values['warmup-seconds'] ?? (quick ? '1' : '3'), '--warmup-seconds'),
    reps: positiveInt(values.reps ?? (quick ? '1' : '5'), '--reps'),
    c1Reps: positiveInt(values['c1-reps'] ?? (quick ? '1' : '5'), '--c1-reps'),
    protocols: protocol === 'both' ? ['http', 'grpc'] : [protocol],
    floor: !values['no-floor'],
    ...cpuPinningOptions(values),
    out:
      values.out ??
      (quick
        ? path.join(os.tmpdir(), 'inferbench-client-bench-quick', 'client-identity')
        : currentResultBase('client-identity')),
  };
}

/** Warm-up requests of ours: enough to open every connection and warm the JIT (≈ 0.1–0.3 s here). */
const warmupRequests = (concurrency: number): number => Math.max(500, 4 * concurrency);

const files = { exists: existsSync, readText: (p: string) => readFileSync(p, 'utf8') };

/** Our generator, exactly as `inferbench -m identity_fp32 -u URL -i PROTOCOL …` runs it. */
async function runOurs(
  protocol: BenchProtocol,
  url: string,
  concurrency: number,
  seconds: number,
): Promise<Omit<OursRun, 'rep'>> {
  const argv = [
    ...['-m', MODEL, '-u', url, '-i', protocol, '--shape', `INPUT0:${ELEMENTS}`, '--input-data', 'zero'],
    ...['--concurrency-range', String(concurrency), '-p', String(seconds * 1000), '--single-measurement'],
    ...['--warmup-request-count', String(warmupRequests(concurrency)), '--quiet'],
    ...(protocol === 'http' ? ['--input-tensor-format', 'binary', '--output-tensor-format', 'binary'] : []),
  ];
  const resolved = resolveSettings(parseProfileArgs(argv, 'inferbench'), {
    programName: 'inferbench',
    files,
  });
  const result = await runBenchmark(resolved, {
    onEvent: () => undefined,
    signal: new AbortController().signal,
  });
  const merged = result.levels[0]?.merged;
  if (!merged)
    throw new Error(`ours ${protocol} c=${concurrency}: no measurement (${result.warnings.join('; ')})`);
  const seconds_ = merged.durationNs / 1e9;
  const completed = merged.requestCount + merged.errorCount;
  return {
    protocol,
    concurrency,
    ratePerSec: merged.requestCount / seconds_,
    errors: merged.errorCount,
    clientMeanUs: merged.latency.meanUs,
    clientP50Us: merged.latency.percentilesUs['50'] ?? Number.NaN,
    serverMeanUs: merged.server
      ? perRequestUs(merged.server.success.ns, merged.server.success.count)
      : Number.NaN,
    cpuUsPerRequest: completed > 0 ? (merged.generator.cpuCores * seconds_ * 1e6) / completed : Number.NaN,
  };
}

/** What `--shape INPUT0:16 --input-data zero` makes of identity_fp32 (batch dimension first). */
function identitySpec(): RequestSpec {
  return {
    modelName: MODEL,
    modelVersion: '',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, ELEMENTS], data: new Uint8Array(ELEMENTS * 4) }],
    outputs: [],
    binaryInputs: true,
    binaryOutputs: true,
    parameters: {},
  };
}

/** The request autocannon sends: the bytes and headers our HTTP client prepares for the same spec. */
function autocannonRequest(): { path: string; body: Buffer; headers: Record<string, string> } {
  const { body, headerLength } = encodeHttpInferRequest(identitySpec());
  if (headerLength === undefined) throw new Error('expected a binary-extension body');
  return {
    path: `/v2/models/${MODEL}/infer`,
    body: Buffer.from(body),
    headers: {
      'content-type': 'application/octet-stream',
      [INFERENCE_HEADER.toLowerCase()]: String(headerLength),
    },
  };
}

function successOf(snaps: ModelStatsSnapshot[]): { count: number; ns: number } {
  const s = snaps.find((x) => x.name === MODEL) ?? snaps[0];
  if (!s) throw new Error(`no statistics for ${MODEL}`);
  return s.success;
}

async function runAutocannon(
  httpUrl: string,
  api: ServerApi,
  concurrency: number,
  seconds: number,
): Promise<Omit<AutocannonRun, 'rep'>> {
  const req = autocannonRequest();
  const common = {
    url: `${httpUrl}${req.path}`,
    method: 'POST' as const,
    headers: req.headers,
    body: req.body,
    connections: concurrency,
    pipelining: 1,
  };
  await autocannon({ ...common, duration: AUTOCANNON_WARMUP_S, sampleInt: 100 });
  const before = successOf(await api.modelStatistics(MODEL, ''));
  const cpu0 = process.cpuUsage();
  const result = await autocannon({ ...common, duration: seconds });
  const cpu = process.cpuUsage(cpu0);
  const after = successOf(await api.modelStatistics(MODEL, ''));
  const ok2xx = result['2xx'];
  const completed = ok2xx + result.non2xx;
  const ratePerSec = ok2xx / result.duration;
  return {
    concurrency,
    ratePerSec,
    ok2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cycleUs: ratePerSec > 0 ? (concurrency * 1e6) / ratePerSec : Number.NaN,
    serverMeanUs: perRequestUs(after.ns - before.ns, after.count - before.count),
    cpuUsPerRequest: completed > 0 ? (cpu.user + cpu.system) / completed : Number.NaN,
  };
}

/** The raw-socket floor at c=1 (raw-http-floor.ts) with the same request bytes, and its server latency. */
async function runFloor(httpUrl: string, api: ServerApi, seconds: number): Promise<Omit<FloorRun, 'rep'>> {
  const req = autocannonRequest();
  const head =
    `POST ${req.path} HTTP/1.1\r\nhost: ${new URL(httpUrl).host}\r\n` +
    Object.entries(req.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    `content-length: ${req.body.byteLength}\r\n\r\n`;
  let before = { count: 0, ns: 0 };
  const run = await runRawFloor(
    httpUrl,
    Buffer.concat([Buffer.from(head, 'latin1'), req.body]),
    seconds,
    0.5,
    {
      before: async () => {
        before = successOf(await api.modelStatistics(MODEL, ''));
      },
    },
  );
  const after = successOf(await api.modelStatistics(MODEL, ''));
  return { ...run, serverMeanUs: perRequestUs(after.ns - before.ns, after.count - before.count) };
}

/** The bare node:http2 gRPC floor at c=1 (raw-grpc-floor.ts) with our client's ModelInfer bytes, and its server latency. */
async function runGrpcFloor(
  grpcUrl: string,
  api: ServerApi,
  seconds: number,
): Promise<Omit<FloorRun, 'rep'>> {
  const message = toBinary(ModelInferRequestSchema, wireToGrpcRequest(identitySpec()));
  let before = { count: 0, ns: 0 };
  const run = await runRawGrpcFloor(grpcUrl, preencodedModelInfer.path, message, seconds, 0.5, {
    before: async () => {
      before = successOf(await api.modelStatistics(MODEL, ''));
    },
  });
  const after = successOf(await api.modelStatistics(MODEL, ''));
  return { ...run, serverMeanUs: perRequestUs(after.ns - before.ns, after.count - before.count) };
}

async function identityRepository(): Promise<string> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'inferbench-client-bench-'));
  await mkdir(path.join(repo, MODEL, '1'), { recursive: true });
  await copyFile(
    path.join(ROOT, 'embedded-server/models', MODEL, 'config.pbtxt'),
    path.join(repo, MODEL, 'config.pbtxt'),
  );
  await writeFile(path.join(repo, MODEL, '1', 'model.onnx'), identityModel('FP32'));
  return repo;
}

const r0 = (x: number) => (Number.isNaN(x) ? '–' : String(Math.round(x)));

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const opts = parsed;
  const device = await describeDevice();
  const repo = await identityRepository();
  if (opts.clientCpus) pinProcess(opts.clientCpus);
  const server = await startEmbeddedServerProcess({
    modelRepository: repo,
    commandPrefix: opts.serverCpus ? pinnedCommand(opts.serverCpus) : undefined,
  });
  const api = createHttpServerApi({ url: server.httpUrl, clock: systemClock, connections: 1, headers: {} });
  const ours: OursRun[] = [];
  const ac: AutocannonRun[] = [];
  const floor: FloorRun[] = [];
  const grpcFloor: FloorRun[] = [];
  const startedAt = new Date().toISOString();
  try {
    // Warm-up pass (discarded): JIT-compiles both tools' hot paths and the server's before anything counts
    // (here both clients and the server take several seconds to reach their steady per-request cost).
    const c0 = opts.concurrency[0] ?? 1;
    for (const protocol of opts.protocols) {
      const url = protocol === 'http' ? server.httpUrl : server.grpcUrl;
      await runOurs(protocol, url, c0, opts.warmupSeconds);
      if (protocol === 'http') await runAutocannon(server.httpUrl, api, c0, opts.warmupSeconds);
    }
    const maxReps = Math.max(opts.reps, opts.c1Reps);
    for (let rep = 1; rep <= maxReps; rep++) {
      for (const c of opts.concurrency) {
        if (rep > (c === 1 ? opts.c1Reps : opts.reps)) continue;
        const oursRun = async (protocol: BenchProtocol): Promise<void> => {
          const url = protocol === 'http' ? server.httpUrl : server.grpcUrl;
          const run = { ...(await runOurs(protocol, url, c, opts.seconds)), rep };
          ours.push(run);
          process.stderr.write(
            `rep ${rep} c=${c} ours ${protocol}: ${r0(run.ratePerSec)} req/s, mean ${r0(run.clientMeanUs)} µs, server ${r0(run.serverMeanUs)} µs, CPU ${run.cpuUsPerRequest.toFixed(1)} µs/req${run.errors ? `, ${run.errors} errors` : ''}\n`,
          );
        };
        const autocannonRun = async (): Promise<void> => {
          const a = { ...(await runAutocannon(server.httpUrl, api, c, opts.seconds)), rep };
          ac.push(a);
          process.stderr.write(
            `rep ${rep} c=${c} autocannon: ${r0(a.ratePerSec)} req/s, cycle ${r0(a.cycleUs)} µs, server ${r0(a.serverMeanUs)} µs, CPU ${a.cpuUsPerRequest.toFixed(1)} µs/req, non-2xx ${a.non2xx}, errors ${a.errors}, timeouts ${a.timeouts}\n`,
          );
        };
        if (opts.protocols.includes('http')) {
          // Which of a pair goes first alternates, so a drift during the run favours neither tool.
          if (rep % 2 === 1) {
            await oursRun('http');
            await autocannonRun();
          } else {
            await autocannonRun();
            await oursRun('http');
          }
          if (c === 1 && opts.floor) {
            const f = { ...(await runFloor(server.httpUrl, api, opts.seconds)), rep };
            floor.push(f);
            process.stderr.write(
              `rep ${rep} c=1 raw-socket floor: ${r0(f.ratePerSec)} req/s, mean ${r0(f.meanUs)} µs, server ${r0(f.serverMeanUs)} µs, CPU ${f.cpuUsPerRequest.toFixed(1)} µs/req\n`,
            );
          }
        }
        if (opts.protocols.includes('grpc')) {
          await oursRun('grpc');
          if (c === 1 && opts.floor) {
            const f = { ...(await runGrpcFloor(server.grpcUrl, api, opts.seconds)), rep };
            grpcFloor.push(f);
            process.stderr.write(
              `rep ${rep} c=1 bare node:http2 gRPC floor: ${r0(f.ratePerSec)} req/s, mean ${r0(f.meanUs)} µs, server ${r0(f.serverMeanUs)} µs, CPU ${f.cpuUsPerRequest.toFixed(1)} µs/req\n`,
            );
          }
        }
      }
    }
  } finally {
    await api.close().catch(() => undefined);
    await server.stop(10_000);
    await rm(repo, { recursive: true, force: true });
  }

  const summary = summarizeClientBench(ours, ac, DEFAULT_TARGETS, floor, grpcFloor);
  const tables = renderClientBenchTables(summary);
  const command = `npm run bench:client${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const record = {
    date: startedAt,
    command,
    device: { ...device, loadAverageEnd: os.loadavg()[0] ?? 0 },
    method: {
      model: MODEL,
      body: `FP32 [1,${ELEMENTS}] zeros (${ELEMENTS} elements, ${ELEMENTS * 4} bytes of tensor data); HTTP binary tensor extension for inputs and outputs; request body ${autocannonRequest().body.byteLength} bytes`,
      server: `inferbench serve in a child process on 127.0.0.1 (identity_fp32 only); ${
        opts.serverCpus || opts.clientCpus
          ? `pinned with taskset: server on CPUs ${opts.serverCpus?.join(',') ?? 'any'}, clients on CPUs ${opts.clientCpus?.join(',') ?? 'any'}`
          : 'no CPU pinning (server and clients share every core)'
      }`,
      ours: `flags → resolveSettings → runBenchmark; --single-measurement -p ${opts.seconds * 1000}, --warmup-request-count max(500, 4×c)`,
      autocannon: `autocannon ${autocannonVersion()} in-process, same URL/body/headers, connections = c, pipelining 1, ${AUTOCANNON_WARMUP_S} s warm-up run, then ${opts.seconds} s`,
      overhead:
        'client mean latency − server mean request latency (statistics success.ns / success.count, same window)',
      cpuPerRequest: 'process CPU time (user + system) over the measured window / completed requests',
      rawFloor:
        'c=1 only: one raw keep-alive socket writing the same request bytes in a bare loop (test/bench/raw-http-floor.ts), 0.5 s warm-up; the floor of client − server latency on this machine',
      rawGrpcFloor:
        'c=1 only: one bare node:http2 session sending the same ModelInfer bytes, one stream per call, in a bare loop (test/bench/raw-grpc-floor.ts), 0.5 s warm-up; the floor of client − server latency for unary gRPC on Node',
      order: `a discarded ${opts.warmupSeconds} s warm-up run of each tool first; then per repetition and concurrency: ours HTTP and autocannon (ours first on odd repetitions, autocannon first on even ones), (c=1: raw-socket floor), ours gRPC, (c=1: bare node:http2 gRPC floor)`,
      seconds: opts.seconds,
      warmupSeconds: opts.warmupSeconds,
      reps: opts.reps,
      c1Reps: opts.c1Reps,
      concurrency: opts.concurrency,
    },
    targets: summary.targets,
    targetsMet: {
      overhead: summary.overheadMet,
      rateRatio: summary.ratioMet,
      autocannonValid: summary.autocannonValid,
    },
    summary,
    runs: { ours, autocannon: ac, rawFloor: floor, rawGrpcFloor: grpcFloor },
  };
  const d = record.device;
  const md =
    `# Client benchmark — identity_fp32 (load generator cost, autocannon side by side)\n\n` +
    `${startedAt} · ${d.cpuModel} (${d.cpuCount} CPUs) · Node ${d.node} · commit ${d.commit} · ` +
    `load avg ${d.loadAverageStart.toFixed(2)} → ${d.loadAverageEnd.toFixed(2)}\n\n` +
    `Command: \`${command}\`\n\n` +
    `Server: ${record.method.server}. Body: ${record.method.body}. Ours: ${record.method.ours}. ` +
    `autocannon: ${record.method.autocannon}. Order: ${record.method.order}. ` +
    `Client overhead = ${record.method.overhead}; median of ${opts.c1Reps} runs at c=1, ${opts.reps} runs above. ` +
    `CPU µs/req = ${record.method.cpuPerRequest} (the server is another process, so it is the client's own cost). ` +
    `Raw-socket floor: ${record.method.rawFloor}. gRPC floor: ${record.method.rawGrpcFloor}.\n\n` +
    tables +
    (Number.isNaN(summary.autocannonC1CycleOverheadUs)
      ? ''
      : `\nFor comparison, autocannon at c=1: time per request (1/rate) − server request latency = ${summary.autocannonC1CycleOverheadUs.toFixed(1)} µs (ours: µs per request − server request µs in the first table).\n`);
  writeBenchResults(opts.out, { json: record, markdown: md });
  formatWithBiome(`${opts.out}.json`);
  console.log(tables);
  console.log(`written: ${opts.out}.json, ${opts.out}.md`);
}

/** Biome lints the JSON under bench-results: let it lay the record out as it wants it (best effort). */
function formatWithBiome(file: string): void {
  const biome = path.join(ROOT, 'node_modules/.bin/biome');
  if (existsSync(biome)) spawnSync(biome, ['format', '--write', file], { cwd: ROOT, stdio: 'ignore' });
}

function autocannonVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
