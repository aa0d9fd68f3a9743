/**
 * Worker-thread shards never share a correlation ID, end to end: perf_analyzer's sequence command line with
 * `--worker-threads 2` against the bundled `accumulate` model. Two shards opening the same ID would make the
 * sequence batcher log Triton's "has a conflict" line (a START for an ID that is still open) and would break
 * the running sums; the server sees neither, and no request fails.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { accumulateModel } from '../../embedded-server/src/onnx/stateful-models.ts';
import { packageInfo } from '../../src/protocol/package-info.ts';
import { http, type TempRepository, tempRepository } from '../helpers/real-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

describe('sequence IDs across worker-thread shards', () => {
  let repo: TempRepository;
  let server: RunningServer;
  const lines: string[] = [];

  before(async () => {
    const config = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'accumulate', 'config.pbtxt'),
      'utf8',
    );
    repo = await tempRepository({ accumulate: { config, onnx: accumulateModel() } });
    const log = (m: string) => lines.push(m);
    server = await startServer({ modelRepository: repo.dir, log: { info: log, warn: log, error: log } });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  it('--worker-threads 2 --concurrency-range 4: no ID conflict on the server, no failed request', async () => {
    const r = await runProfile([
      '-m',
      'accumulate',
      '-u',
      server.grpcUrl,
      '-i',
      'grpc',
      '--worker-threads',
      '2',
      '--sequence-length',
      '3',
      '--sequence-length-variation',
      '0',
      '--sequence-id-range',
      '1:8',
      '--concurrency-range',
      '4',
      '--request-count',
      '60',
      '--json',
      'run.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The load really ran in two shards (not silently on the main thread).
    assert.ok(!r.stderr.includes('Worker threads need'), r.stderr);
    assert.equal((r.record?.config as { workerThreads?: number } | undefined)?.workerThreads, 2);
    assert.equal(r.record?.levels[0]?.merged?.errorCount, 0);
    // A narrow range (8 IDs for 4 open sequences) makes IDs wrap often: shards must still never collide.
    assert.deepEqual(
      lines.filter((l) => l.includes('has a conflict')),
      [],
    );
    const stats = (await http(`${server.httpUrl}/v2/models/accumulate/stats`)).json() as {
      model_stats: { inference_stats: { fail: { count: number } } }[];
    };
    assert.equal(stats.model_stats[0]?.inference_stats.fail.count, 0);
  });
});
