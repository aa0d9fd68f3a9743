import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ensembleSteps, resolveComposingModels } from '../../../src/cli/composing-models.ts';
import { type ModelConfig, ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import { ServerApiError } from '../../../src/transport/server-api.ts';

function ensemble(name: string, steps: [string, bigint][]): ModelConfig {
  return create(ModelConfigSchema, {
    name,
    platform: 'ensemble',
    schedulingChoice: {
      case: 'ensembleScheduling',
      value: { step: steps.map(([modelName, modelVersion]) => ({ modelName, modelVersion })) },
    },
  });
}

describe('composing models from ensemble configs', () => {
  it('reads the steps: -1 = any version, a repeated step counts once, a plain model has none', () => {
    assert.deepEqual(
      ensembleSteps(
        ensemble('e', [
          ['pre', -1n],
          ['net', 2n],
          ['pre', -1n],
        ]),
      ),
      [
        { name: 'pre', version: '' },
        { name: 'net', version: '2' },
      ],
    );
    assert.deepEqual(ensembleSteps(create(ModelConfigSchema, { name: 'plain' })), []);
    assert.deepEqual(ensembleSteps(undefined), []);
  });

  it('follows nested ensembles through their configs; an unreadable config is a leaf; loops stop', async () => {
    const configs: Record<string, ModelConfig> = {
      inner: ensemble('inner', [['net', -1n]]),
      loop: ensemble('loop', [['outer', -1n]]),
      outer: ensemble('outer', [['loop', -1n]]),
    };
    const asked: string[] = [];
    const api = {
      modelConfig: async (name: string, version: string) => {
        asked.push(`${name}:${version}`);
        const config = configs[name];
        if (!config) throw new ServerApiError('not_found', `unknown model ${name}`);
        return config;
      },
    };
    const tree = await resolveComposingModels(
      api,
      ensemble('top', [
        ['pre', -1n],
        ['inner', 1n],
      ]),
    );
    assert.deepEqual(tree, [
      { name: 'pre', version: '', composing: [] },
      { name: 'inner', version: '1', composing: [{ name: 'net', version: '', composing: [] }] },
    ]);
    assert.deepEqual(asked, ['pre:', 'inner:1', 'net:']);
    const looped = await resolveComposingModels(api, configs.outer);
    assert.equal(looped[0]!.name, 'loop');
    assert.equal(looped[0]!.composing[0]!.name, 'outer');
    assert.deepEqual(
      looped[0]!.composing[0]!.composing,
      [{ name: 'loop', version: '', composing: [] }],
      'a model already on the path is not followed again',
    );
  });
});
