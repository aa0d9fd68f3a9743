import assert from 'node:assert/strict';
import { lstat, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { parseModelConfigText } from '../../embedded-server/src/repository/model-config.ts';
import { ModelInstanceGroup_Kind } from '../../src/protocol/gen/model_config_pb.ts';
import {
  type BenchRepository,
  benchConfigSpec,
  editBenchConfig,
  writeBenchRepository,
} from './bench-repository.ts';

const SHIPPED = `name: "m"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 3, 48, -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
dynamic_batching { preferred_batch_size: [ 4 ] }
instance_group [ { count: 3 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "4" } }
`;

describe('benchmark repositories', () => {
  const cpu = { device: 'cpu' as const, maxBatchSize: 16, maxQueueDelayUs: 500, intraOpThreads: 1 };

  it('batched_gather and batched_nogather force the gather thread; batched leaves the server default', () => {
    const shipped = parseModelConfigText(SHIPPED, 'm');
    const param = (name: 'batched' | 'batched_gather' | 'batched_nogather') =>
      editBenchConfig(shipped, benchConfigSpec(name), cpu).parameters['inferbench.gather_thread']
        ?.stringValue;
    assert.equal(param('batched'), undefined);
    assert.equal(param('batched_gather'), 'true');
    assert.equal(param('batched_nogather'), 'false');
    const c = editBenchConfig(shipped, benchConfigSpec('batched_gather'), cpu);
    assert.equal(c.schedulingChoice.case, 'dynamicBatching');
    assert.equal(c.instanceGroup[0]!.count, 1);
  });

  it('plain drops any dynamic_batching block and keeps one CPU instance', () => {
    const shipped = parseModelConfigText(SHIPPED, 'm');
    const c = editBenchConfig(shipped, benchConfigSpec('plain'), cpu);
    assert.equal(c.schedulingChoice.case, undefined);
    assert.equal(c.maxBatchSize, 16);
    assert.equal(c.instanceGroup.length, 1);
    assert.equal(c.instanceGroup[0]!.count, 1);
    assert.equal(c.instanceGroup[0]!.kind, ModelInstanceGroup_Kind.CPU);
    assert.equal(c.parameters.intra_op_thread_count?.stringValue, '1');
    assert.equal(shipped.schedulingChoice.case, 'dynamicBatching', 'the input is not modified');
    assert.equal(c.parameters['session.intra_op.allow_spinning'], undefined, 'spinning left as shipped');
    const quiet = editBenchConfig(shipped, benchConfigSpec('plain'), { ...cpu, intraOpSpinning: false });
    assert.equal(quiet.parameters['session.intra_op.allow_spinning']?.stringValue, '0');
  });

  it('batched_2inst on the GPU: the delay, no preferred sizes, 2 KIND_GPU instances on GPU 0, threads as shipped', () => {
    const c = editBenchConfig(parseModelConfigText(SHIPPED, 'm'), benchConfigSpec('batched_2inst'), {
      ...cpu,
      device: 'gpu',
      intraOpThreads: 0,
    });
    assert.equal(c.schedulingChoice.case, 'dynamicBatching');
    if (c.schedulingChoice.case !== 'dynamicBatching') return;
    assert.equal(c.schedulingChoice.value.maxQueueDelayMicroseconds, 500n);
    assert.deepEqual(c.schedulingChoice.value.preferredBatchSize, []);
    assert.equal(c.instanceGroup[0]!.count, 2);
    assert.equal(c.instanceGroup[0]!.kind, ModelInstanceGroup_Kind.GPU);
    assert.deepEqual(c.instanceGroup[0]!.gpus, [0]);
    assert.equal(c.parameters.intra_op_thread_count?.stringValue, '4');
  });

  describe('on disk', () => {
    let embedded: string;
    let repo: BenchRepository;
    before(async () => {
      embedded = await materializeEmbeddedRepository();
      repo = await writeBenchRepository(embedded, 'text_direction', benchConfigSpec('batched'), cpu);
    });
    after(async () => {
      await repo?.remove();
    });

    it('writes the edited config and links or copies the embedded model file', async () => {
      const text = await readFile(join(repo.dir, 'text_direction', 'config.pbtxt'), 'utf8');
      const parsed = parseModelConfigText(text, 'written');
      assert.equal(parsed.name, 'text_direction');
      assert.equal(parsed.schedulingChoice.case, 'dynamicBatching');
      const link = join(repo.dir, 'text_direction', '1', 'model.onnx');
      // A real file with the embedded model's bytes (the server refuses symlinks out of a model directory).
      assert.ok((await lstat(link)).isFile());
      assert.deepEqual(await readFile(link), await readFile(repo.modelPath));
      await repo.remove();
      await assert.rejects(stat(repo.dir), { code: 'ENOENT' });
    });
  });
});
