/**
 * Ensembles on a real server with real ONNX Runtime models: chains, fan-out / fan-in, pruning by requested
 * outputs, dynamic batching inside a composing model under concurrent ensemble load, a failing step, Triton's
 * load-time validation of broken ensembles (the rest of the repository keeps serving), statistics and
 * Prometheus counts, and model control (a composing model unloaded takes its ensembles down and back up).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import {
  failingModel,
  identityModel,
  simpleAddSubModel,
  slowIdentityModel,
} from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  ModelInferRequestSchema,
  type ModelInferResponse,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import {
  grpcInferClient,
  http,
  postJson,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const ID_INT32 = identityModel('INT32');
const ID_FP32 = identityModel('FP32');

function identityConfig(name: string, datatype: string, dims: string, maxBatch = 8, extra = ''): string {
  return `name: "${name}" platform: "onnxruntime_onnx" max_batch_size: ${maxBatch}
input [ { name: "INPUT0" data_type: ${datatype} dims: ${dims} } ]
output [ { name: "OUTPUT0" data_type: ${datatype} dims: ${dims} } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
${extra}`;
}

interface Step {
  model: string;
  version?: number;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

function map(kind: 'input_map' | 'output_map', m: Record<string, string>): string {
  return Object.entries(m)
    .map(([k, v]) => `${kind} { key: "${k}" value: "${v}" }`)
    .join(' ');
}

function ensembleConfig(
  name: string,
  io: { inputs: string; outputs: string; maxBatch?: number },
  steps: Step[],
  extra = '',
): string {
  const stepText = steps
    .map(
      (s) =>
        `{ model_name: "${s.model}" model_version: ${s.version ?? -1} ${map('input_map', s.inputs)} ${map('output_map', s.outputs)} }`,
    )
    .join(',\n');
  return `name: "${name}" platform: "ensemble" max_batch_size: ${io.maxBatch ?? 8}
input [ ${io.inputs} ]
output [ ${io.outputs} ]
ensemble_scheduling { step [ ${stepText} ] }
${extra}`;
}

const INT16 = (n: string) => `{ name: "${n}" data_type: TYPE_INT32 dims: [ 16 ] }`;
const id = (model: string, from: string, to: string): Step => ({
  model,
  inputs: { INPUT0: from },
  outputs: { OUTPUT0: to },
});

/** A valid chain of `n` identity steps through one composing model (hostile size). */
function longChain(name: string, n: number): string {
  const steps = range(n, (i) => i).map((i) =>
    id('id_a', i === 0 ? 'IN' : `t${i}`, i === n - 1 ? 'OUT' : `t${i + 1}`),
  );
  return ensembleConfig(name, { inputs: INT16('IN'), outputs: INT16('OUT') }, steps);
}

const SLOW = slowIdentityModel({ iterations: 40, matrixSize: 128 });

const MODELS: Record<string, { config: string; onnx: Uint8Array }> = {
  id_a: { config: identityConfig('id_a', 'TYPE_INT32', '[ 16 ]'), onnx: ID_INT32 },
  id_b: { config: identityConfig('id_b', 'TYPE_INT32', '[ 16 ]'), onnx: ID_INT32 },
  id_c: { config: identityConfig('id_c', 'TYPE_INT32', '[ 16 ]'), onnx: ID_INT32 },
  simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() },
  ctl_model: { config: identityConfig('ctl_model', 'TYPE_FP32', '[ -1 ]'), onnx: ID_FP32 },
  slow: {
    config: `name: "slow" platform: "onnxruntime_onnx" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { max_queue_delay_microseconds: 2000000 preferred_batch_size: [ 4 ] }
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }`,
    onnx: SLOW,
  },
  fail: {
    config: `name: "fail" platform: "onnxruntime_onnx" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]`,
    onnx: failingModel(),
  },
};

const FP = (n: string, dims: string) => `{ name: "${n}" data_type: TYPE_FP32 dims: ${dims} }`;

