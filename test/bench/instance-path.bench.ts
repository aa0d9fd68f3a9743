/**
 * `npm run bench:instance-path`: what one model instance's ORT thread spends per batch besides ORT itself,
 * with the gather thread (default) and without it (the ORT thread gathers every batch: the path before),
 * side by side in one process. The model takes FP32 [batch, 3, 48, 192] (text_direction's input, 110,592
 * bytes per request) and returns each row's mean (--output small, like text_direction's tiny output) or the
 * input itself (--output same); ORT's work is one pass over the input. Batches of 64 requests staged behind the
 * running one exactly as the dynamic batcher stages them (a stage then appends of --chunk requests: one
 * message each), every request in its own transferred ArrayBuffer as an HTTP body is.
 *
 * Per request (batches are as large as the race between the appends and the ORT thread lets them be, as in
 * the server) it reports the ORT thread's event-loop active time (everything the thread could not run a
 * model in: message receipt, gathering, output posting, waits for a batch) minus the time inside ORT's
 * run(), its CPU time, the gather thread's active time, and batches/s. Medians of --rounds rounds, the two
 * paths alternating. Outputs are checked against the inputs (every request's first and last float).
 * Writes bench-results/instance-path.{md,json} (or --out).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { markRequestOwned } from '../../embedded-server/src/core/request-buffers.ts';
import type { ExecutionResult } from '../../embedded-server/src/core/types.ts';
import { buildOnnxModel, onnxTypeOf } from '../../embedded-server/src/onnx/onnx-builder.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { createOrtInstance, type OrtInstance } from '../../embedded-server/src/runtime/ort-instance.ts';
import type { UsageReply } from '../../embedded-server/src/runtime/worker-protocol.ts';
import type { Tensor } from '../../src/protocol/tensor.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';

const USAGE = `usage: npm run bench:instance-path -- [options]
  --batches N     batches per path per round          (default 60)
  --rounds R      rounds (medians are reported)       (default 5)
  --batch N       requests per batch                  (default 64)
  --chunk N       requests per stage/append message   (default 4)
  --output small|same   small: OUTPUT0 = the mean of each row, [batch,1,1,1] (like text_direction's [batch,2]);
                  same: FP32 identity, the output as large as the input   (default small)
  --out PATH      results path without extension (default bench-results/instance-path)`;

const ROW_DIMS = [3, 48, 192];
const ROW_FLOATS = ROW_DIMS.reduce((a, b) => a * b, 1);
const log = (line: string) => process.stderr.write(`${line}\n`);

function positiveInt(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`--${name} must be an integer in 1..${max}, not '${value}'`);
  return n;
}

/** One request as an HTTP body would be: its own buffer, request-owned, every float = `value`. */
function request(value: number): Tensor[] {
  const buffer = new ArrayBuffer(ROW_FLOATS * 4);
  new Float32Array(buffer).fill(value);
  markRequestOwned(buffer);
  return [{ name: 'INPUT0', datatype: 'FP32', shape: [1, ...ROW_DIMS], data: new Uint8Array(buffer) }];
}

/** FP32 [batch, 3, 48, 192] → the mean of each row, [batch, 1, 1, 1]: ORT reads every input byte, writes 4. */
function rowMeanModel(): Uint8Array {
  const elemType = onnxTypeOf('FP32');
  return buildOnnxModel({
    graphName: 'row_mean',
    inputs: [{ name: 'INPUT0', elemType, dims: ['batch', ...ROW_DIMS] }],
    outputs: [{ name: 'OUTPUT0', elemType, dims: ['batch', 1, 1, 1] }],
    nodes: [
      {
        opType: 'ReduceMean',
        inputs: ['INPUT0'],
        outputs: ['OUTPUT0'],
        attributes: { axes: { kind: 'ints', value: [1, 2, 3] }, keepdims: { kind: 'int', value: 1 } },
      },
    ],
  });
}

