/**
 * perf_analyzer's sequence command lines, unchanged, against the bundled server's `accumulate` model: the
 * run prints perf_analyzer's "Sequence count" line, records the sequence figures, runs async, and every
 * request succeeds on the server. Hostile sequence flags get perf_analyzer's texts and exit code 3.
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

describe('perf_analyzer sequence command lines against accumulate', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    const config = await readFile(
      join(packageInfo().root, 'embedded-server', 'models', 'accumulate', 'config.pbtxt'),
      'utf8',
    );
    repo = await tempRepository({ accumulate: { config, onnx: accumulateModel() } });
    server = await startServer({ modelRepository: repo.dir });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  for (const [protocol, concurrency] of [
    ['http', 1],
    ['grpc', 2],
  ] as const) {
    it(`-m accumulate --sequence-length 4 --concurrency-range ${concurrency} -i ${protocol}`, async () => {
      const url = protocol === 'http' ? server.httpUrl : server.grpcUrl;
      const r = await runProfile([
        '-m',
        'accumulate',
        '-u',
        url,
        '-i',
        protocol,
        '--sequence-length',
        '4',
        '--sequence-length-variation',
        '0',
        '--concurrency-range',
        String(concurrency),
        '--request-count',
        '40',
        '--json',
        'run.json',
        '--no-progress',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Using asynchronous calls for inference/);
      const m = r.record?.levels[0]?.merged;
      assert.equal(m?.requestCount, 40);
      assert.equal(m?.errorCount, 0);
      if (concurrency === 1) {
        // One sequence at a time of exactly 4 requests: 40 requests end exactly 10 sequences.
        assert.match(r.stdout, /Request count: 40\n {4}Sequence count: 10 \(/);
        assert.equal(m?.sequenceCount, 10);
      } else {
        // Two slots share the 40 sends; each slot's last sequence may be cut short and ended early.
        assert.ok((m?.sequenceCount ?? 0) >= 9 && (m?.sequenceCount ?? 0) <= 11, String(m?.sequenceCount));
      }
      const config = r.record?.config as { sequence?: { length?: number } };
      assert.equal(config.sequence?.length, 4);
    });
  }

  it('the server failed no request of those runs', async () => {
    const stats = (await http(`${server.httpUrl}/v2/models/accumulate/stats`)).json() as {
      model_stats: { inference_stats: { fail: { count: number }; success: { count: number } } }[];
    };
    assert.equal(stats.model_stats[0]?.inference_stats.fail.count, 0);
    assert.ok((stats.model_stats[0]?.inference_stats.success.count ?? 0) >= 80);
  });

  it('hostile sequence flags: perf_analyzer texts, exit 3', async () => {
    const cases: [string[], RegExp][] = [
      [['--sequence-id-range', '5:5'], /end of the range must be > start/],
      [
        ['--sequence-id-range', '1:3', '--concurrency-range', '4'],
        /sequence id range specified is smaller than the maximum possible concurrency/,
      ],
      [['--sequence-id-range', 'a:b'], /Failed to parse --sequence-id-range/],
      [['--sequence-id-range', '-4'], /Failed to parse --sequence-id-range/],
      [
        ['--sequence-length', '99999999999999999999'],
        /Failed to parse --sequence-length\. Invalid value provided/,
      ],
      [['--sequence-length-variation', '-1'], /Failed to parse --sequence-length-variation/],
      [['--num-of-sequences', '0'], /Failed to parse --num-of-sequences\. The value must be > 0\./],
      [['-b', '2'], /can not specify batch size > 1 when the model is a sequence model/],
    ];
    for (const [flags, message] of cases) {
      const r = await runProfile([
        '-m',
        'accumulate',
        '-u',
        server.httpUrl,
        '--request-count',
        '4',
        ...flags,
      ]);
      assert.equal(r.code, 3, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, flags.join(' '));
    }
  });

  it('--sequence-length 0 warns and keeps the default 20 (perf_analyzer)', async () => {
    const r = await runProfile([
      '-m',
      'accumulate',
      '-u',
      server.httpUrl,
      '--sequence-length',
      '0',
      '--sequence-length-variation',
      '0',
      '--request-count',
      '40',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /The sequence length must be > 0/);
    assert.match(r.stdout, /Sequence count: 2 \(/);
  });
});