const ENSEMBLES: Record<string, string> = {
  chain: ensembleConfig('chain', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    id('id_a', 'IN', 'MID'),
    id('id_b', 'MID', 'OUT'),
  ]),
  // IN0 fans out to id_a and id_c; id_a's and id_b's results fan in to simple.
  fan: ensembleConfig(
    'fan',
    {
      inputs: `${INT16('IN0')}, ${INT16('IN1')}`,
      outputs: `${INT16('SUM')}, ${INT16('DIFF')}, ${INT16('COPY')}`,
    },
    [
      id('id_a', 'IN0', 'A'),
      id('id_b', 'IN1', 'B'),
      { model: 'simple', inputs: { INPUT0: 'A', INPUT1: 'B' }, outputs: { OUTPUT0: 'SUM', OUTPUT1: 'DIFF' } },
      id('id_c', 'IN0', 'COPY'),
    ],
  ),
  ens_slow: ensembleConfig('ens_slow', { inputs: FP('IN', '[ 4 ]'), outputs: FP('OUT', '[ 4 ]') }, [
    id('slow', 'IN', 'OUT'),
  ]),
  ens_fail: ensembleConfig('ens_fail', { inputs: FP('IN', '[ -1 ]'), outputs: FP('OUT', '[ 4 ]') }, [
    id('fail', 'IN', 'OUT'),
  ]),
  ens_ctl: ensembleConfig('ens_ctl', { inputs: FP('IN', '[ -1 ]'), outputs: FP('OUT', '[ -1 ]') }, [
    id('ctl_model', 'IN', 'OUT'),
  ]),
  // Nested: an ensemble step that is itself an ensemble.
  nested: ensembleConfig('nested', { inputs: INT16('X'), outputs: INT16('Y') }, [
    id('chain', 'X', 'Y1'),
    id('id_c', 'Y1', 'Y'),
  ])
    .replace(/input_map \{ key: "INPUT0" value: "X" \}/, 'input_map { key: "IN" value: "X" }')
    .replace(/output_map \{ key: "OUTPUT0" value: "Y1" \}/, 'output_map { key: "OUT" value: "Y1" }'),
  long_chain: longChain('long_chain', 2_000),
  // Broken ones: each must be UNAVAILABLE with Triton's reason while everything else serves.
  bad_missing: ensembleConfig('bad_missing', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    id('ghost', 'IN', 'MID'),
    id('phantom', 'MID', 'OUT'),
  ]),
  bad_self: ensembleConfig('bad_self', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    id('bad_self', 'IN', 'OUT'),
  ]),
  bad_cycle_a: ensembleConfig('bad_cycle_a', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    { model: 'bad_cycle_b', inputs: { IN: 'IN' }, outputs: { OUT: 'OUT' } },
  ]),
  bad_cycle_b: ensembleConfig('bad_cycle_b', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    { model: 'bad_cycle_a', inputs: { IN: 'IN' }, outputs: { OUT: 'OUT' } },
  ]),
  bad_dtype: ensembleConfig('bad_dtype', { inputs: FP('IN', '[ 16 ]'), outputs: INT16('OUT') }, [
    id('id_a', 'IN', 'OUT'),
  ]),
  bad_shape: ensembleConfig(
    'bad_shape',
    { inputs: '{ name: "IN" data_type: TYPE_INT32 dims: [ 8 ] }', outputs: INT16('OUT') },
    [id('id_a', 'IN', 'OUT')],
  ),
  bad_double: ensembleConfig('bad_double', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    id('id_a', 'IN', 'OUT'),
    id('id_b', 'IN', 'OUT'),
  ]),
  bad_unmapped: ensembleConfig('bad_unmapped', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    { model: 'id_a', inputs: { NOPE: 'IN' }, outputs: { OUTPUT0: 'OUT' } },
  ]),
  bad_batch: ensembleConfig('bad_batch', { inputs: INT16('IN'), outputs: INT16('OUT'), maxBatch: 64 }, [
    id('id_a', 'IN', 'OUT'),
  ]),
  bad_version: ensembleConfig('bad_version', { inputs: INT16('IN'), outputs: INT16('OUT') }, [
    { ...id('id_a', 'IN', 'OUT'), version: 7 },
  ]),
  bad_long: longChain('bad_long', 10_000).replace('value: "OUT" }', 'value: "DANGLING" }'),
};

