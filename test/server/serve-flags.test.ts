/**
 * `inferbench serve --disable-auto-complete-config` and `--log-verbose`, through the serve command itself
 * (flag → startServer → backend), against a repository written here with Triton's `simple` model.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { runServeCommand } from '../../embedded-server/src/serve.ts';
import {
  http,
  postJson,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../helpers/real-server.ts';

/** A config with inputs but no outputs: Triton's autocomplete fills the outputs and adds dynamic batching. */
const NO_OUTPUTS_CONFIG = `
name: "no_outputs"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
`;

/** No inputs, no outputs, no max_batch_size: only autocomplete can make this servable. */
const BARE_CONFIG = `
name: "bare"
platform: "onnxruntime_onnx"
instance_group [ { count: 1 kind: KIND_CPU } ]
`;

/** Complete but wrong: the graph's inputs are [batch,16], the config says 8. */
const WRONG_DIMS_CONFIG = SIMPLE_CONFIG.replace('name: "simple"', 'name: "wrong_dims"').replaceAll(
  'dims: [ 16 ]',
  'dims: [ 8 ]',
);

interface Served {
  server: RunningServer;
  stderr: () => string;
  /** SIGTERM, resolves with the exit code. */
  stop: () => Promise<number>;
}

async function serve(args: string[]): Promise<Served> {
  let err = '';
  let signal: ((s: string) => void) | undefined;
  let started: (s: RunningServer) => void = () => undefined;
  const up = new Promise<RunningServer>((resolve) => {
    started = resolve;
  });
  const exitCode = runServeCommand(
    [...args, '--http-port', '0', '--grpc-port', '0', '--metrics-port', '0', '--exit-timeout-secs', '10'],
    {
      stdout: () => undefined,
      stderr: (t) => {
        err += t;
      },
      exit: () => undefined,
      onSignal: (h) => {
        signal = h;
        return () => {
          signal = undefined;
        };
      },
      onStarted: started,
    },
  );
  const server = await Promise.race([
    up,
    exitCode.then((c) => {
      throw new Error(`serve exited with ${c}: ${err}`);
    }),
  ]);
  return {
    server,
    stderr: () => err,
    stop: async () => {
      signal?.('SIGTERM');
      return exitCode;
    },
  };
}

interface IndexEntry {
  name: string;
  state?: string;
  reason?: string;
}

async function index(server: RunningServer): Promise<Map<string, IndexEntry>> {
  const r = await http(`${server.httpUrl}/v2/repository/index`, { method: 'POST' });
  return new Map((r.json() as IndexEntry[]).map((e) => [e.name, e]));
}

interface ConfigJson {
  max_batch_size: number;
  input: { name: string }[];
  output: { name: string }[];
  dynamic_batching?: unknown;
  version_policy: unknown;
  instance_group: { name: string; count: number; kind: string }[];
  optimization: { input_pinned_memory: { enable: boolean } };
  backend: string;
}

async function config(server: RunningServer, model: string): Promise<ConfigJson> {
  const r = await http(`${server.httpUrl}/v2/models/${model}/config`);
  assert.equal(r.status, 200, r.text);
  return r.json() as ConfigJson;
}

function simpleInputs(batch: number) {
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16], data: range(16 * batch) },
    { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16], data: range(16 * batch, () => 1) },
  ];
}

