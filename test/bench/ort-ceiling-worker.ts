/**
 * Worker-thread side of the raw ONNX Runtime ceiling: one InferenceSession created with the options a
 * server instance would get, then timed `session.run` calls at the batch sizes the main thread asks for.
 * Runs in its own thread because `run()` blocks the thread it is called on (like the server's instances).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { CeilingFromWorker, CeilingToWorker, CeilingWorkerData } from './ort-ceiling-protocol.ts';

const port = parentPort;
if (!port) throw new Error('ort-ceiling-worker.ts must run in a worker thread');
const init = workerData as CeilingWorkerData;

function post(message: CeilingFromWorker): void {
  (port as NonNullable<typeof port>).postMessage(message);
}

/** Deterministic pseudo-random FP32 input in [0, 1) (the values do not change ORT's work for these models). */
function inputTensor(batchSize: number): Tensor {
  const size = batchSize * init.dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = (x >>> 0) / 2 ** 32;
  }
  return new Tensor('float32', data, [batchSize, ...init.dims]);
}

async function measure(session: InferenceSession, msg: CeilingToWorker): Promise<void> {
  const feedsA = { [init.inputName]: inputTensor(msg.batchSize) };
  const feedsB =
    msg.alternateBatchSize === undefined ? feedsA : { [init.inputName]: inputTensor(msg.alternateBatchSize) };
  const feedsOf = (i: number) => (i % 2 === 0 ? feedsA : feedsB);
  for (let i = 0; i < msg.warmupRuns; i++) await session.run(feedsOf(i));
  const runNs: number[] = [];
  const startNs = process.hrtime.bigint();
  const budgetNs = BigInt(msg.minDurationMs) * 1_000_000n;
  while (
    runNs.length < msg.minRuns ||
    (runNs.length < msg.maxRuns && process.hrtime.bigint() - startNs < budgetNs)
  ) {
    const feeds = feedsOf(runNs.length);
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    runNs.push(Number(process.hrtime.bigint() - t0));
  }
  post({ type: 'result', batchSize: msg.batchSize, runNs });
}

async function main(): Promise<void> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(init.modelPath, init.sessionOptions);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    return;
  }
  (port as NonNullable<typeof port>).on('message', (msg: CeilingToWorker) => {
    measure(session, msg).catch((e: unknown) =>
      post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  });
  post({ type: 'ready' });
}

await main();