const EXPECTED_REASONS: Record<string, string> = {
  bad_missing: 'ensemble bad_missing contains models that are not available or ambiguous: ghost, phantom',
  bad_self: 'circular dependency between ensembles: bad_self -> ... -> bad_self -> bad_self',
  bad_cycle_a: 'circular dependency between ensembles: bad_cycle_a -> ... -> bad_cycle_b -> bad_cycle_a',
  bad_cycle_b: 'circular dependency between ensembles: bad_cycle_b -> ... -> bad_cycle_a -> bad_cycle_b',
  bad_dtype:
    'in ensemble bad_dtype, ensemble tensor IN: inconsistent data type: TYPE_FP32 is inferred from model bad_dtype while TYPE_INT32 is inferred from model id_a',
  bad_shape:
    'in ensemble bad_shape, ensemble tensor IN: inconsistent shape: [-1,8] is inferred from model bad_shape while [-1,16] is inferred from model id_a',
  bad_double: "ensemble tensor 'OUT' can appear in an output map only once for ensemble 'bad_double' step 1",
  bad_unmapped:
    'in ensemble bad_unmapped, ensemble tensor IN is mapping to non-existing input NOPE in model id_a',
  bad_batch:
    'ensemble bad_batch allows maximum batch size 64, but it contains model id_a which only allows maximum batch size to be 8',
  bad_version: "ensemble 'bad_version' depends on 'id_a' whose required version 7 is not loaded.",
  bad_long: "ensemble output 'OUT' for ensemble bad_long' is not used",
};

interface StatsEntry {
  name: string;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<string, { count: number; ns: number }>;
  batch_stats: { batch_size: number; compute_infer: { count: number } }[];
}

interface InferJson {
  outputs?: { name: string; shape: number[]; datatype: string; data: number[] }[];
  error?: string;
}