describe('serve --disable-auto-complete-config', () => {
  let repo: TempRepository;
  before(async () => {
    const onnx = simpleAddSubModel();
    repo = await tempRepository({
      noconfig: { onnx },
      no_outputs: { config: NO_OUTPUTS_CONFIG, onnx },
      bare: { config: BARE_CONFIG, onnx },
      wrong_dims: { config: WRONG_DIMS_CONFIG, onnx },
    });
  });
  after(async () => {
    await repo?.remove();
  });

  it('default: a model without config and partial configs are completed from the graph', async () => {
    const s = await serve(['--model-repository', repo.dir]);
    try {
      const models = await index(s.server);
      assert.equal(models.get('noconfig')?.state, 'READY', JSON.stringify(models.get('noconfig')));
      assert.equal(models.get('no_outputs')?.state, 'READY');
      assert.equal(models.get('bare')?.state, 'READY');
      assert.equal(models.get('wrong_dims')?.state, 'UNAVAILABLE');
      const noconfig = await config(s.server, 'noconfig');
      assert.equal(noconfig.max_batch_size, 4);
      assert.deepEqual(
        noconfig.output.map((o) => o.name),
        ['OUTPUT0', 'OUTPUT1'],
      );
      assert.ok(noconfig.dynamic_batching, 'autocomplete adds dynamic_batching');
      const noOutputs = await config(s.server, 'no_outputs');
      assert.deepEqual(
        noOutputs.output.map((o) => o.name),
        ['OUTPUT0', 'OUTPUT1'],
      );
      assert.ok(noOutputs.dynamic_batching);
      assert.equal((await config(s.server, 'bare')).max_batch_size, 4);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  it('disabled: no config fails with a clear message, partial configs are served as written', async () => {
    const s = await serve(['--model-repository', repo.dir, '--disable-auto-complete-config']);
    try {
      const models = await index(s.server);
      const noconfig = models.get('noconfig');
      assert.equal(noconfig?.state, 'UNAVAILABLE');
      assert.equal(
        noconfig?.reason,
        `failed to open text file for read ${join(repo.dir, 'noconfig', 'config.pbtxt')}: No such file or directory ` +
          '(auto-complete is disabled by --disable-auto-complete-config, so every model needs a config.pbtxt)',
      );
      assert.match(s.stderr(), /E Poll failed for model directory 'noconfig': failed to open text file/);

      // Not completed, still checked against the graph: the ORT backend's instance-load validation.
      assert.equal(models.get('bare')?.state, 'UNAVAILABLE');
      assert.equal(
        models.get('bare')?.reason,
        "unable to load model 'bare', configuration expects 0 inputs, model provides 2",
      );
      assert.equal(models.get('wrong_dims')?.state, 'UNAVAILABLE');
      assert.match(models.get('wrong_dims')?.reason ?? '', /tensor 'INPUT0': the model expects 2 dimensions/);

      // Served as written, plus Triton's normalisation (which happens regardless).
      assert.equal(models.get('no_outputs')?.state, 'READY', JSON.stringify(models.get('no_outputs')));
      const c = await config(s.server, 'no_outputs');
      assert.equal(c.max_batch_size, 8);
      assert.deepEqual(c.output, []);
      assert.equal(c.dynamic_batching, undefined, 'no dynamic_batching added');
      assert.deepEqual(
        c.input.map((i) => i.name),
        ['INPUT0', 'INPUT1'],
      );
      assert.equal(c.backend, 'onnxruntime');
      assert.deepEqual(c.version_policy, { latest: { num_versions: 1 } });
      assert.deepEqual(
        c.instance_group.map((g) => [g.name, g.count, g.kind]),
        [['no_outputs_0', 1, 'KIND_CPU']],
      );
      assert.equal(c.optimization.input_pinned_memory.enable, true);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe('serve --log-verbose', () => {
  let repo: TempRepository;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
  });
  after(async () => {
    await repo?.remove();
  });

  async function exercise(s: Served): Promise<void> {
    const url = `${s.server.httpUrl}/v2/models/simple/infer`;
    const ok = await postJson(url, { id: 'req-ok', inputs: simpleInputs(2) });
    assert.equal(ok.status, 200, ok.text);
    const bad = await postJson(url, { id: 'req-bad', inputs: simpleInputs(1).slice(0, 1) });
    assert.equal(bad.status, 400, bad.text);
    const unload = await http(`${s.server.httpUrl}/v2/repository/models/simple/unload`, { method: 'POST' });
    assert.equal(unload.status, 200, unload.text);
  }

  it('1: logs load and unload steps with details and one line per request', async () => {
    // explicit mode: exercise() unloads over the repository API, which the default mode refuses.
    const s = await serve([
      '--model-repository',
      repo.dir,
      '--model-control-mode',
      'explicit',
      '--load-model',
      '*',
      '--log-verbose',
      '1',
    ]);
    try {
      await exercise(s);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const err = s.stderr();
    assert.match(err, /^I loading model 'simple'$/m);
    assert.match(
      err,
      /^I model 'simple': config from .*config\.pbtxt, auto-complete on; effective config: \{"name":"simple"/m,
    );
    assert.match(err, /^I loading 'simple' version 1 from .*model\.onnx$/m);
    assert.match(err, /^I model 'simple' version 1: creating instance simple_0_0 \(KIND_CPU, device 0\)/m);
    assert.match(err, /^I model 'simple' version 1: instance simple_0_0 created in \d+\.\d ms$/m);
    assert.match(err, /^I 'simple' version 1 is READY after \d+\.\d ms$/m);
    assert.match(err, /^I infer model 'simple' version 1 id 'req-ok' batch 2: OK$/m);
    assert.match(err, /^I infer model 'simple' version 1 id 'req-bad' batch -: INVALID_ARG$/m);
    assert.match(err, /^I unloading model 'simple': version\(s\) 1$/m);
    assert.match(err, /^I unloading 'simple' version 1: stopped accepting requests, draining \(0 queued\)$/m);
    assert.match(err, /^I unloading 'simple' version 1: closing instances$/m);
  });

  it('0 (the default): none of those lines', async () => {
    const s = await serve([
      '--model-repository',
      repo.dir,
      '--model-control-mode',
      'explicit',
      '--load-model',
      '*',
    ]);
    try {
      await exercise(s);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const err = s.stderr();
    assert.match(err, /^I successfully loaded 'simple' version 1$/m, 'the ordinary info lines stay');
    assert.doesNotMatch(
      err,
      /^I (infer model|loading model|loading 'simple'|unloading model)|creating instance|effective config|draining/m,
    );
  });
});
