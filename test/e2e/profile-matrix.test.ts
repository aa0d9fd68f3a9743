/**
 * The real profile path (command line → transport → profiler → report) against the reference server, started
 * in-process with only the tiny models (`simple`, `identity_fp32`), for every way of loading it: HTTP and gRPC,
 * sync and async concurrency, gRPC streaming, and request rate (constant and Poisson).
 *
 * Each mode runs twice:
 * - in short time windows (stability rule, merge, summary): exit 0, the stdout rows, no errors, the client's
 *   count against the server's inference-count delta over the same windows (they differ only by requests in
 *   flight at the two edges: perf_analyzer §5.3), and for request rate the achieved rate ≈ the asked one;
 * - with --request-count, where every request sent is in the one window: the client's count must EQUAL the
 *   server's delta. (The stats snapshot at the window start goes over the API's open connection while the
 *   level's first requests still open theirs, so no request can complete on the server before it.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { identityModel, simpleAddSubModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import type { RunResult } from '../../src/report/model.ts';
import { type TempRepository, tempRepository } from '../helpers/real-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

const bundledConfig = (model: string): string =>
  readFileSync(new URL(`../../embedded-server/models/${model}/config.pbtxt`, import.meta.url), 'utf8');

interface Mode {
  name: string;
  protocol: 'http' | 'grpc';
  /** Model and load flags. */
  flags: string[];
  /** Request rate asked for; undefined = concurrency mode. */
  rate?: number;
  /** Poisson: a wider bound on the achieved rate. */
  poisson?: boolean;
  concurrency?: number;
  async: boolean;
}

const SIMPLE = ['-m', 'simple'];
const IDENTITY = ['-m', 'identity_fp32', '--shape', 'INPUT0:16'];

const MODES: Mode[] = [
  {
    name: 'HTTP sync concurrency',
    protocol: 'http',
    flags: [...SIMPLE, '--concurrency-range', '2'],
    concurrency: 2,
    async: false,
  },
  {
    name: 'HTTP async concurrency',
    protocol: 'http',
    flags: [...IDENTITY, '--concurrency-range', '2', '--async'],
    concurrency: 2,
    async: true,
  },
  {
    name: 'gRPC sync concurrency',
    protocol: 'grpc',
    flags: [...SIMPLE, '--concurrency-range', '2'],
    concurrency: 2,
    async: false,
  },
  {
    name: 'gRPC async concurrency',
    protocol: 'grpc',
    flags: [...IDENTITY, '--concurrency-range', '2', '--async'],
    concurrency: 2,
    async: true,
  },
  {
    name: 'gRPC streaming',
    protocol: 'grpc',
    flags: [...SIMPLE, '--concurrency-range', '2', '--streaming'],
    concurrency: 2,
    async: true,
  },
  {
    name: 'HTTP request rate (constant)',
    protocol: 'http',
    flags: [...SIMPLE, '--request-rate-range', '200', '--async'],
    rate: 200,
    async: true,
  },
  {
    name: 'gRPC request rate (constant)',
    protocol: 'grpc',
    flags: [...IDENTITY, '--request-rate-range', '200', '--async'],
    rate: 200,
    async: true,
  },
  {
    name: 'gRPC request rate (poisson)',
    protocol: 'grpc',
    flags: [...SIMPLE, '--request-rate-range', '200', '--request-distribution', 'poisson', '--async'],
    rate: 200,
    poisson: true,
    async: true,
  },
];

/** Σ over the measured windows of the client's request count and of the server's inference-count delta. */
function windowTotals(record: RunResult): { client: number; server: number } {
  const windows = record.levels[0]!.windows;
  let client = 0;
  let server = 0;
  for (const w of windows) {
    client += w.requestCount;
    assert.ok(w.server, `window ${w.index} has server statistics`);
    server += w.server.inferenceCount;
  }
  return { client, server };
}

