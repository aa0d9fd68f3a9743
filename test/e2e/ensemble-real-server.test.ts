/**
 * The load generator against the reference server's own ensembles (no fake): a nested ensemble (`outer` =
 * `inner` → `id_c`, `inner` = `id_a` → `id_b`) profiled with a bounded request count. The Server block lists
 * the composing models as perf_analyzer does, each with exactly the ensemble's request count, and the JSON
 * record nests them as the server's statistics say.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { type TempRepository, tempRepository } from '../helpers/real-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

const identity = (name: string) => `name: "${name}" platform: "onnxruntime_onnx" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { }
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }`;

const ensemble = (
  name: string,
  first: string,
  second: string,
) => `name: "${name}" platform: "ensemble" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
ensemble_scheduling { step [
  { model_name: "${first}" model_version: -1 input_map { key: "INPUT0" value: "INPUT0" } output_map { key: "OUTPUT0" value: "mid" } },
  { model_name: "${second}" model_version: -1 input_map { key: "INPUT0" value: "mid" } output_map { key: "OUTPUT0" value: "OUTPUT0" } }
] }`;

describe('profiling the reference server’s ensembles', () => {
  let repo: TempRepository;
  let server: RunningServer;

  before(async () => {
    const onnx = identityModel('FP32');
    repo = await tempRepository({
      id_a: { config: identity('id_a'), onnx },
      id_b: { config: identity('id_b'), onnx },
      id_c: { config: identity('id_c'), onnx },
      inner: { config: ensemble('inner', 'id_a', 'id_b'), onnx: new Uint8Array() },
      outer: { config: ensemble('outer', 'inner', 'id_c'), onnx: new Uint8Array() },
    });
    server = await startServer({ modelRepository: repo.dir });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  it('prints and records every composing model with the ensemble’s request count', async () => {
    const r = await runProfile([
      '-m',
      'outer',
      '-u',
      server.httpUrl.replace('http://', ''),
      '--concurrency-range',
      '2',
      '--request-count',
      '60',
      '--json',
      'run.json',
      '-f',
      'out.csv',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const top = r.record?.levels[0]?.merged?.server;
    assert.equal(top?.model, 'outer');
    const n = top?.success.count ?? 0;
    assert.ok(n >= 60, `the server counted the window's requests (${n})`);
    assert.deepEqual(
      top?.composing.map((c) => [c.model, c.version, c.success.count]),
      [
        ['inner', '1', n],
        ['id_c', '1', n],
      ],
    );
    assert.deepEqual(
      top?.composing[0]?.composing.map((c) => [c.model, c.success.count]),
      [
        ['id_a', n],
        ['id_b', n],
      ],
    );
    assert.match(r.stdout, /\n {2}Composing models: \n {2}inner, version: 1\n/);
    assert.match(r.stdout, /\n {2}id_c, version: 1\n {6}Inference count: \d+\n/);
    for (const name of ['id_a', 'id_b', 'id_c']) {
      assert.ok(
        [...r.files.keys()].some((f) => f.includes(`${name}_v1`)),
        `a CSV for ${name}`,
      );
    }
  });
});
