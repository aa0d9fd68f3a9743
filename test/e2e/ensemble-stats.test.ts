/**
 * Ensembles end to end against a fake server that serves ensemble configs and per-model statistics: the
 * composing models (nested ensembles included) are found through their configs, their statistics are fetched
 * (all models' stats, as perf_analyzer asks for them) as per-window deltas, printed under `Composing models:`
 * in the Server: block, kept in the JSON record and written as one CSV each; a composing model the server does
 * not report is named in a warning and the run goes on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type FakeServer, startFakeKServe, tritonStatsEntry } from '../helpers/fake-kserve-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

const TENSORS = {
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [4] }],
};
const CONFIG_TENSORS = {
  input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: ['4'] }],
  output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: ['4'] }],
};

function ensembleConfig(name: string, steps: { model: string; version: number }[]): Record<string, unknown> {
  return {
    name,
    platform: 'ensemble',
    max_batch_size: 0,
    ...CONFIG_TENSORS,
    ensemble_scheduling: {
      step: steps.map((s) => ({
        model_name: s.model,
        model_version: String(s.version),
        input_map: { INPUT0: 'INPUT0' },
        output_map: { OUTPUT0: 'OUTPUT0' },
      })),
    },
  };
}

const plainConfig = (name: string) => ({
  name,
  platform: 'onnxruntime_onnx',
  max_batch_size: 0,
  ...CONFIG_TENSORS,
});

/** Per request, each model's queue and compute-infer time (ns): fixed, so the averages are exact. */
const COST_NS: Record<string, { queue: number; infer: number }> = {
  ens: { queue: 0, infer: 0 },
  ens_missing: { queue: 0, infer: 0 },
  pre: { queue: 100_000, infer: 300_000 },
  inner: { queue: 0, infer: 0 },
  net: { queue: 200_000, infer: 500_000 },
};
const ENSEMBLES = new Set(['ens', 'inner', 'ens_missing']);
/** What one request to each top model runs. `ghost` is never reported by the server. */
const RUNS: Record<string, string[]> = {
  ens: ['ens', 'pre', 'inner', 'net'],
  ens_missing: ['ens_missing', 'pre', 'ghost'],
};

describe('ensemble: composing models in the Server: block and the record', () => {
  let server: FakeServer;
  const done = new Map<string, number>();

  const statsOf = (name: string) => {
    const n = done.get(name) ?? 0;
    const cost = COST_NS[name]!;
    return tritonStatsEntry(name, '1', {
      inferenceCount: n,
      executionCount: n,
      // Each model's request time = its queue + compute + 50 µs; an ensemble's = 1.2 ms.
      success: { count: n, ns: n * (ENSEMBLES.has(name) ? 1_200_000 : cost.queue + cost.infer + 50_000) },
      queue: { count: n, ns: n * cost.queue },
      computeInput: { count: n, ns: 0 },
      computeInfer: { count: n, ns: n * cost.infer },
      computeOutput: { count: n, ns: 0 },
    });
  };

  before(async () => {
    server = await startFakeKServe({
      models: [
        {
          name: 'ens',
          platform: 'ensemble',
          ...TENSORS,
          config: ensembleConfig('ens', [
            { model: 'pre', version: -1 },
            { model: 'inner', version: 1 },
          ]),
        },
        {
          name: 'inner',
          platform: 'ensemble',
          ...TENSORS,
          config: ensembleConfig('inner', [{ model: 'net', version: -1 }]),
        },
        { name: 'pre', ...TENSORS, config: plainConfig('pre') },
        { name: 'net', ...TENSORS, config: plainConfig('net') },
        {
          name: 'ens_missing',
          platform: 'ensemble',
          ...TENSORS,
          config: ensembleConfig('ens_missing', [
            { model: 'pre', version: -1 },
            { model: 'ghost', version: -1 },
          ]),
        },
      ],
      answerAfterMs: () => 1,
      onAnswered: ({ model }) => {
        for (const m of RUNS[model] ?? [model]) done.set(m, (done.get(m) ?? 0) + 1);
      },
      stats: (name) => {
        const known = Object.keys(COST_NS);
        return (name === '' ? known : known.filter((m) => m === name)).map(statsOf);
      },
    });
  });

  after(async () => {
    await server?.close();
  });

  it('prints each composing model (recursively) and the ensemble line from the leaves', async () => {
    const r = await runProfile([
      '-m',
      'ens',
      '-u',
      server.url,
      '--concurrency-range',
      '2',
      '--request-count',
      '100',
      '-f',
      'out.csv',
      '--json',
      'run.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(server.gets.includes('/v2/models/stats'), 'all-model statistics were fetched');
    assert.ok(
      server.gets.includes('/v2/models/inner/versions/1/config'),
      'the nested ensemble config was read',
    );
    const level = r.record!.levels[0]!;
    const top = level.merged!.server!;
    assert.equal(level.merged!.requestCount, 100);
    assert.equal(top.model, 'ens');
    assert.equal(top.success.count, 100);
    assert.deepEqual(
      top.composing.map((c) => [c.model, c.version, c.success.count]),
      [
        ['pre', '1', 100],
        ['inner', '1', 100],
      ],
    );
    assert.deepEqual(
      top.composing[1]!.composing.map((c) => [c.model, c.success.count]),
      [['net', 100]],
    );
    // Queue and compute of the ensemble: sums over the leaves pre + net (100 + 200 µs, 300 + 500 µs).
    const block = [
      '  Server: ',
      '    Inference count: 100',
      '    Execution count: 100',
      '    Successful request count: 100',
      '    Avg request latency: 1200 usec (overhead 100 usec + queue 300 usec + compute 800 usec)',
      '',
      '  Composing models: ',
      '  pre, version: 1',
      '      Inference count: 100',
      '      Execution count: 100',
      '      Successful request count: 100',
      '      Avg request latency: 450 usec (overhead 50 usec + queue 100 usec + compute input 0 usec + compute infer 300 usec + compute output 0 usec)',
      '  inner, version: 1',
      '      Inference count: 100',
      '      Execution count: 100',
      '      Successful request count: 100',
      '      Avg request latency: 1200 usec (overhead 500 usec + queue 200 usec + compute 500 usec)',
      '',
      '    Composing models: ',
      '    net, version: 1',
      '        Inference count: 100',
      '        Execution count: 100',
      '        Successful request count: 100',
      '        Avg request latency: 750 usec (overhead 50 usec + queue 200 usec + compute input 0 usec + compute infer 500 usec + compute output 0 usec)',
    ].join('\n');
    assert.ok(r.stdout.includes(block), `Server: block:\n${r.stdout}`);
    // One CSV per composing model, perf_analyzer's names.
    for (const name of ['pre_v1.out.csv', 'inner_v1.out.csv', 'net_v1.out.csv'])
      assert.ok(r.files.has(name), name);
    assert.doesNotMatch(r.stderr, /not reported/);
  });

  it('a composing model missing from the statistics is named in a warning; the run goes on', async () => {
    const r = await runProfile([
      '-m',
      'ens_missing',
      '-u',
      server.url,
      '--concurrency-range',
      '1',
      '--request-count',
      '30',
      '--json',
      'run.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Server statistics for composing model ghost of ensemble ens_missing are not reported by the server; it is left out of the Server: block\./,
    );
    const top = r.record!.levels[0]!.merged!.server!;
    assert.equal(top.success.count, 30);
    assert.deepEqual(
      top.composing.map((c) => c.model),
      ['pre'],
    );
    assert.match(r.stdout, /\n {2}Composing models: \n {2}pre, version: 1\n {6}Inference count: 30\n/);
  });
});
