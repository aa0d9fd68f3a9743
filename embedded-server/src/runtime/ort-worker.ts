/**
 * Worker-thread entry of one model instance: owns one ORT InferenceSession, whose `run()` blocks the thread
 * it is called on, and so must not run on the main thread. Gathers each batch, runs it, and sends the
 * outputs back by transfer. Measures Triton's compute_input / compute_infer / compute_output durations here,
 * next to the work. Run failures are answered as messages; the worker itself keeps going.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { datatypeFromOrtType } from '../../../src/protocol/datatypes.ts';
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

function nowNs(): bigint {
  return process.hrtime.bigint();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function run(session: InferenceSession, msg: RunMessage): Promise<void> {
  const t0 = nowNs();
  const feeds: Record<string, OrtTensor> = {};
  for (const input of msg.inputs) {
    const parts = input.buffers.map((b, i) => ({
      shape: input.shapes[i] as number[],
      data: new Uint8Array(b),
    }));
    feeds[input.name] = toOrtTensor(input.name, input.datatype, concatBatch(input.name, parts));
  }
  const t1 = nowNs();
  const fetches = msg.outputNames.length > 0 ? msg.outputNames : [...session.outputNames];
  const results = await session.run(feeds, fetches);
  const t2 = nowNs();
  const outputs: WireOutput[] = fetches.map((name) => {
    const out = fromOrtTensor(name, results[name] as OrtTensor);
    return {
      name,
      datatype: out.datatype,
      shape: out.shape,
      buffer: out.data.buffer as ArrayBuffer,
      byteOffset: out.data.byteOffset,
      byteLength: out.data.byteLength,
    };
  });
  const t3 = nowNs();
  const result: FromWorker = {
    type: 'result',
    seq: msg.seq,
    outputs,
    computeInputNs: Number(t1 - t0),
    computeInferNs: Number(t2 - t1),
    computeOutputNs: Number(t3 - t2),
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
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(init.modelPath, init.sessionOptions);
  } catch (e) {
    // The handle terminates this worker once it has read the message.
    post({ type: 'load-error', message: errorText(e) });
    return;
  }
  (port as NonNullable<typeof port>).on('message', (msg: ToWorker) => {
    run(session, msg).catch((e: unknown) => post({ type: 'run-error', seq: msg.seq, message: errorText(e) }));
  });
  post({
    type: 'ready',
    inputs: valueInfos(session.inputMetadata),
    outputs: valueInfos(session.outputMetadata),
  });
}

await main();
