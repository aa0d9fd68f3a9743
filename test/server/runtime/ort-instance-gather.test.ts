/**
 * The gather thread of an ORT instance: batches staged behind a running one are built there and run by
 * the ORT thread as one buffer per input. Every result must be byte-identical to the path without it
 * (gatherThread: false), including BYTES, bucket padding and malformed batches; and closing the instance while
 * batches run and wait, which must fail them and end both threads without taking the process down (a
 * Worker.terminate() inside onnxruntime-node's run() aborts the process: the ORT thread ends itself between runs).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExecutionResult, StagedBatch } from '../../../embedded-server/src/core/types.ts';
import { identityModel, slowIdentityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  createOrtInstance,
  type OrtInstance,
  type OrtInstanceOptions,
} from '../../../embedded-server/src/runtime/ort-instance.ts';
import { encodeBytesElements } from '../../../embedded-server/src/runtime/tensor-map.ts';
import type { Datatype } from '../../../src/protocol/datatypes.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

const SESSION = { intraOpNumThreads: 1, logSeverityLevel: 4 } as const;
let dir: string;
const paths: Record<string, string> = {};
const open: OrtInstance[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'inferbench-gather-'));
  const models: Record<string, Uint8Array> = {
    // ≈ 10 ms per execution: long enough that the next batch is staged behind a running one.
    slow: slowIdentityModel({ iterations: 4, matrixSize: 512 }),
    identity_bytes: identityModel('BYTES'),
    identity_fp32: identityModel('FP32', ['batch', 2, 3]),
  };
  for (const [name, bytes] of Object.entries(models)) {
    paths[name] = join(dir, `${name}.onnx`);
    writeFileSync(paths[name], bytes);
  }
});

after(async () => {
  await Promise.all(open.map((i) => i.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function instance(model: string, extra: Partial<OrtInstanceOptions> = {}): Promise<OrtInstance> {
  const inst = await createOrtInstance({
    name: `${model}_${open.length}`,
    modelPath: paths[model] as string,
    kind: 'KIND_CPU',
    deviceId: 0,
    sessionOptions: SESSION,
    gatherThread: true,
    ...extra,
  });
  open.push(inst);
  return inst;
}

function fp32(shape: number[], values: number[]): Tensor[] {
  const data = new Uint8Array(Float32Array.from(values).buffer);
  return [{ name: 'INPUT0', datatype: 'FP32', shape, data }];
}

function bytesRow(strings: string[]): Tensor[] {
  return [
    {
      name: 'INPUT0',
      datatype: 'BYTES' as Datatype,
      shape: [strings.length, 1],
      data: encodeBytesElements(strings),
    },
  ];
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** Stages `first` (it starts on the idle instance), waits until it has started, then stages `batch` behind it. */
async function behindRunning(
  inst: OrtInstance,
  first: Tensor[][],
  batch: Tensor[][],
  appends: Tensor[][][] = [],
): Promise<{ first: Promise<ExecutionResult>; second: StagedBatch; appended: boolean[] }> {
  const s1 = inst.stage?.(first, []);
  assert.ok(s1, 'the idle instance stages');
  for (let i = 0; !s1.started() && i < 100_000; i++) await nextTurn();
  const s2 = inst.stage?.(batch, []);
  assert.ok(s2, 'the next batch stages behind the running one');
  // append() says whether the batch took the requests: it refuses once the batch is claimed, which a run of
  // milliseconds ahead of it can let happen before these appends on a loaded machine.
  const appended = appends.map((more) => s2.append(more));
  return { first: s1.result, second: s2, appended };
}

function floats(r: ExecutionResult): number[] {
  const t = r.outputs[0] as Tensor;
  return [...new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4)];
}