/** Every request's row of the batched output holds its input value (identity: first and last float; mean: the one). */
function check(result: ExecutionResult, values: readonly number[], rowFloats: number): void {
  const out = result.outputs[0];
  if (!out) throw new Error('no output');
  const floats = new Float32Array(out.data.buffer, out.data.byteOffset, out.data.byteLength / 4);
  if (floats.length !== values.length * rowFloats)
    throw new Error(`output holds ${floats.length / rowFloats} rows, ${values.length} sent`);
  values.forEach((v, i) => {
    const first = floats[i * rowFloats] as number;
    const last = floats[(i + 1) * rowFloats - 1] as number;
    // A mean of equal floats may be off by an ulp (ORT multiplies by 1/n); an identity is exact.
    if (Math.abs(first - v) > 1e-5 * v || Math.abs(last - v) > 1e-5 * v)
      throw new Error(`row ${i}: output ${first} differs from its input ${v}`);
  });
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Runs `batches` batches of `batchSize` through the instance as the batcher stages them: the next batch is
 * staged (then appended to, `chunk` requests a message) while the previous one runs. Returns rows run.
 */
async function drive(
  inst: OrtInstance,
  batches: number,
  batchSize: number,
  chunk: number,
  outRowFloats: number,
): Promise<number> {
  const stage = inst.stage?.bind(inst);
  if (!stage) throw new Error('the instance cannot stage');
  const results: Promise<void>[] = [];
  let next = 0;
  for (let b = 0; b < batches; b++) {
    // Small halves: a row's sum stays exact in FP32, so the mean model returns the value.
    const values = Array.from({ length: batchSize }, () => (next++ % 16) + 0.5);
    // Built first, so that the appends follow each other as closely as the batcher's do.
    const requests = values.map(request);
    let offset = 0;
    while (offset < values.length) {
      // One staged batch at a time: wait until the previous one has started.
      let staged = stage(requests.slice(offset, offset + chunk), []);
      while (!staged) {
        await nextTurn();
        staged = stage(requests.slice(offset, offset + chunk), []);
      }
      const inBatch = values.slice(offset, offset + chunk);
      offset += chunk;
      while (offset < values.length) {
        if (!staged.append(requests.slice(offset, offset + chunk))) break;
        inBatch.push(...values.slice(offset, offset + chunk));
        offset += chunk;
      }
      results.push(staged.result.then((r) => check(r, inBatch, outRowFloats)));
    }
  }
  await Promise.all(results);
  return next;
}

interface RoundFigures {
  path: 'gather-thread' | 'ort-thread-gathers';
  batches: number;
  batchesPerSec: number;
  /** Requests (rows) per second through the instance. */
  rowsPerSec: number;
  meanBatch: number;
  /** Per request, µs. */
  ortActiveUs: number;
  ortRunUs: number;
  ortNonComputeUs: number;
  ortCpuUs: number | undefined;
  gatherActiveUs: number | undefined;
  gatherCpuUs: number | undefined;
}

function delta(a: UsageReply, b: UsageReply) {
  return {
    activeMs: b.activeMs - a.activeMs,
    cpuMs: a.cpuMs === undefined || b.cpuMs === undefined ? undefined : b.cpuMs - a.cpuMs,
    runMs: b.runMs - a.runMs,
    runs: b.runs - a.runs,
  };
}

async function round(
  inst: OrtInstance,
  path: RoundFigures['path'],
  o: { batches: number; batch: number; chunk: number; outRowFloats: number },
): Promise<RoundFigures> {
  const u0 = await inst.threadUsage();
  const t0 = performance.now();
  const rows = await drive(inst, o.batches, o.batch, o.chunk, o.outRowFloats);
  const wallMs = performance.now() - t0;
  const u1 = await inst.threadUsage();
  const ort = delta(u0.ort, u1.ort);
  const gather = u0.gather && u1.gather ? delta(u0.gather, u1.gather) : undefined;
  const runs = Math.max(1, ort.runs);
  const perRows = Math.max(1, rows);
  return {
    path,
    batches: ort.runs,
    batchesPerSec: (ort.runs / wallMs) * 1000,
    rowsPerSec: (rows / wallMs) * 1000,
    meanBatch: rows / runs,
    // Per request: batches are as large as the batcher could make them, which differs between rounds.
    ortActiveUs: (ort.activeMs * 1000) / perRows,
    ortRunUs: (ort.runMs * 1000) / perRows,
    ortNonComputeUs: ((ort.activeMs - ort.runMs) * 1000) / perRows,
    ortCpuUs: ort.cpuMs === undefined ? undefined : (ort.cpuMs * 1000) / perRows,
    gatherActiveUs: gather ? (gather.activeMs * 1000) / perRows : undefined,
    gatherCpuUs: gather?.cpuMs === undefined ? undefined : (gather.cpuMs * 1000) / perRows,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const fmt = (x: number | undefined, digits = 3) => (x === undefined ? 'n/a' : x.toFixed(digits));
const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(x * 100).toFixed(0)} %`);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      batches: { type: 'string' },
      rounds: { type: 'string' },
      batch: { type: 'string' },
      chunk: { type: 'string' },
      out: { type: 'string' },
      output: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const o = {
    batches: positiveInt('batches', values.batches, 60, 100_000),
    rounds: positiveInt('rounds', values.rounds, 5, 1000),
    batch: positiveInt('batch', values.batch, 64, 1024),
    chunk: positiveInt('chunk', values.chunk, 4, 1024),
    output: values.output ?? 'small',
    outRowFloats: 1,
  };
  if (o.output !== 'small' && o.output !== 'same')
    throw new Error(`--output must be small or same, not '${o.output}'`);
  o.outRowFloats = o.output === 'small' ? 1 : ROW_FLOATS;
  const out = values.out ?? currentResultBase('instance-path');
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'inferbench-instance-path-'));
  const modelPath = join(dir, 'identity.onnx');
  writeFileSync(
    modelPath,
    o.output === 'small' ? rowMeanModel() : identityModel('FP32', ['batch', ...ROW_DIMS]),
  );
  const common = {
    modelPath,
    kind: 'KIND_CPU' as const,
    deviceId: 0,
    sessionOptions: { intraOpNumThreads: 1, logSeverityLevel: 4 as const },
    maxBatchRows: o.batch,
  };
  const instances = {
    'gather-thread': await createOrtInstance({ ...common, name: 'identity_gather', gatherThread: true }),
    'ort-thread-gathers': await createOrtInstance({ ...common, name: 'identity_old', gatherThread: false }),
  } as const;
  const rounds: RoundFigures[] = [];
  try {
    // Warm both (allocations, ORT's first runs) outside the figures.
    for (const inst of Object.values(instances)) await drive(inst, 5, o.batch, o.chunk, o.outRowFloats);
    for (let r = 0; r < o.rounds; r++) {
      const order = (
        r % 2 === 0 ? ['ort-thread-gathers', 'gather-thread'] : ['gather-thread', 'ort-thread-gathers']
      ) as (keyof typeof instances)[];
      for (const path of order) {
        const f = await round(instances[path], path, o);
        rounds.push(f);
        log(
          `round ${r + 1} ${path}: ${fmt(f.rowsPerSec, 0)} requests/s (batch ${fmt(f.meanBatch, 1)}), ORT thread per request: ${fmt(f.ortActiveUs, 1)} µs active, ` +
            `${fmt(f.ortRunUs, 1)} in run(), ${fmt(f.ortNonComputeUs, 1)} outside, CPU ${fmt(f.ortCpuUs, 1)} µs`,
        );
      }
    }
  } finally {
    for (const inst of Object.values(instances)) await inst.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg();
  const summary = (path: RoundFigures['path']) => {
    const rs = rounds.filter((r) => r.path === path);
    const med = (f: (r: RoundFigures) => number | undefined) => {
      const xs = rs.map(f).filter((x): x is number => x !== undefined);
      return xs.length === 0 ? undefined : median(xs);
    };
    return {
      path,
      rounds: rs.length,
      batchesPerSec: med((r) => r.batchesPerSec),
      rowsPerSec: med((r) => r.rowsPerSec),
      meanBatch: med((r) => r.meanBatch),
      ortActiveUs: med((r) => r.ortActiveUs),
      ortRunUs: med((r) => r.ortRunUs),
      ortNonComputeUs: med((r) => r.ortNonComputeUs),
      ortCpuUs: med((r) => r.ortCpuUs),
      gatherActiveUs: med((r) => r.gatherActiveUs),
      gatherCpuUs: med((r) => r.gatherCpuUs),
    };
  };
  const before = summary('ort-thread-gathers');
  const after = summary('gather-thread');
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  const nonComputeRatio = ratio(after.ortNonComputeUs, before.ortNonComputeUs);
  const cpuRatio = ratio(after.ortCpuUs, before.ortCpuUs);
  const command = `npm run bench:instance-path -- --batches ${o.batches} --rounds ${o.rounds} --batch ${o.batch} --chunk ${o.chunk} --output ${o.output}`;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const row = (s: ReturnType<typeof summary>) =>
    `| ${s.path} | ${fmt(s.ortActiveUs, 1)} | ${fmt(s.ortRunUs, 1)} | **${fmt(s.ortNonComputeUs, 1)}** | **${fmt(s.ortCpuUs, 1)}** | ${fmt(s.gatherActiveUs, 1)} | ${fmt(s.gatherCpuUs, 1)} | ${fmt(s.meanBatch, 1)} | ${fmt(s.rowsPerSec, 0)} |`;
  const markdown = [
    '# Instance path: ORT-thread time per request besides ORT',
    '',
    `Command: \`${command}\`  `,
    `Host: ${cpus().length} × ${cpu}; load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}  `,
    `Model: FP32 [batch, ${ROW_DIMS.join(', ')}] (110,592 bytes per request) → ${o.output === 'small' ? "its mean per row, [batch, 1, 1, 1] (a small output, as text_direction's [batch, 2])" : 'itself (identity: output as large as the input)'}, ${o.batch} requests per batch staged behind the running one, ${o.chunk} per message; medians of ${o.rounds} rounds × ${o.batches} batches, the two paths alternating.`,
    '',
    '| path (µs per request) | ORT thread active | in run() | active − run() | ORT thread CPU | gather thread active | gather thread CPU | mean batch | requests/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    row(before),
    row(after),
    '',
    `With the gather thread, the ORT thread's active time outside run(): **${pct(nonComputeRatio)}** of the path before; its CPU time per request: **${pct(cpuRatio)}** (CPU includes ORT's own work, the same in both paths).`,
    '',
    'Active = the thread was not idle in its event loop (a blocking run() counts, and so does time it was preempted). CPU = time on a core (/proc/thread-self schedstat, else stat in 10 ms ticks). On a machine with fewer free cores than busy threads (main + ORT + gather) the threads share cores: wall-clock figures (active, run(), requests/s) grow with the load, CPU figures much less; compare the two rows, not absolute values.',
    '',
  ].join('\n');
  const written = writeBenchResults(out, {
    json: {
      command,
      host: { cores: cpus().length, cpu },
      loadBefore,
      loadAfter,
      options: o,
      before,
      after,
      nonComputeRatio,
      cpuRatio,
      rounds,
    },
    markdown,
    summary: `ORT-thread CPU per request ${fmt(before.ortCpuUs, 1)} → ${fmt(after.ortCpuUs, 1)} µs, active − run() ${fmt(before.ortNonComputeUs, 1)} → ${fmt(after.ortNonComputeUs, 1)} µs`,
  });
  process.stdout.write(markdown);
  log(`wrote ${written.join(', ')}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
  process.exitCode = 2;
});
