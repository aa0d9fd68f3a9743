import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromText } from '@bufbuild/protobuf/txtpb';
import {
  configToFlags,
  flagsToConfig,
  mergeFlags,
  mergeModelConfigText,
} from '../../../src/config/config-flags.ts';
import { parseBenchConfig } from '../../../src/config/load-config.ts';
import { materializeConfigOverrides } from '../../../src/config/materialize-overrides.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';

describe('config → flags', () => {
  it('maps every kind of key onto the flag attribute commander would have produced', () => {
    const flags = configToFlags(
      parseBenchConfig(
        [
          'model: simple',
          'url: localhost:8001',
          'protocol: grpc',
          'batchSize: 4',
          'concurrencyRange: {start: 2, end: 8, step: 2}',
          'measurementInterval: 1500',
          'stabilityPercentage: 12.5',
          'inputData: zero',
          'shape: {x: [3, 48, 192]}',
          'headers: {X-Team: perf}',
          'csv: out.csv',
          'verbose: true',
          'progress: false',
          'thresholds: [p95_latency<=20ms]',
        ].join('\n'),
        'a.yaml',
      ),
    );
    assert.deepEqual(flags, {
      model: 'simple',
      url: 'localhost:8001',
      protocol: 'grpc',
      batchSize: '4',
      concurrencyRange: '2:8:2',
      measurementInterval: '1500',
      stabilityPercentage: '12.5',
      inputData: ['zero'],
      shape: ['x:3,48,192'],
      headers: ['X-Team:perf'],
      csv: 'out.csv',
      verbose: 1,
      progress: false,
      thresholds: ['p95_latency<=20ms'],
    });
  });

  it('converts a JSON-form config override into config.pbtxt text', () => {
    const flags = configToFlags({
      embedded: { configOverrides: { m: { maxBatchSize: 16, dynamicBatching: {} } } },
    });
    const text = flags.embeddedConfigOverrides?.m ?? '';
    const parsed = fromText(ModelConfigSchema, text);
    assert.equal(parsed.maxBatchSize, 16);
    assert.equal(parsed.schedulingChoice.case, 'dynamicBatching');
  });

  it('command-line flags replace the file values (lists too), the rest of the file stays', () => {
    const file = configToFlags({ model: 'a', measurementInterval: 100, thresholds: ['throughput>1'] });
    const merged = mergeFlags(file, {
      measurementInterval: '250',
      thresholds: ['error_rate==0'],
      config: 'x.yaml',
    });
    assert.deepEqual(merged, { model: 'a', measurementInterval: '250', thresholds: ['error_rate==0'] });
  });

  it('flags → config → flags round-trips', () => {
    const flags = {
      model: 'simple',
      requestRateRange: '10:40:10',
      requestDistribution: 'poisson',
      seed: '42',
      headers: ['A:b'],
      shape: ['x:1,2'],
      zeroInput: true,
      thresholds: ['p99_latency<=1s'],
      modelRepository: '/models',
    };
    const config = flagsToConfig(flags);
    assert.deepEqual(config, {
      model: 'simple',
      headers: { A: 'b' },
      embedded: { modelRepository: '/models' },
      requestRateRange: '10:40:10',
      requestDistribution: 'poisson',
      seed: 42,
      inputData: 'zero',
      shape: { x: [1, 2] },
      thresholds: ['p99_latency<=1s'],
    });
    const { zeroInput: _zero, ...rest } = flags;
    assert.deepEqual(configToFlags(config), { ...rest, inputData: ['zero'] });
  });
});

describe('model config overrides', () => {
  const base = [
    'name: "m"',
    'max_batch_size: 8',
    'instance_group [ { count: 1 kind: KIND_CPU } ]',
    'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }',
  ].join('\n');

  it('merges: scalars and messages set, repeated fields replaced, map entries added by key', () => {
    const merged = fromText(
      ModelConfigSchema,
      mergeModelConfigText(
        base,
        'max_batch_size: 16\ndynamic_batching { max_queue_delay_microseconds: 500 }\ninstance_group [ { count: 2 kind: KIND_CPU } ]\nparameters { key: "x" value: { string_value: "y" } }',
      ),
    );
    assert.equal(merged.name, 'm');
    assert.equal(merged.maxBatchSize, 16);
    assert.equal(merged.schedulingChoice.case, 'dynamicBatching');
    assert.deepEqual(
      merged.instanceGroup.map((g) => g.count),
      [2],
    );
    assert.deepEqual(Object.keys(merged.parameters).sort(), ['intra_op_thread_count', 'x']);
  });

  it('materialises a private repository copy: other models linked, the overridden config merged, removed on dispose', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'inferbench-repo-test-'));
    try {
      mkdirSync(join(repo, 'm', '1'), { recursive: true });
      writeFileSync(join(repo, 'm', 'config.pbtxt'), base);
      writeFileSync(join(repo, 'm', '1', 'model.onnx'), 'onnx');
      mkdirSync(join(repo, 'other', '1'), { recursive: true });
      const copy = await materializeConfigOverrides(repo, { m: 'dynamic_batching { }' });
      assert.equal(readlinkSync(join(copy.dir, 'other')), join(repo, 'other'));
      // The overridden model's files are real files (the server refuses files resolving outside a model dir).
      assert.ok(lstatSync(join(copy.dir, 'm', '1')).isDirectory());
      assert.ok(lstatSync(join(copy.dir, 'm', '1', 'model.onnx')).isFile());
      assert.equal(readFileSync(join(copy.dir, 'm', '1', 'model.onnx'), 'utf8'), 'onnx');
      const merged = fromText(ModelConfigSchema, readFileSync(join(copy.dir, 'm', 'config.pbtxt'), 'utf8'));
      assert.equal(merged.schedulingChoice.case, 'dynamicBatching');
      assert.equal(merged.maxBatchSize, 8);
      assert.equal(readFileSync(join(repo, 'm', 'config.pbtxt'), 'utf8'), base, 'the original is untouched');
      await copy.dispose();
      assert.equal(existsSync(copy.dir), false);
      await assert.rejects(materializeConfigOverrides(repo, { nope: 'max_batch_size: 1' }), (e: Error) =>
        /embedded\.configOverrides: model 'nope' is not in the repository/.test(e.message),
      );
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