describe('ensembles on a real server', () => {
  let repo: TempRepository;
  let server: RunningServer;
  const infer = (model: string, body: unknown) =>
    postJson(`${server.httpUrl}/v2/models/${model}/infer`, body);
  const stats = async (model: string): Promise<StatsEntry> =>
    ((await http(`${server.httpUrl}/v2/models/${model}/stats`)).json() as { model_stats: StatsEntry[] })
      .model_stats[0] as StatsEntry;
  const index = async () =>
    (await postJson(`${server.httpUrl}/v2/repository/index`, {})).json() as {
      name: string;
      state?: string;
      reason?: string;
    }[];

  before(async () => {
    const models: Record<string, { config: string; onnx: Uint8Array }> = { ...MODELS };
    repo = await tempRepository(models);
    for (const [name, config] of Object.entries(ENSEMBLES)) {
      await repo.addModel(name, { config, onnx: new Uint8Array() });
    }
    // Explicit model control (all models at startup) so that the load/unload API is allowed.
    server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
  });

  after(async () => {
    await server?.stop({ timeoutMs: 10_000 });
    await repo?.remove();
  });

  it('broken ensembles are UNAVAILABLE with Triton reasons; every valid model is READY', async () => {
    const entries = await index();
    const byName = new Map(entries.map((e) => [e.name, e]));
    for (const [name, reason] of Object.entries(EXPECTED_REASONS)) {
      assert.equal(byName.get(name)?.state, 'UNAVAILABLE', name);
      assert.equal(byName.get(name)?.reason, reason, name);
    }
    for (const name of [
      ...Object.keys(MODELS),
      'chain',
      'fan',
      'ens_slow',
      'ens_fail',
      'nested',
      'long_chain',
    ]) {
      assert.equal(byName.get(name)?.state, 'READY', name);
    }
    const miss = await infer('bad_missing', { inputs: [] });
    assert.equal(miss.status, 404, 'an ensemble that failed to load has no version to serve');
  });

  it('a chain passes the tensor through and counts one request per model', async () => {
    const data = range(16, (i) => i * 3 - 7);
    const r = await infer('chain', {
      id: 'c1',
      inputs: [{ name: 'IN', datatype: 'INT32', shape: [1, 16], data }],
    });
    assert.equal(r.status, 200, r.text);
    const body = r.json() as InferJson & { id: string; model_name: string };
    assert.equal(body.id, 'c1');
    assert.equal(body.model_name, 'chain');
    assert.deepEqual(
      body.outputs?.map((o) => [o.name, o.shape, o.data]),
      [['OUT', [1, 16], data]],
    );
    const e = await stats('chain');
    assert.equal(e.inference_stats.success?.count, 1);
    assert.equal(e.inference_count, 1);
    assert.equal(e.execution_count, 1);
    assert.deepEqual(
      e.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[1, 1]],
    );
    // The ensemble's compute is what its two steps were charged (each > 0), its queue its own (tiny).
    const a = await stats('id_a');
    const b = await stats('id_b');
    assert.equal(
      e.inference_stats.compute_infer?.ns,
      (a.inference_stats.compute_infer?.ns ?? 0) + (b.inference_stats.compute_infer?.ns ?? 0),
    );
    assert.ok((e.inference_stats.success?.ns ?? 0) >= (e.inference_stats.compute_infer?.ns ?? 0));
  });

  it('fan-out and fan-in: independent steps, a step reading two branches, binary and JSON', async () => {
    const in0 = range(16, (i) => i + 100);
    const in1 = range(16, (i) => 2 * i);
    const before = await stats('simple');
    const r = await infer('fan', {
      inputs: [
        { name: 'IN0', datatype: 'INT32', shape: [1, 16], data: in0 },
        { name: 'IN1', datatype: 'INT32', shape: [1, 16], data: in1 },
      ],
    });
    assert.equal(r.status, 200, r.text);
    const outs = new Map((r.json() as InferJson).outputs?.map((o) => [o.name, o.data]));
    assert.deepEqual(
      outs.get('SUM'),
      in0.map((v, i) => v + (in1[i] as number)),
    );
    assert.deepEqual(
      outs.get('DIFF'),
      in0.map((v, i) => v - (in1[i] as number)),
    );
    assert.deepEqual(outs.get('COPY'), in0, 'IN0 fed two steps: each got intact data');
    assert.equal(
      (await stats('simple')).inference_stats.success?.count,
      (before.inference_stats.success?.count ?? 0) + 1,
    );
  });

  it('fan over gRPC: both inputs in one request body reach their own steps', async () => {
    const client = grpcInferClient(server.grpcUrl);
    try {
      const in0 = Int32Array.from(range(16, (i) => i - 8));
      const in1 = Int32Array.from(range(16, () => 5));
      const req = create(ModelInferRequestSchema, {
        modelName: 'fan',
        inputs: [
          { name: 'IN0', datatype: 'INT32', shape: [1n, 16n] },
          { name: 'IN1', datatype: 'INT32', shape: [1n, 16n] },
        ],
        rawInputContents: [new Uint8Array(in0.buffer), new Uint8Array(in1.buffer)],
      });
      const res = await new Promise<ModelInferResponse>((resolve, reject) =>
        client.ModelInfer(req, (err, out) => (err ? reject(err) : resolve(out as ModelInferResponse))),
      );
      const names = res.outputs.map((o) => o.name);
      const sum = new Int32Array(
        Uint8Array.from(res.rawOutputContents[names.indexOf('SUM')] as Uint8Array).buffer,
      );
      assert.deepEqual(
        [...sum],
        [...in0].map((v, i) => v + (in1[i] as number)),
      );
    } finally {
      client.close();
    }
  });

  it('requesting one output prunes the steps nobody needs', async () => {
    const before = await Promise.all(['id_a', 'id_b', 'simple', 'id_c'].map(stats));
    const data = range(16, (i) => i);
    const r = await infer('fan', {
      inputs: [
        { name: 'IN0', datatype: 'INT32', shape: [1, 16], data },
        { name: 'IN1', datatype: 'INT32', shape: [1, 16], data },
      ],
      outputs: [{ name: 'COPY' }],
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      (r.json() as InferJson).outputs?.map((o) => o.name),
      ['COPY'],
    );
    const after = await Promise.all(['id_a', 'id_b', 'simple', 'id_c'].map(stats));
    assert.deepEqual(
      after.map(
        (s, i) => (s.inference_stats.success?.count ?? 0) - (before[i]?.inference_stats.success?.count ?? 0),
      ),
      [0, 0, 0, 1],
    );
  });

  it('concurrent ensemble requests are dynamically batched inside the composing model', async () => {
    const replies = await Promise.all(
      [1, 2, 3, 4].map((v) =>
        infer('ens_slow', { inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 4], data: [v, v, v, v] }] }),
      ),
    );
    replies.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      assert.deepEqual((r.json() as InferJson).outputs?.[0]?.data, [i + 1, i + 1, i + 1, i + 1]);
    });
    const slow = await stats('slow');
    assert.deepEqual(
      slow.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[4, 1]],
    );
    assert.equal(slow.inference_count, 4);
    const ens = await stats('ens_slow');
    // Triton counts each ensemble request as one execution of its own batch size.
    assert.equal(ens.inference_stats.success?.count, 4);
    assert.equal(ens.execution_count, 4);
    assert.deepEqual(
      ens.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[1, 4]],
    );
    // Each request was charged the whole batch's compute, as the composing model reports it.
    assert.equal(ens.inference_stats.compute_infer?.ns, slow.inference_stats.compute_infer?.ns);
    const metrics = (await http(server.metricsUrl)).text;
    assert.match(metrics, /nv_inference_request_success\{model="ens_slow",version="1"\} 4\n/);
    assert.match(metrics, /nv_inference_exec_count\{model="ens_slow",version="1"\} 4\n/);
    assert.match(metrics, /nv_inference_exec_count\{model="slow",version="1"\} 1\n/);
    assert.match(metrics, /nv_inference_count\{model="slow",version="1"\} 4\n/);
  });

  it("a failing step fails the ensemble request with Triton's prefix; both models count the failure", async () => {
    const ok = await infer('ens_fail', {
      inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    assert.equal(ok.status, 200, ok.text);
    const bad = await infer('ens_fail', {
      id: 'f1',
      inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }],
    });
    assert.notEqual(bad.status, 200);
    const error = (bad.json() as InferJson).error ?? '';
    assert.ok(error.startsWith("in ensemble 'ens_fail', "), error);
    assert.match(error, /reshape/i);
    const ens = await stats('ens_fail');
    assert.equal(ens.inference_stats.success?.count, 1);
    assert.equal(ens.inference_stats.fail?.count, 1);
    assert.equal(ens.execution_count, 1, 'a failed request is not an execution');
    assert.equal((await stats('fail')).inference_stats.fail?.count, 1);
    const metrics = (await http(server.metricsUrl)).text;
    assert.match(metrics, /nv_inference_request_failure\{model="ens_fail",reason="OTHER",version="1"\} 1\n/);
    assert.match(metrics, /nv_inference_request_failure\{model="fail",reason="BACKEND",version="1"\} 1\n/);
  });

  it('nested ensembles and a 2,000-step chain run', async () => {
    const data = range(16, (i) => 50 - i);
    const nested = await infer('nested', {
      inputs: [{ name: 'X', datatype: 'INT32', shape: [1, 16], data }],
    });
    assert.equal(nested.status, 200, nested.text);
    assert.deepEqual((nested.json() as InferJson).outputs?.[0]?.data, data);
    const before = (await stats('id_a')).inference_stats.success?.count ?? 0;
    const long = await infer('long_chain', {
      inputs: [{ name: 'IN', datatype: 'INT32', shape: [1, 16], data }],
    });
    assert.equal(long.status, 200, long.text);
    assert.deepEqual((long.json() as InferJson).outputs?.[0]?.data, data);
    assert.equal((await stats('id_a')).inference_stats.success?.count, before + 2_000);
  });

  it('unloading a composing model takes the ensemble down; loading it brings the ensemble back', async () => {
    const body = { inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    const first = await infer('ens_ctl', body);
    assert.equal(first.status, 200, first.text);
    const unloaded = await postJson(`${server.httpUrl}/v2/repository/models/ctl_model/unload`, {});
    assert.equal(unloaded.status, 200, unloaded.text);
    const down = (await index()).find((e) => e.name === 'ens_ctl');
    assert.equal(down?.state, 'UNAVAILABLE');
    assert.equal(down?.reason, "unloaded: composing model 'ctl_model' was unloaded");
    const refused = await infer('ens_ctl', body);
    assert.equal(refused.status, 404);
    assert.equal(
      (refused.json() as InferJson).error,
      "Request for unknown model: 'ens_ctl' has no available versions",
    );
    const loaded = await postJson(`${server.httpUrl}/v2/repository/models/ctl_model/load`, {});
    assert.equal(loaded.status, 200, loaded.text);
    assert.equal((await index()).find((e) => e.name === 'ens_ctl')?.state, 'READY');
    assert.equal((await infer('ens_ctl', body)).status, 200);
  });

  it('unload_dependents unloads composing models the ensemble pulled in, not explicitly loaded ones', async () => {
    const unload = (name: string, dependents: boolean) =>
      postJson(`${server.httpUrl}/v2/repository/models/${name}/unload`, {
        parameters: { unload_dependents: dependents },
      });
    const state = async (name: string) => (await index()).find((e) => e.name === name)?.state;
    // ctl_model was loaded by name: it stays.
    assert.equal((await unload('ens_ctl', true)).status, 200);
    assert.equal(await state('ens_ctl'), 'UNAVAILABLE', 'ensemble unloaded');
    assert.equal(await state('ctl_model'), 'READY', 'explicitly loaded composing model stays');
    // Loading the ensemble pulls in its unloaded composing model; unload_dependents then takes it along.
    assert.equal((await unload('ctl_model', false)).status, 200);
    assert.equal((await postJson(`${server.httpUrl}/v2/repository/models/ens_ctl/load`, {})).status, 200);
    assert.equal(await state('ctl_model'), 'READY', 'pulled in by the ensemble');
    assert.equal(await state('ens_ctl'), 'READY', 'ensemble loaded');
    assert.equal((await unload('ens_ctl', true)).status, 200);
    assert.equal(await state('ctl_model'), 'UNAVAILABLE');
  });
});

