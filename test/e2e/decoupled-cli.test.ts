/**
 * perf_analyzer's streaming command line, unchanged, against the bundled `repeat` model (decoupled): the run
 * prints perf_analyzer's decoupled lines (the settings line, "Response Throughput"), counts every response
 * (4 per request with the model's suggested data, n per request with --input-data), records the
 * first-response latency, and writes perf_analyzer's "Response Throughput" CSV column. Without --streaming
 * (or over HTTP) the run is refused with perf_analyzer's text and exit 3.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { DECOUPLED_NEEDS_STREAMING } from '../../src/cli/decoupled-run.ts';
import { packageInfo } from '../../src/protocol/package-info.ts';
import { http, type TempRepository, tempRepository } from '../helpers/real-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

describe('perf_analyzer streaming command lines against the decoupled repeat model', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let dataDir: string;

  before(async () => {
    const config = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'repeat', 'config.pbtxt'),
      'utf8',
    );
    repo = await tempRepository({});
    await repo.addModel('repeat', { config, onnx: new Uint8Array(0) });
    server = await startServer({ modelRepository: repo.dir });
    dataDir = await mkdtemp(join(tmpdir(), 'inferbench-decoupled-'));
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
    await rm(dataDir, { recursive: true, force: true });
  });

  const base = () => ['-m', 'repeat', '-u', server.grpcUrl, '-i', 'grpc', '--no-progress'];

  it('-m repeat -i grpc --streaming: responses counted per request, perf_analyzer blocks, CSV column', async () => {
    const r = await runProfile([
      ...base(),
      '--streaming',
      '--concurrency-range',
      '2',
      '--request-count',
      '30',
      '--json',
      'run.json',
      '-f',
      'out.csv',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /\n {2}Detected decoupled model, using the first response for measuring latency\n/,
    );
    assert.match(
      r.stdout,
      /\n {4}Throughput: [0-9.e+]+ infer\/sec\n {4}Response Throughput: [0-9.e+]+ infer\/sec\n/,
    );
    assert.match(
      r.stdout,
      /\n {4}First response latency: avg \d+ usec \(p50 \d+ usec, p90 \d+ usec, p95 \d+ usec, p99 \d+ usec\)\n {4}\n/,
    );
    const m = r.record?.levels[0]?.merged;
    assert.equal(m?.requestCount, 30);
    assert.equal(m?.errorCount, 0);
    // The model's suggested data: IN of 4 elements → exactly 4 responses per request.
    assert.equal(m?.responseCount, 120);
    assert.ok(
      Math.abs((m?.responsesPerSec ?? 0) - 4 * (m?.throughputPerSec ?? 0)) < 1e-6 * (m?.responsesPerSec ?? 1),
    );
    assert.equal(m?.firstResponseLatency?.count, 30);
    assert.ok((m?.firstResponseLatency?.meanUs ?? Infinity) <= (m?.latency.meanUs ?? 0));
    const csv = (r.files.get('out.csv') ?? '').split('\n');
    const header = (csv[0] ?? '').split(',');
    assert.deepEqual(header.slice(0, 4), [
      'Concurrency',
      'Inferences/Second',
      'Response Throughput',
      'Client Send',
    ]);
    assert.deepEqual(header.slice(-5), [
      'Avg First Response Latency',
      'p50 First Response Latency',
      'p90 First Response Latency',
      'p95 First Response Latency',
      'p99 First Response Latency',
    ]);
    const row = (csv[1] ?? '').split(',');
    assert.equal(Number(row[2]), Number(Number(row[2]).toPrecision(6)));
    assert.ok(Number(row[2]) > Number(row[1]) * 3.99);
  });

  for (const n of [0, 1, 7]) {
    it(`--input-data with IN of ${n} element(s): exactly ${n} responses per request`, async () => {
      const file = join(dataDir, `in-${n}.json`);
      const values = Array.from({ length: n }, (_, i) => i + 1);
      await writeFile(
        file,
        JSON.stringify({
          data: [
            {
              IN: { content: values, shape: [n] },
              DELAY: { content: values.map(() => 0), shape: [n] },
              WAIT: [0],
            },
          ],
        }),
      );
      const r = await runProfile(
        [...base(), '--streaming', '--input-data', file, '--request-count', '12', '--json', 'run.json'],
        { [file]: '' },
      );
      assert.equal(r.code, 0, r.stderr);
      const m = r.record?.levels[0]?.merged;
      assert.equal(m?.requestCount, 12);
      assert.equal(m?.responseCount, 12 * n);
    });
  }

  for (const extra of [[], ['-i', 'http', '-u', '']] as const) {
    it(`is refused without a gRPC stream (${extra.length === 0 ? 'gRPC, no --streaming' : 'HTTP'}) with perf_analyzer's text`, async () => {
      const args =
        extra.length === 0 ? base() : ['-m', 'repeat', '-u', server.httpUrl, '-i', 'http', '--no-progress'];
      const r = await runProfile([...args, '--request-count', '4']);
      assert.equal(r.code, 3, r.stderr);
      assert.ok(r.stderr.includes(DECOUPLED_NEEDS_STREAMING), r.stderr);
    });
  }

  it('the server failed no request of those runs', async () => {
    const stats = (await http(`${server.httpUrl}/v2/models/repeat/stats`)).json() as {
      model_stats: { inference_stats: { fail: { count: number }; success: { count: number } } }[];
    };
    const s = stats.model_stats[0]?.inference_stats;
    assert.equal(s?.fail.count, 0);
    assert.ok((s?.success.count ?? 0) >= 30 + 36);
  });
});
