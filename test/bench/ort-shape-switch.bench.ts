/**
 * Diagnostic: what one ORT session costs when the batch size changes from run to run. The dynamic
 * batcher forms batches of every size from 1 to max_batch_size, so a backend whose first run at a new
 * shape is expensive (cuDNN's algorithm search on the CUDA EP, for instance) looks very different in a
 * server than in a steady-size ceiling benchmark. Prints, per batch size, the first run, the second run
 * and the median of later runs, then the cost of alternating between two sizes already seen.
 *
 *   npm run bench:ort-shapes -- --device gpu --model text_direction --max-batch 64
 * (writes bench-results/ort-shape-switch-<model>-<device>.json unless --out is given)
 */

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';

const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu' },
    model: { type: 'string', default: 'text_direction' },
    'max-batch': { type: 'string', default: '64' },
    dims: { type: 'string', default: '3,48,192' },
    out: { type: 'string' },
  },
});

const maxBatch = Number(values['max-batch']);
const dims = (values.dims ?? '').split(',').map(Number);
const repo = await materializeEmbeddedRepository();
const modelPath = join(repo, values.model ?? 'text_direction', '1', 'model.onnx');
const session = await InferenceSession.create(modelPath, {
  executionProviders: values.device === 'gpu' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
  logSeverityLevel: 3,
});
const inputName = session.inputNames[0] as string;

function feeds(batch: number): Record<string, Tensor> {
  const size = batch * dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (i % 255) / 255;
  return { [inputName]: new Tensor('float32', data, [batch, ...dims]) };
}

async function timedRunMs(batch: number): Promise<number> {
  const f = feeds(batch);
  const t0 = process.hrtime.bigint();
  await session.run(f);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

interface SizeRow {
  batch: number;
  firstMs: number;
  secondMs: number;
  steadyMedianMs: number;
}

const rows: SizeRow[] = [];
for (let batch = 1; batch <= maxBatch; batch++) {
  const firstMs = await timedRunMs(batch);
  const secondMs = await timedRunMs(batch);
  const steady: number[] = [];
  for (let i = 0; i < 5; i++) steady.push(await timedRunMs(batch));
  rows.push({ batch, firstMs, secondMs, steadyMedianMs: median(steady) });
  console.log(
    `batch ${batch}: first ${firstMs.toFixed(2)} ms, second ${secondMs.toFixed(2)} ms, steady ${median(steady).toFixed(2)} ms`,
  );
}

// Sizes already seen above: does switching between them cost anything?
const alternating: { batch: number; ms: number }[] = [];
const pair = [Math.min(5, maxBatch), Math.min(11, maxBatch)];
for (let i = 0; i < 20; i++) {
  const batch = pair[i % 2] as number;
  alternating.push({ batch, ms: await timedRunMs(batch) });
}
const altMedian = median(alternating.map((a) => a.ms));
console.log(
  `alternating ${pair.join('↔')}: median ${altMedian.toFixed(2)} ms over ${alternating.length} runs`,
);

// A fresh pass over every size, after all were seen once: the steady state a server reaches.
const secondPass: number[] = [];
for (let batch = 1; batch <= maxBatch; batch++) secondPass.push(await timedRunMs(batch));
console.log(
  `second pass 1..${maxBatch}: total ${secondPass.reduce((a, b) => a + b, 0).toFixed(1)} ms, max ${Math.max(...secondPass).toFixed(2)} ms`,
);
const firstTotalMs = rows.reduce((a, r) => a + r.firstMs, 0);
console.log(`first runs 1..${maxBatch}: total ${firstTotalMs.toFixed(0)} ms`);

// One session per size: does each session keep its own tuned state when the other one runs in between?
const sessionB = await InferenceSession.create(modelPath, {
  executionProviders: values.device === 'gpu' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
  logSeverityLevel: 3,
});
const feedsA = feeds(pair[0] as number);
const feedsB = feeds(pair[1] as number);
await session.run(feedsA);
await sessionB.run(feedsB);
const twoSessionMs: number[] = [];
for (let i = 0; i < 20; i++) {
  const t0 = process.hrtime.bigint();
  await (i % 2 === 0 ? session.run(feedsA) : sessionB.run(feedsB));
  twoSessionMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
console.log(
  `two sessions, ${pair[0]} on one and ${pair[1]} on the other, alternating: median ${median(twoSessionMs).toFixed(2)} ms`,
);
await sessionB.release();

const outBase =
  values.out?.replace(/\.json$/, '') ??
  currentResultBase(`ort-shape-switch-${values.model}-${values.device}`);
const [outPath] = writeBenchResults(outBase, {
  json: {
    date: new Date().toISOString(),
    command: `node --import tsx test/bench/ort-shape-switch.bench.ts ${process.argv.slice(2).join(' ')}`,
    device: values.device,
    model: values.model,
    rows,
    alternating,
    secondPass,
    twoSessionMs,
  },
});
console.log(`wrote ${outPath}`);
await session.release();
