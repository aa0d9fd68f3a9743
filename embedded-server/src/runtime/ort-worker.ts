/**
 * Worker-thread entry of one model instance: owns one ORT InferenceSession, whose `run()` blocks the thread
 * it is called on, and so must not run on the main thread. Gathers each batch, runs it, and sends the
 * outputs back by transfer. Measures Triton's compute_input / compute_infer / compute_output durations here,
 * next to the work. Run failures are answered as messages; the worker itself keeps going.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { systemClockFrom } from '../../../src/protocol/clock.ts';
import { datatypeFromOrtType } from '../../../src/protocol/datatypes.ts';
import { firstRows } from './batch-buckets.ts';
import { SessionSet } from './session-set.ts';
import { concatBatch, fromOrtTensor, toOrtTensor } from './tensor-map.ts';
import type {
  FromWorker,
  OrtValueInfo,
  RunMessage,
  ToWorker,
  WireOutput,
  WorkerData,
} from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('ort-worker.ts must run in a worker thread');
const init = workerData as WorkerData;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  (port as NonNullable<typeof port>).postMessage(message, transfer);
}

function valueInfos(meta: readonly InferenceSession.ValueMetadata[]): OrtValueInfo[] {
  return meta.map((m) =>
    m.isTensor
      ? {
          name: m.name,
          datatype: datatypeFromOrtType(m.type),
          dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
        }
      : { name: m.name, datatype: undefined, dims: [] },
  );
}

const clock = systemClockFrom(init.clockOriginNs);

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The batch's row count (Σ dim 0 of the first input's parts), or undefined when it has no batch dim. */
function batchRows(msg: RunMessage): number | undefined {
  const shapes = msg.inputs[0]?.shapes ?? [];
  if (shapes.length === 0 || shapes.some((s) => s.length === 0)) return undefined;
  return shapes.reduce((n, s) => n + (s[0] as number), 0);
}

/** An output of a padded run cut back to the batch's real rows (a view for numeric data). */
function realRows(tensor: OrtTensor, paddedRows: number | undefined, rows: number | undefined): OrtTensor {
  if (paddedRows === undefined || rows === undefined) return tensor;
  const cut = firstRows(tensor.data as Float32Array, tensor.dims, paddedRows, rows);
  if (cut.data === tensor.data) return tensor;
  return new OrtTensor(tensor.type as 'float32', cut.data, cut.dims);
}

async function run(sessions: SessionSet, msg: RunMessage): Promise<void> {
  const t0 = clock.nowNs();
  const rows = batchRows(msg);
  const { session, paddedRows } = sessions.choose(rows);
  const feeds: Record<string, OrtTensor> = {};
  for (const input of msg.inputs) {
    const parts = input.buffers.map((b, i) => ({
      shape: input.shapes[i] as number[],
      data: new Uint8Array(b),
    }));
    // Concatenation and bucket padding in one copy.
    const pad =
      paddedRows === undefined ? undefined : { rows: paddedRows, bytesElements: input.datatype === 'BYTES' };
    feeds[input.name] = toOrtTensor(input.name, input.datatype, concatBatch(input.name, parts, pad));
  }
  const t1 = clock.nowNs();
  const fetches = msg.outputNames.length > 0 ? msg.outputNames : [...session.outputNames];
  const results = await session.run(feeds, fetches);
  const t2 = clock.nowNs();
  const outputs: WireOutput[] = fetches.map((name) => {
    const out = fromOrtTensor(name, realRows(results[name] as OrtTensor, paddedRows, rows));
    return {
      name,
      datatype: out.datatype,
      shape: out.shape,
      buffer: out.data.buffer as ArrayBuffer,
      byteOffset: out.data.byteOffset,
      byteLength: out.data.byteLength,
    };
  });
  const t3 = clock.nowNs();
  const result: FromWorker = {
    type: 'result',
    seq: msg.seq,
    outputs,
    computeInputNs: t1 - t0,
    computeInferNs: t2 - t1,
    computeOutputNs: t3 - t2,
    receivedNs: t0,
    runStartNs: t1,
    runEndNs: t2,
    postedNs: t3,
  };
  const transfer = [...new Set(outputs.map((o) => o.buffer))];
  try {
    post(result, transfer);
  } catch {
    // A buffer ORT owns may refuse to move: send copies instead.
    for (const o of outputs) {
      o.buffer = o.buffer.slice(o.byteOffset, o.byteOffset + o.byteLength);
      o.byteOffset = 0;
    }
    post(
      result,
      outputs.map((o) => o.buffer),
    );
  }
}

async function main(): Promise<void> {
  let sessions: SessionSet;
  try {
    sessions = await SessionSet.create(init.modelPath, init.sessionOptions, init.batchBuckets);
  } catch (e) {
    // The handle terminates this worker once it has read the message.
    post({ type: 'load-error', message: errorText(e) });
    return;
  }
  (port as NonNullable<typeof port>).on('message', (msg: ToWorker) => {
    run(sessions, msg).catch((e: unknown) =>
      post({ type: 'run-error', seq: msg.seq, message: errorText(e) }),
    );
  });
  post({
    type: 'ready',
    inputs: valueInfos(sessions.main.inputMetadata),
    outputs: valueInfos(sessions.main.outputMetadata),
    bucketSizes: [...sessions.bucketSizes],
    bucketWarmMs: sessions.warmMs,
  });
}

await main();
