/**
 * `--model-control-mode none|poll|explicit` (Triton's meaning): the repository load/unload API is refused
 * outside explicit mode with Triton's 503 text, explicit mode loads only `--load-model` names, poll mode
 * follows the repository on disk. Against real servers with Triton's `simple` model.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { type Client, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { startRepositoryPoller } from '../../../embedded-server/src/core/repository-poller.ts';
import { type RunningServer, startServer } from '../../../embedded-server/src/index.ts';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { parseServeArgs, ServeOptionError } from '../../../embedded-server/src/serve-options.ts';
import { startEmbeddedServerProcess } from '../../../src/cli/embedded-process.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import {
  RepositoryModelLoadRequestSchema,
  RepositoryModelUnloadRequestSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import { inferenceServiceDefinition } from '../../../src/protocol/grpc-service.ts';
import {
  http,
  postJson,
  range,
  SIMPLE_CONFIG,
  type TempRepository,
  tempRepository,
} from '../../helpers/real-server.ts';

const REFUSAL = 'explicit model load / unload is not allowed if polling is enabled';

function simpleInputs(): unknown[] {
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: range(16) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: range(16) },
  ];
}

function configOf(name: string): string {
  return SIMPLE_CONFIG.replace('name: "simple"', `name: "${name}"`);
}

type GrpcRepoClient = Client & {
  RepositoryModelLoad: (req: unknown, cb: (err: ServiceError | null) => void) => void;
  RepositoryModelUnload: (req: unknown, cb: (err: ServiceError | null) => void) => void;
};

function grpcRepoClient(url: string): GrpcRepoClient {
  const Ctor = makeGenericClientConstructor(inferenceServiceDefinition, 'GRPCInferenceService');
  return new Ctor(url, credentials.createInsecure()) as unknown as GrpcRepoClient;
}

function grpcCall(
  client: GrpcRepoClient,
  method: 'RepositoryModelLoad' | 'RepositoryModelUnload',
  modelName: string,
): Promise<ServiceError | null> {
  const request =
    method === 'RepositoryModelLoad'
      ? create(RepositoryModelLoadRequestSchema, { modelName })
      : create(RepositoryModelUnloadRequestSchema, { modelName });
  return new Promise((resolve) => client[method](request, (err) => resolve(err)));
}

function parseError(argv: string[]): string {
  try {
    parseServeArgs(argv);
  } catch (e) {
    assert.ok(e instanceof ServeOptionError, String(e));
    assert.equal(e.exitCode, 3);
    return e.message;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

describe('serve --model-control-mode flags', () => {
  it('defaults to none, with no --load-model and a 15 s poll interval', () => {
    const parsed = parseServeArgs([]);
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.options.modelControlMode, 'none');
    assert.deepEqual(parsed.options.loadModels, []);
    assert.equal(parsed.options.repositoryPollSecs, 15);
  });

  it('accepts explicit with repeated --load-model, and poll with an interval', () => {
    const explicit = parseServeArgs([
      '--model-control-mode',
      'explicit',
      '--load-model',
      'a',
      '--load-model',
      'b',
    ]);
    assert.ok(explicit.kind === 'run');
    assert.deepEqual(explicit.options.loadModels, ['a', 'b']);
    const poll = parseServeArgs(['--model-control-mode', 'poll', '--repository-poll-secs', '2']);
    assert.ok(poll.kind === 'run');
    assert.equal(poll.options.repositoryPollSecs, 2);
  });

  it('refuses hostile or contradictory values with a one-line reason (exit 3)', () => {
    assert.match(parseError(['--model-control-mode', 'all']), /Allowed choices are none, poll, explicit/);
    assert.match(parseError(['--load-model', 'simple']), /--load-model' needs --model-control-mode explicit/);
    assert.match(
      parseError(['--model-control-mode', 'explicit', '--load-model', '*', '--load-model', 'a']),
      /must be the only --load-model/,
    );
    for (const bad of ['', '../etc', 'a/b', '..']) {
      assert.match(
        parseError(['--model-control-mode', 'explicit', '--load-model', bad]),
        /model directory name/,
      );
    }
    for (const bad of ['0', '-1', '86401', '1e9', 'soon']) {
      assert.match(
        parseError(['--model-control-mode', 'poll', '--repository-poll-secs', bad]),
        /expected whole seconds 1-86400/,
      );
    }
    assert.match(parseError(['--repository-poll-secs', '5']), /needs --model-control-mode poll/);
  });
});

describe('model control mode none (the default)', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let grpc: GrpcRepoClient;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
    server = await startServer({ modelRepository: repo.dir });
    grpc = grpcRepoClient(server.grpcUrl);
  });
  after(async () => {
    grpc?.close();
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it("loads every model and refuses load and unload with 503 and Triton's text, over HTTP and gRPC", async () => {
    assert.equal(
      (await postJson(`${server.httpUrl}/v2/models/simple/infer`, { inputs: simpleInputs() })).status,
      200,
    );
    for (const op of ['load', 'unload']) {
      const r = await http(`${server.httpUrl}/v2/repository/models/simple/${op}`, { method: 'POST' });
      assert.equal(r.status, 503, r.text);
      assert.deepEqual(r.json(), { error: REFUSAL });
    }
    const overridden = await postJson(`${server.httpUrl}/v2/repository/models/simple/load`, {
      parameters: { config: JSON.stringify({ max_batch_size: 1 }) },
    });
    assert.equal(overridden.status, 503, 'a config override is refused before it is even parsed');
    for (const method of ['RepositoryModelLoad', 'RepositoryModelUnload'] as const) {
      const err = await grpcCall(grpc, method, 'simple');
      assert.equal(err?.code, 14, `${method}: UNAVAILABLE`);
      assert.equal(err?.details, REFUSAL);
    }
    // Still serving: the refused unload changed nothing.
    assert.equal(
      (await postJson(`${server.httpUrl}/v2/models/simple/infer`, { inputs: simpleInputs() })).status,
      200,
    );
  });
});

describe('model control mode explicit', () => {
  let repo: TempRepository;
  before(async () => {
    repo = await tempRepository({
      simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() },
      other: { config: configOf('other'), onnx: simpleAddSubModel() },
    });
  });
  after(async () => {
    await repo?.remove();
  });

  it('loads only the --load-model names; the others are listed by name and load over the API', async () => {
    const server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['other'],
    });
    try {
      const index = (await http(`${server.httpUrl}/v2/repository/index`, { method: 'POST' })).json();
      assert.deepEqual(index, [{ name: 'other', version: '1', state: 'READY' }, { name: 'simple' }]);
      assert.equal(
        (await http(`${server.httpUrl}/v2/health/ready`)).status,
        200,
        'not loading is not failing',
      );
      const before = await postJson(`${server.httpUrl}/v2/models/simple/infer`, { inputs: simpleInputs() });
      assert.equal(before.status, 404);
      const load = await http(`${server.httpUrl}/v2/repository/models/simple/load`, { method: 'POST' });
      assert.equal(load.status, 200, load.text);
      assert.equal(
        (await postJson(`${server.httpUrl}/v2/models/simple/infer`, { inputs: simpleInputs() })).status,
        200,
      );
    } finally {
      await server.stop({ timeoutMs: 5000 });
    }
  });

  it('loads nothing without --load-model, everything with *', async () => {
    const none = await startServer({ modelRepository: repo.dir, modelControlMode: 'explicit' });
    try {
      assert.deepEqual(none.core.repositoryIndex(true), []);
    } finally {
      await none.stop({ timeoutMs: 5000 });
    }
    const all = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'explicit',
      loadModels: ['*'],
    });
    try {
      assert.deepEqual(
        all.core.repositoryIndex(true).map((e) => e.name),
        ['other', 'simple'],
      );
    } finally {
      await all.stop({ timeoutMs: 5000 });
    }
  });

  it('the serve process (what the CLI and benchmarks spawn) takes the mode through serveArgs', async () => {
    const proc = await startEmbeddedServerProcess({
      modelRepository: repo.dir,
      serveArgs: ['--model-control-mode', 'explicit', '--load-model', 'simple'],
    });
    try {
      const index = (await http(`${proc.httpUrl}/v2/repository/index`, { method: 'POST' })).json();
      assert.deepEqual(index, [{ name: 'other' }, { name: 'simple', version: '1', state: 'READY' }]);
      const load = await postJson(`${proc.httpUrl}/v2/repository/models/other/load`, {
        parameters: { config: JSON.stringify({ name: 'other', max_batch_size: 4 }) },
      });
      assert.equal(load.status, 200, load.text);
      const config = (await http(`${proc.httpUrl}/v2/models/other/config`)).json() as {
        max_batch_size: number;
      };
      assert.equal(config.max_batch_size, 4, 'the config override was applied');
    } finally {
      await proc.stop();
    }
  });

  it('fails startup for a --load-model the repository does not have', async () => {
    await assert.rejects(
      startServer({
        modelRepository: repo.dir,
        modelControlMode: 'explicit',
        loadModels: ['simple', 'nothere'],
      }),
      /failed to load 'nothere', failed to poll from model repository/,
    );
  });
});

describe('model control mode poll', () => {
  let repo: TempRepository;
  let server: RunningServer;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
    // A long interval: the test drives polls itself with pollNow().
    server = await startServer({
      modelRepository: repo.dir,
      modelControlMode: 'poll',
      repositoryPollSecs: 3600,
    });
  });
  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
  });

  it('refuses the load API, loads a new model, reloads a changed one and unloads a removed one', async () => {
    const refused = await http(`${server.httpUrl}/v2/repository/models/simple/unload`, { method: 'POST' });
    assert.equal(refused.status, 503);
    assert.ok(server.poller, 'poll mode has a poller');

    await repo.addModel('added', { config: configOf('added'), onnx: simpleAddSubModel() });
    await server.poller.pollNow();
    assert.equal(
      (await postJson(`${server.httpUrl}/v2/models/added/infer`, { inputs: simpleInputs() })).status,
      200,
    );

    await writeFile(
      join(repo.dir, 'added', 'config.pbtxt'),
      configOf('added').replace('max_batch_size: 8', 'max_batch_size: 2'),
    );
    await server.poller.pollNow();
    const config = (await http(`${server.httpUrl}/v2/models/added/config`)).json() as {
      max_batch_size: number;
    };
    assert.equal(config.max_batch_size, 2, 'the changed config was reloaded');

    await rm(join(repo.dir, 'added'), { recursive: true });
    await server.poller.pollNow();
    const gone = await postJson(`${server.httpUrl}/v2/models/added/infer`, { inputs: simpleInputs() });
    assert.equal(gone.status, 404);
    // The untouched model was never reloaded or unloaded.
    assert.equal(
      (await postJson(`${server.httpUrl}/v2/models/simple/infer`, { inputs: simpleInputs() })).status,
      200,
    );
  });

  it('polls on its interval through the injected clock, and not after stop', async () => {
    const clock = new FakeClock();
    const loads: string[] = [];
    let loaded: () => void = () => undefined;
    const firstLoad = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const poller = await startRepositoryPoller({
      repositoryDir: repo.dir,
      intervalSecs: 10,
      clock,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      models: {
        loadModel: async (name) => {
          loads.push(name);
          loaded();
        },
        unloadModel: async () => undefined,
      },
    });
    try {
      await repo.addModel('later', { config: configOf('later'), onnx: simpleAddSubModel() });
      clock.advanceNs(9e9);
      assert.equal(clock.pendingTimers(), 1, 'one poll armed');
      assert.deepEqual(loads, [], 'no poll before the interval');
      clock.advanceNs(1e9);
      await firstLoad;
      assert.deepEqual(loads, ['later']);
    } finally {
      await poller.stop();
      await rm(join(repo.dir, 'later'), { recursive: true });
    }
    assert.equal(clock.pendingTimers(), 0, 'a stopped poller leaves no timer armed');
  });
});
