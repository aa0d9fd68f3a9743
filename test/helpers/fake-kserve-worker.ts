/**
 * Worker-thread entry of `startFakeKServeInWorker`: a fake KServe server answering after a fixed delay, with an
 * optional one-time stall, on its own event loop. Posts `{url}` once listening; on 'close', closes and posts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startFakeKServe, type TimedPolicy } from './fake-kserve-server.ts';

const port = parentPort;
if (!port) throw new Error('fake-kserve-worker.ts runs only as a worker thread');
const policy = workerData as TimedPolicy;
let stallUntilMs = 0;

const server = await startFakeKServe({
  models: policy.models,
  answerAfterMs: ({ index, arrivalMs }) => {
    if (policy.stall && index === policy.stall.atIndex) stallUntilMs = arrivalMs + policy.stall.forMs;
    return Math.max(policy.delayMs, stallUntilMs - arrivalMs);
  },
});
port.postMessage({ url: server.url });
port.on('message', async () => {
  await server.close();
  port.postMessage('closed');
});
