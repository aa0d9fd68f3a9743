import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runWarmup } from '../../../embedded-server/src/scheduler/warmup.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import { config, FakeInstance } from './fake-instance.ts';

function warmupConfig(maxBatchSize: number, samples: string): ReturnType<typeof config> {
  return config(`max_batch_size: ${maxBatchSize}
    input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
    output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ -1 ] } ]
    model_warmup [ ${samples} ]`);
}

function sample(name: string, input: string, batchSize = 1, count = 0): string {
  return `{ name: "${name}" batch_size: ${batchSize} count: ${count} inputs { key: "INPUT0" value: { ${input} } } }`;
}

describe('runWarmup (§7.2)', () => {
  let modelDir = '';
  let outside = '';
  before(() => {
    modelDir = mkdtempSync(join(tmpdir(), 'inferbench-warmup-'));
    outside = mkdtempSync(join(tmpdir(), 'inferbench-warmup-outside-'));
    mkdirSync(join(modelDir, 'warmup'));
    writeFileSync(
      join(modelDir, 'warmup', 'four_ints'),
      Buffer.from(new Int32Array([1, 2, 3, 4, 99]).buffer),
    );
    writeFileSync(join(modelDir, 'warmup', 'short'), Buffer.from([1, 2, 3]));
    writeFileSync(join(outside, 'secret'), Buffer.from(new Int32Array([7, 7, 7, 7]).buffer));
    symlinkSync(join(outside, 'secret'), join(modelDir, 'warmup', 'escape'));
    execFileSync('mkfifo', [join(modelDir, 'warmup', 'fifo')]);
    mkdirSync(join(modelDir, 'warmup', 'sub'));
    // A sparse 65 MiB file: over the BYTES warmup limit without using the disk.
    execFileSync('truncate', ['-s', String(65 * 1024 * 1024), join(modelDir, 'warmup', 'huge')]);
  });
  after(() => {
    rmSync(modelDir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('reads a BYTES input_data_file whole, but refuses one over the 64 MiB limit unread', async () => {
    const cfg = config(`max_batch_size: 2
      input [ { name: "TEXT" data_type: TYPE_STRING dims: [ 1 ] } ]
      output [ { name: "OUT" data_type: TYPE_STRING dims: [ 1 ] } ]
      model_warmup [ { name: "s" batch_size: 1 inputs { key: "TEXT" value: { data_type: TYPE_STRING dims: [ 1 ] input_data_file: "huge" } } } ]`);
    await assert.rejects(runWarmup(cfg, new FakeInstance('m_0', { auto: true }), modelDir), {
      message: "model_warmup input 'TEXT' input_data_file 'huge' is larger than the limit of 67108864 bytes",
    });
  });

  it('runs batch_size requests of batch 1 in ONE execute call, max(count, 1) times, in sample order', async () => {
    const cfg = warmupConfig(
      8,
      [
        sample('zeros', 'data_type: TYPE_INT32 dims: [ 4 ] zero_data: true', 3, 2),
        sample('skipped', 'data_type: TYPE_INT32 dims: [ 4 ] zero_data: true', 0, 5),
        sample('once', 'data_type: TYPE_INT32 dims: [ 2 ] random_data: true', 1, 0),
      ].join(', '),
    );
    const instance = new FakeInstance('m_0', { auto: true });
    const log: string[] = [];
    await runWarmup(cfg, instance, modelDir, { log: (line) => log.push(line) });
    assert.deepEqual(
      instance.calls.map((c) => c.requests.length),
      [3, 3, 1],
    );
    const zeros = instance.calls[0]!.requests[0]![0]!;
    assert.deepEqual(zeros.shape, [1, 4]);
    assert.deepEqual([...zeros.data], new Array(16).fill(0));
    assert.deepEqual(instance.calls[2]!.requests[0]![0]!.shape, [1, 2]);
    assert.deepEqual(instance.calls[0]!.outputNames, ['OUTPUT0']);
    assert.equal(log[0], "model 'm' instance m_0 is running warmup sample 'zeros' for iteration 1");
    assert.equal(log.length, 3);
  });

  it('uses dims without a batch dimension for models that do not batch', async () => {
    const instance = new FakeInstance('m_0', { auto: true });
    await runWarmup(
      warmupConfig(0, sample('s', 'data_type: TYPE_INT32 dims: [ 3 ] zero_data: true')),
      instance,
      modelDir,
    );
    assert.deepEqual(instance.calls[0]!.requests[0]![0]!.shape, [3]);
  });

  it('reads input_data_file from <modelDir>/warmup, taking the tensor byte size', async () => {
    const instance = new FakeInstance('m_0', { auto: true });
    await runWarmup(
      warmupConfig(8, sample('file', 'data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "four_ints"')),
      instance,
      modelDir,
    );
    const t = instance.calls[0]!.requests[0]![0]!;
    assert.deepEqual([...new Int32Array(t.data.slice().buffer)], [1, 2, 3, 4]);
  });

  it('fills BYTES random_data with zero-length elements', async () => {
    const cfg = config(`max_batch_size: 2
      input [ { name: "TEXT" data_type: TYPE_STRING dims: [ 3 ] } ]
      output [ { name: "OUT" data_type: TYPE_STRING dims: [ 3 ] } ]
      model_warmup [ { name: "s" batch_size: 1 inputs { key: "TEXT" value: { data_type: TYPE_STRING dims: [ 3 ] random_data: true } } } ]`);
    const instance = new FakeInstance('m_0', { auto: true });
    await runWarmup(cfg, instance, modelDir);
    const t = instance.calls[0]!.requests[0]![0]!;
    assert.equal(t.datatype, 'BYTES');
    assert.deepEqual([...t.data], new Array(12).fill(0));
  });

  const failures: [string, string, RegExp | string][] = [
    [
      'variable dims',
      sample('v', 'data_type: TYPE_INT32 dims: [ -1 ] zero_data: true'),
      "warmup setting expects all variable-size dimensions are specified for input 'INPUT0'",
    ],
    [
      'no data kind',
      sample('n', 'data_type: TYPE_INT32 dims: [ 2 ]'),
      "warmup setting expects input 'INPUT0' to have input_data_type set",
    ],
    [
      'short file',
      sample('f', 'data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "short"'),
      'warmup setting expects 16 bytes, but the data provided from short only has 3 bytes',
    ],
    [
      'missing file',
      sample('f', 'data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "nope"'),
      "model_warmup input 'INPUT0' input_data_file 'nope' was not found or cannot be read in the model directory",
    ],
    // Hostile names (the config may come over the load API): refused before the file system is touched, and
    // the message shows only the value given, never a resolved path or a size.
    ...(
      [
        ['../../../../etc/passwd', "contains '..'"],
        ['/etc/passwd', 'is an absolute path'],
        ['', 'is empty'],
        ['x/./y', "has an empty or '.' path segment"],
      ] as const
    ).map(([value, why]): [string, string, string] => [
      `input_data_file '${value}'`,
      sample('f', `data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "${value}"`),
      `model_warmup input 'INPUT0' input_data_file '${value}' ${why}`,
    ]),
    [
      'a symlink out of the model directory',
      sample('f', 'data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "escape"'),
      "model_warmup input 'INPUT0' input_data_file 'escape' resolves outside the model directory",
    ],
    [
      'a FIFO (must not block the server)',
      sample('f', 'data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "fifo"'),
      "model_warmup input 'INPUT0' input_data_file 'fifo' is not a regular file",
    ],
    [
      'a directory',
      sample('f', 'data_type: TYPE_INT32 dims: [ 4 ] input_data_file: "sub"'),
      "model_warmup input 'INPUT0' input_data_file 'sub' is not a regular file",
    ],
  ];
  for (const [what, text, message] of failures) {
    it(`fails the load on ${what}`, async () => {
      const instance = new FakeInstance('m_0', { auto: true });
      await assert.rejects(runWarmup(warmupConfig(8, text), instance, modelDir), (e: unknown) => {
        assert.ok(e instanceof InferenceError);
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      });
      assert.equal(instance.calls.length, 0);
    });
  }

  it("reports an execution error once per request: failed to run warmup sample '<name>': <err>; ", async () => {
    const instance = new FakeInstance('m_0');
    const run = runWarmup(
      warmupConfig(8, sample('zero sample', 'data_type: TYPE_INT32 dims: [ 2 ] zero_data: true', 2, 3)),
      instance,
      modelDir,
    );
    await new Promise((resolve) => setImmediate(resolve));
    instance.calls[0]!.fail(new Error('boom'));
    await assert.rejects(run, (e: unknown) => {
      assert.ok(e instanceof InferenceError);
      assert.equal(e.code, 'INTERNAL');
      assert.equal(e.message, "failed to run warmup sample 'zero sample': boom; boom; ");
      return true;
    });
    assert.equal(instance.calls.length, 1, 'stops at the first failure');
  });
});
