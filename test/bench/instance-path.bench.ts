/**
 * `npm run bench:instance-path`: what one model instance's ORT thread spends per batch besides ORT itself,
 * with the gather thread (default) and without it (the ORT thread gathers every batch: the path before),
 * side by side in one process. The model is an FP32 identity over [batch, 3, 48, 192] (text_direction's
 * input, 110,592 bytes per request; ORT's work is one copy), batches of 64 requests staged behind the
 * running one exactly as the dynamic batcher stages them (a stage then appends of --chunk requests: one
 * message each), every request in its own transferred ArrayBuffer as an HTTP body is.
 *
 * Per batch it reports the ORT thread's event-loop active time (everything the thread could not run a
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

/** Every request's first and last float of the batched output equal its input value. */
function check(result: ExecutionResult, values: readonly number[]): void {
  const out = result.outputs[0];
  if (!out) throw new Error('no output');
  const floats = new Float32Array(out.data.buffer, out.data.byteOffset, out.data.byteLength / 4);
  if (floats.length !== values.length * ROW_FLOATS)
    throw new Error(`output holds ${floats.length / ROW_FLOATS} rows, ${values.length} sent`);
  values.forEach((v, i) => {
    if (floats[i * ROW_FLOATS] !== v || floats[(i + 1) * ROW_FLOATS - 1] !== v)
      throw new Error(`row ${i}: output differs from its input ${v}`);
  });
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Runs `batches` batches of `batchSize` through the instance as the batcher stages them: the next batch is
 * staged (then appended to, `chunk` requests a message) while the previous one runs. Returns rows run.
 */
async function drive(inst: OrtInstance, batches: number, batchSize: number, chunk: number): Promise<number> {
  const stage = inst.stage?.bind(inst);
  if (!stage) throw new Error('the instance cannot stage');
  const results: Promise<void>[] = [];
  let next = 0;
  for (let b = 0; b < batches; b++) {
    const values = Array.from({ length: batchSize }, () => (next++ % 1000) + 0.5);
    let offset = 0;
    while (offset < values.length) {
      // One staged batch at a time: wait until the previous one has started.
      let staged = stage(values.slice(offset, offset + chunk).map(request), []);
      while (!staged) {
        await nextTurn();
        staged = stage(values.slice(offset, offset + chunk).map(request), []);
      }
      const inBatch = values.slice(offset, offset + chunk);
      offset += chunk;
      while (offset < values.length) {
        const more = values.slice(offset, offset + chunk);
        if (!staged.append(more.map(request))) break;
        inBatch.push(...more);
        offset += chunk;
      }
      results.push(staged.result.then((r) => check(r, inBatch)));
    }
  }
  await Promise.all(results);
  return next;
}

interface RoundFigures {
  path: 'gather-thread' | 'ort-thread-gathers';
  batches: number;
  batchesPerSec: number;
  /** Per batch, ms. */
  ortActiveMs: number;
  ortRunMs: number;
  ortNonComputeMs: number;
  ortCpuMs: number | undefined;
  gatherActiveMs: number | undefined;
  gatherCpuMs: number | undefined;
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
  o: { batches: number; batch: number; chunk: number },
): Promise<RoundFigures> {
  const u0 = await inst.threadUsage();
  const t0 = performance.now();
  await drive(inst, o.batches, o.batch, o.chunk);
  const wallMs = performance.now() - t0;
  const u1 = await inst.threadUsage();
  const ort = delta(u0.ort, u1.ort);
  const gather = u0.gather && u1.gather ? delta(u0.gather, u1.gather) : undefined;
  const runs = Math.max(1, ort.runs);
  return {
    path,
    batches: ort.runs,
    batchesPerSec: (ort.runs / wallMs) * 1000,
    ortActiveMs: ort.activeMs / runs,
    ortRunMs: ort.runMs / runs,
    ortNonComputeMs: (ort.activeMs - ort.runMs) / runs,
    ortCpuMs: ort.cpuMs === undefined ? undefined : ort.cpuMs / runs,
    gatherActiveMs: gather ? gather.activeMs / runs : undefined,
    gatherCpuMs: gather?.cpuMs === undefined ? undefined : gather.cpuMs / runs,
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
  };
  const out = values.out ?? currentResultBase('instance-path');
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'inferbench-instance-path-'));
  const modelPath = join(dir, 'identity.onnx');
  writeFileSync(modelPath, identityModel('FP32', ['batch', ...ROW_DIMS]));
  const common = {
    modelPath,
    kind: 'KIND_CPU' as const,
    deviceId: 0,
    sessionOptions: { intraOpNumThreads: 1, logSeverityLevel: 4 as const },
    maxBatchRows: o.batch,
  };
  const instances = {
    'gather-thread': await createOrtInstance({ ...common, name: 'identity_gather' }),
    'ort-thread-gathers': await createOrtInstance({ ...common, name: 'identity_old', gatherThread: false }),
  } as const;
  const rounds: RoundFigures[] = [];
  try {
    // Warm both (allocations, ORT's first runs) outside the figures.
    for (const inst of Object.values(instances)) await drive(inst, 5, o.batch, o.chunk);
    for (let r = 0; r < o.rounds; r++) {
      const order = (
        r % 2 === 0 ? ['ort-thread-gathers', 'gather-thread'] : ['gather-thread', 'ort-thread-gathers']
      ) as (keyof typeof instances)[];
      for (const path of order) {
        const f = await round(instances[path], path, o);
        rounds.push(f);
        log(
          `round ${r + 1} ${path}: ${fmt(f.batchesPerSec, 1)} batches/s, ORT thread ${fmt(f.ortActiveMs)} ms active per batch, ` +
            `${fmt(f.ortRunMs)} in run(), non-compute ${fmt(f.ortNonComputeMs)} ms`,
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
      ortActiveMs: med((r) => r.ortActiveMs),
      ortRunMs: med((r) => r.ortRunMs),
      ortNonComputeMs: med((r) => r.ortNonComputeMs),
      ortCpuMs: med((r) => r.ortCpuMs),
      gatherActiveMs: med((r) => r.gatherActiveMs),
      gatherCpuMs: med((r) => r.gatherCpuMs),
    };
  };
  const before = summary('ort-thread-gathers');
  const after = summary('gather-thread');
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? undefined : a / b;
  const nonComputeRatio = ratio(after.ortNonComputeMs, before.ortNonComputeMs);
  const cpuRatio = ratio(after.ortCpuMs, before.ortCpuMs);
  const command = `npm run bench:instance-path -- --batches ${o.batches} --rounds ${o.rounds} --batch ${o.batch} --chunk ${o.chunk}`;
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const row = (s: ReturnType<typeof summary>) =>
    `| ${s.path} | ${fmt(s.ortActiveMs)} | ${fmt(s.ortRunMs)} | **${fmt(s.ortNonComputeMs)}** | **${fmt(s.ortCpuMs)}** | ${fmt(s.gatherActiveMs)} | ${fmt(s.gatherCpuMs)} | ${fmt(s.batchesPerSec, 1)} |`;
  const markdown = [
    '# Instance path: ORT-thread time per batch besides ORT',
    '',
    `Command: \`${command}\`  `,
    `Host: ${cpus().length} × ${cpu}; load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}  `,
    `Model: FP32 identity [batch, ${ROW_DIMS.join(', ')}] (110,592 bytes per request), ${o.batch} requests per batch staged behind the running one, ${o.chunk} per message; medians of ${o.rounds} rounds × ${o.batches} batches, the two paths alternating.`,
    '',
    '| path | ORT thread active ms/batch | in run() ms | active − run() ms | ORT thread CPU ms/batch | gather thread active ms | gather thread CPU ms | batches/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    row(before),
    row(after),
    '',
    `With the gather thread, the ORT thread's active time outside run(): **${pct(nonComputeRatio)}** of the path before; its CPU time per batch: **${pct(cpuRatio)}** (ORT's own work is the same in both: the difference is what left the thread).`,
    '',
    'Active = the thread was not idle in its event loop (a blocking run() counts, and so does time it was preempted). CPU = time on a core (/proc/thread-self schedstat, else stat in 10 ms ticks). On a machine with fewer free cores than busy threads (main + ORT + gather) the threads share cores: wall-clock figures (active, run(), batches/s) grow with the load, CPU figures much less; compare the two rows, not absolute values.',
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
    summary: `ORT-thread CPU per batch ${fmt(before.ortCpuMs)} → ${fmt(after.ortCpuMs)} ms, active − run() ${fmt(before.ortNonComputeMs)} → ${fmt(after.ortNonComputeMs)} ms`,
  });
  process.stdout.write(markdown);
  log(`wrote ${written.join(', ')}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
  process.exitCode = 2;
});
