import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { createServerCore } from '../../../embedded-server/src/core/inference-core.ts';
import type {
  ModelBackend,
  ModelSource,
  VersionRuntime,
} from '../../../embedded-server/src/core/model-backend.ts';
import { ModelStatsRecorder } from '../../../embedded-server/src/stats/model-stats.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { InferenceError } from '../../../src/protocol/status.ts';

const CONFIG = (name: string) =>
  fromText(
    ModelConfigSchema,
    `name: "${name}" backend: "onnxruntime" platform: "onnxruntime_onnx" max_batch_size: 0
    input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]`,
  );

/** A backend over an in-memory repository; `failLoad` names versions whose load fails. */
function fakeBackend(
  models: Record<string, string[]>,
  failLoad = new Set<string>(),
): ModelBackend & { closed: string[] } {
  const closed: string[] = [];
  return {
    closed,
    listModels: async () => Object.keys(models),
    readModel: async (name): Promise<ModelSource> => {
      if (name === 'badconfig') throw new InferenceError('INVALID_ARG', 'model input must specify dims');
      return {
        name,
        config: CONFIG(name),
        versions: (models[name] ?? []).map((v) => ({ version: v, modelPath: `/x/${v}` })),
      };
    },
    loadVersion: async (model, v): Promise<VersionRuntime> => {
      if (failLoad.has(`${model.name}:${v.version}`)) throw new Error('ORT says no');
      return {
        stats: new ModelStatsRecorder(new FakeClock()),
        infer: async (r) => ({ id: r.id, modelName: r.modelName, modelVersion: v.version, outputs: [] }),
        pendingCount: () => 0,
        stopAccepting: () => undefined,
        drain: async () => undefined,
        close: async () => {
          closed.push(`${model.name}:${v.version}`);
        },
      };
    },
  };
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function notFound(message: string) {
  return (e: unknown) => e instanceof InferenceError && e.code === 'NOT_FOUND' && e.message === message;
}

describe('server core: lifecycle and version resolution', () => {
  it('resolves latest READY version, reports Triton texts for unknown and unready versions', async () => {
    const backend = fakeBackend({ m: ['1', '2', '3'], badconfig: ['1'] }, new Set(['m:3']));
    const core = createServerCore({ backend, clock: new FakeClock(), log: quiet });
    await core.start();
    assert.equal(core.isLive(), true);
    assert.equal(core.isReady(), false, 'strict readiness: m:3 and badconfig failed');
    assert.deepEqual(core.modelMetadata('m', '').versions, ['1', '2']);
    assert.equal(core.modelConfig('m', '').name, 'm');
    assert.equal(core.modelReady('m', '3'), false);
    assert.throws(
      () => core.modelMetadata('nope', ''),
      notFound("Request for unknown model: 'nope' is not found"),
    );
    assert.throws(
      () => core.modelMetadata('m', '9'),
      notFound("Request for unknown model: 'm' version 9 is not found"),
    );
    assert.throws(
      () => core.modelMetadata('m', '3'),
      (e: unknown) =>
        e instanceof InferenceError &&
        e.code === 'UNAVAILABLE' &&
        e.message === "Request for unknown model: 'm' version 3 is not at ready state",
    );
    assert.deepEqual(core.repositoryIndex(false), [
      { name: 'badconfig', state: 'UNAVAILABLE', reason: 'model input must specify dims' },
      { name: 'm', version: '1', state: 'READY' },
      { name: 'm', version: '2', state: 'READY' },
      { name: 'm', version: '3', state: 'UNAVAILABLE', reason: 'ORT says no' },
    ]);
    assert.deepEqual(core.repositoryIndex(true).length, 2);
    assert.throws(
      () => core.modelStatistics('badconfig', ''),
      (e: unknown) =>
        e instanceof InferenceError && e.message === "requested model 'badconfig' is not available",
    );
    assert.deepEqual(
      core.modelStatistics('', '').map((s) => `${s.name}:${s.version}`),
      ['m:1', 'm:2'],
    );
    await core.shutdown(1000);
  });

  it('a non-strict server is ready with failed models; shutdown closes every instance and flips liveness', async () => {
    const backend = fakeBackend({ a: ['1'], b: ['1'] }, new Set(['b:1']));
    const core = createServerCore({ backend, clock: new FakeClock(), log: quiet, strictReadiness: false });
    await core.start();
    assert.equal(core.isReady(), true);
    const response = await core.infer({
      id: 'q',
      modelName: 'a',
      modelVersion: '',
      inputs: [{ name: 'X', datatype: 'FP32', shape: [1], data: new Uint8Array(4) }],
      outputs: [],
      parameters: {},
      priority: 0,
      timeoutUs: 0,
      binaryDataOutput: false,
      receivedNs: 0,
    });
    assert.equal(response.modelVersion, '1');
    assert.equal(await core.shutdown(1000), true);
    assert.equal(core.isLive(), false);
    assert.equal(core.isExiting(), true);
    assert.deepEqual(backend.closed, ['a:1']);
  });

  it('load: unknown model and failed versions give Triton texts; unload is idempotent', async () => {
    const backend = fakeBackend({ a: ['1'] });
    // explicit mode with every model: the repository API is allowed (the default mode refuses it).
    const core = createServerCore({
      backend,
      clock: new FakeClock(),
      log: quiet,
      modelControl: { mode: 'explicit', loadModels: ['*'] },
    });
    await core.start();
    await assert.rejects(core.loadModel('zzz'), {
      message: "failed to load 'zzz', failed to poll from model repository",
    });
    await core.unloadModel('a');
    await core.unloadModel('a');
    assert.deepEqual(core.repositoryIndex(false), [
      { name: 'a', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    assert.equal(core.isReady(), true, 'explicitly unloaded versions do not break strict readiness');
    await core.loadModel('a');
    assert.equal(core.modelReady('a', '1'), true);
    await core.shutdown(1000);
  });
});