function checkStdout(stdout: string, mode: Mode, record: RunResult): void {
  const m = record.levels[0]!.merged!;
  assert.match(stdout, /^\*\*\* Measurement Settings \*\*\*\n/);
  assert.match(
    stdout,
    mode.async
      ? /\n {2}Using asynchronous calls for inference\n/
      : /\n {2}Using synchronous calls for inference\n/,
  );
  const header =
    mode.rate === undefined
      ? `Request concurrency: ${mode.concurrency}`
      : `Request Rate: ${mode.rate} inference requests per second`;
  assert.ok(
    stdout.includes(`${header}\n  Client: \n    Request count: ${m.requestCount}\n`),
    `level header and client block:\n${stdout}`,
  );
  assert.match(stdout, new RegExp(`\\n {2}Server: \\n {4}Inference count: ${m.server!.inferenceCount}\\n`));
  assert.match(stdout, /\n {4}Successful request count: \d+\n/);
  assert.match(stdout, mode.protocol === 'http' ? /\n {4}Avg HTTP time: / : /\n {4}Avg gRPC time: /);
  assert.doesNotMatch(stdout, /Errors: /);
  const row = mode.rate === undefined ? `Concurrency: ${mode.concurrency}` : `Request Rate: ${mode.rate}`;
  assert.match(
    stdout,
    new RegExp(
      `\\nInferences/Second vs\\. Client Average Batch Latency\\n${row}, throughput: [\\d.]+ infer/sec, latency \\d+ usec\\n`,
    ),
  );
}

describe('profile matrix against the embedded server (HTTP, gRPC; sync, async, streaming; request rate)', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    repo = await tempRepository({
      simple: { config: bundledConfig('simple'), onnx: simpleAddSubModel() },
      identity_fp32: { config: bundledConfig('identity_fp32'), onnx: identityModel('FP32') },
    });
    server = await startServer({ modelRepository: repo.dir });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  const url = (protocol: Mode['protocol']): string =>
    protocol === 'grpc' ? server.grpcUrl : server.httpUrl.replace('http://', '');

  for (const mode of MODES) {
    it(`${mode.name}: time windows`, async () => {
      const r = await runProfile([
        ...mode.flags,
        '-u',
        url(mode.protocol),
        '-i',
        mode.protocol,
        '-p',
        '250',
        // The stability rule has its own tests: here it is lenient, so that a loaded machine cannot make a
        // level unstable, and the run must exit 0 (2, unstable, fails the test).
        '-s',
        '1000',
        '-r',
        '10',
        '--json',
        'run.json',
        '--no-progress',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const record = r.record!;
      assert.equal(record.levels.length, 1);
      const level = record.levels[0]!;
      assert.equal(level.status, 'stable');
      const m = level.merged!;
      assert.ok(m.requestCount > 0);
      assert.equal(m.errorCount, 0);
      assert.deepEqual(m.errorsByKind, {});
      checkStdout(r.stdout, mode, record);

      // Server figures over the same windows: off by at most the requests in flight at the first and last edge
      // (at a request rate: what is sent while a statistics snapshot lags its window edge, up to 1/4 s each).
      const { client, server: served } = windowTotals(record);
      const inFlight = mode.concurrency ?? Math.ceil((mode.rate ?? 0) / 4);
      assert.ok(client > 0);
      assert.ok(Math.abs(client - served) <= 2 * inFlight, `client ${client} vs server ${served}`);
      assert.equal(m.server!.executionCount, m.server!.inferenceCount, 'batch 1, no dynamic batching');

      if (mode.rate !== undefined) {
        // The generator's achieved (send) rate: ±10 %, ±30 % for Poisson (over 0.75 s, σ ≈ 8 %). Completions
        // follow the server, which shares this machine: only a gross error may fail them (±50 %).
        const bound = mode.poisson ? 0.3 : 0.1;
        const sendRate = m.sendRatePerSec;
        assert.ok(
          Math.abs(sendRate - mode.rate) <= mode.rate * bound,
          `send rate ${sendRate} ≈ ${mode.rate}`,
        );
        const throughput = m.throughputPerSec;
        assert.ok(
          Math.abs(throughput - mode.rate) <= mode.rate * 0.5,
          `throughput ${throughput} ≈ ${mode.rate}`,
        );
        assert.ok(m.uncorrectedLatency, 'open loop keeps the uncorrected latency');
      }
    });

    it(`${mode.name}: --request-count, client count = server count`, async () => {
      const count = mode.rate ?? 100;
      const r = await runProfile([
        ...mode.flags,
        '-u',
        url(mode.protocol),
        '-i',
        mode.protocol,
        '--request-count',
        String(count),
        '--json',
        'run.json',
        '--profile-export-file',
        'export.json',
        '--no-progress',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const m = r.record!.levels[0]!.merged!;
      assert.equal(m.requestCount, count);
      assert.equal(m.sentCount, count);
      assert.equal(m.errorCount, 0);
      assert.equal(m.server!.inferenceCount, count, 'server inference-count delta = client request count');
      assert.equal(m.server!.success.count, count);
      assert.equal(r.exported!.experiments[0]!.requests.length, count, 'one export record per request');
    });
  }
});