describe('ensembles under --model-control-mode=explicit --load-model=<ensemble>', () => {
  it('loading only the ensemble loads its composing models too; others stay unloaded', async () => {
    const repo = await tempRepository({
      ctl_model: MODELS.ctl_model as { config: string; onnx: Uint8Array },
      id_a: MODELS.id_a as { config: string; onnx: Uint8Array },
    });
    await repo.addModel('ens_ctl', { config: ENSEMBLES.ens_ctl as string, onnx: new Uint8Array() });
    const server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['ens_ctl'],
    });
    try {
      const entries = (await postJson(`${server.httpUrl}/v2/repository/index`, {})).json() as {
        name: string;
        state?: string;
      }[];
      assert.deepEqual(
        entries.map((e) => [e.name, e.state ?? '-']),
        [
          ['ctl_model', 'READY'],
          ['ens_ctl', 'READY'],
          ['id_a', '-'],
        ],
        'id_a is listed, never loaded',
      );
      const r = await postJson(`${server.httpUrl}/v2/models/ens_ctl/infer`, {
        inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 2], data: [5, 6] }],
      });
      assert.deepEqual((r.json() as InferJson).outputs?.[0]?.data, [5, 6]);
    } finally {
      await server.stop({ timeoutMs: 10_000 });
      await repo.remove();
    }
  });
});