describe('ORT instance with a gather thread', () => {
  it('runs batches staged behind a running one through the gather thread, byte-identical to the ORT thread gathering them', async () => {
    const withGather = await instance('slow');
    const without = await instance('slow', { gatherThread: false });
    const row = (v: number) => fp32([1, 4], [v, v + 0.25, -v, v * 1e6]);
    for (const inst of [withGather, without]) {
      const appends = [[4], [5, 6]];
      const r = await behindRunning(
        inst,
        [row(1)],
        [row(2), row(3)],
        appends.map((vs) => vs.map(row)),
      );
      const second = await r.second.result;
      assert.deepEqual(floats(await r.first), [1, 1.25, -1, 1e6]);
      const values = [2, 3, ...appends.filter((_, i) => r.appended[i]).flat()];
      assert.deepEqual(
        second.outputs[0]?.shape,
        [values.length, 4],
        'every accepted append ran in the same execution',
      );
      assert.deepEqual(
        floats(second),
        values.flatMap((v) => [v, v + 0.25, -v, v * 1e6]),
      );
    }
    const usage = await withGather.threadUsage();
    assert.ok(usage.ort.gatheredRuns >= 1, 'the batch behind the running one came from the gather thread');
    assert.equal(
      (await without.threadUsage()).gather,
      undefined,
      'gatherThread: false starts no gather thread',
    );
  });

  it('on an idle instance, a lone request goes straight to the ORT thread and several go through the gather thread', async () => {
    const inst = await instance('slow');
    const gathered = async () => (await inst.threadUsage()).ort.gatheredRuns;
    const lone = inst.stage?.([fp32([1, 4], [1, 2, 3, 4])], []);
    assert.ok(lone);
    assert.deepEqual(floats(await lone.result), [1, 2, 3, 4]);
    assert.equal(await gathered(), 0, 'c=1: no extra thread hop');
    const several = inst.stage?.([fp32([1, 4], [5, 5, 5, 5]), fp32([2, 4], [6, 6, 6, 6, 7, 7, 7, 7])], []);
    assert.ok(several);
    assert.deepEqual(floats(await several.result), [5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7]);
    assert.equal(await gathered(), 1, 'several requests: gathered off the ORT thread');
  });

  it('claims a batch that holds max_batch_size rows at once and keeps order with the next one', async () => {
    const inst = await instance('slow', { maxBatchRows: 2 });
    const r = await behindRunning(
      inst,
      [fp32([1, 4], [1, 1, 1, 1])],
      [fp32([2, 4], [2, 2, 2, 2, 3, 3, 3, 3])],
    );
    // Full: it can no longer grow, whoever claimed it.
    for (let i = 0; !r.second.started() && i < 100_000; i++) await nextTurn();
    assert.equal(r.second.append([fp32([1, 4], [9, 9, 9, 9])]), false);
    const third = inst.stage?.([fp32([1, 4], [4, 4, 4, 4])], []);
    assert.ok(third, 'a third batch stages while the full one waits for the ORT thread');
    const [a, b, c] = await Promise.all([r.first, r.second.result, third.result]);
    assert.deepEqual(floats(a), [1, 1, 1, 1]);
    assert.deepEqual(floats(b), [2, 2, 2, 2, 3, 3, 3, 3]);
    assert.deepEqual(floats(c), [4, 4, 4, 4]);
  });

  it('carries BYTES (not merged: strings have no fixed row) unchanged', async () => {
    const inst = await instance('identity_bytes');
    const r = await behindRunning(inst, [bytesRow(['a'])], [bytesRow(['héllo', ''])]);
    // The identity runs in microseconds, so the gather thread may claim the staged batch before the append
    // reaches it (append() then says so and the request must go in a batch of its own): either way every
    // string comes back unchanged, in its own request's rows.
    const appended = r.second.append([bytesRow(['x y'])]);
    const out = (await r.second.result).outputs[0] as Tensor;
    const alone = appended ? undefined : inst.stage?.([bytesRow(['x y'])], []);
    assert.ok(appended || alone, 'a batch the append missed leaves room to stage the request alone');
    assert.deepEqual(out.shape, appended ? [3, 1] : [2, 1]);
    assert.deepEqual(out.data, encodeBytesElements(appended ? ['héllo', '', 'x y'] : ['héllo', '']));
    if (alone) {
      const single = (await alone.result).outputs[0] as Tensor;
      assert.deepEqual(single.shape, [1, 1]);
      assert.deepEqual(single.data, encodeBytesElements(['x y']));
    }
    assert.deepEqual(((await r.first).outputs[0] as Tensor).data, encodeBytesElements(['a']));
  });

  it('pads a gathered batch to its bucket and cuts the outputs back to the real rows', async () => {
    const inst = await instance('identity_fp32', {
      maxBatchRows: 4,
      batchBuckets: { sizes: [1, 4], warmInputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [2, 3] }] },
    });
    const row = (v: number) => fp32([1, 2, 3], [v, v, v, v, v, -v]);
    // Three requests staged at once (not appended: the identity runs in microseconds, so an append could lose
    // the race with the gather thread's claim): several requests go through the gather thread either way.
    const r = await behindRunning(inst, [row(1)], [row(2), row(3), row(5)]);
    const b = await r.second.result;
    assert.deepEqual(b.outputs[0]?.shape, [3, 2, 3], 'padded to 4 for the run, 3 real rows back');
    assert.deepEqual(
      floats(b),
      [2, 3, 5].flatMap((v) => [v, v, v, v, v, -v]),
    );
    assert.equal((await inst.threadUsage()).ort.gatheredRuns, 1, 'the three-request batch was gathered');
  });

  it('fails a gathered batch whose requests disagree beyond the batch dim with the usual text, and keeps working', async () => {
    const inst = await instance('slow');
    // Both requests staged at once: an append behind a run of milliseconds can lose the race to the gather
    // thread's claim (the full suite saw it), and the odd request would then run alone and succeed.
    const r = await behindRunning(
      inst,
      [fp32([1, 4], [1, 2, 3, 4])],
      [fp32([1, 4], [1, 2, 3, 4]), fp32([1, 2], [5, 6])],
    );
    await assert.rejects(r.second.result, /shapes differ beyond the batch dimension/);
    await r.first;
    const again = await behindRunning(inst, [fp32([1, 4], [7, 7, 7, 7])], [fp32([1, 4], [8, 8, 8, 8])]);
    assert.deepEqual(floats(await again.second.result), [8, 8, 8, 8]);
  });

  it('a request whose bytes do not match its shape fails its batch with the tensor error, not a crash', async () => {
    const inst = await instance('slow');
    const bad: Tensor[] = [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Uint8Array(15) }];
    const r = await behindRunning(inst, [fp32([1, 4], [1, 2, 3, 4])], [bad]);
    await assert.rejects(r.second.result, /bytes do not hold/);
    await r.first;
  });
  it('closing under a running batch and a gathered one behind it fails both and ends the threads; the process lives on', async () => {
    for (const extra of [{}, { gatherThread: false }] as Partial<OrtInstanceOptions>[]) {
      const inst = await instance('slow', extra);
      const row = (v: number) => fp32([1, 4], [v, v, v, v]);
      const r = await behindRunning(inst, [row(1)], [row(2), row(3)], [[row(4)]]);
      // The batch behind cannot have answered yet (no event-loop turn between staging it and close()). The
      // running one may have: behindRunning's last turn can deliver its result on a loaded machine (CI did),
      // and then it must be the right one.
      const closed = /model instance 'slow_\d+' is closed/;
      const first = r.first.then(
        (result) => assert.deepEqual(floats(result), [1, 1, 1, 1], 'answered before the close'),
        (e: Error) => assert.match(e.message, closed),
      );
      const second = assert.rejects(r.second.result, closed);
      await inst.close();
      await Promise.all([first, second]);
      await assert.rejects(inst.execute([row(5)], []), /is closed/, 'a closed instance takes no more work');
    }
    // The process is still whole: a new instance loads and runs.
    const fresh = await instance('slow');
    assert.deepEqual(floats(await fresh.execute([fp32([1, 4], [7, 8, 9, 10])], [])), [7, 8, 9, 10]);
  });
});
