/**
 * The ensemble scheduler's own overhead at c=1, side by side with another build of the server.
 * Run: npm run bench:ensemble-overhead -- [options]   (--help lists them)
 * Writes bench-results/ensemble-overhead.{json,md} (or --out BASE).
 *
 * The server runs as users run it: the compiled build (dist/, `npm run build`, which the npm script runs
 * first), not the TypeScript sources through tsx (whose transform wraps every closure a request creates in
 * a `__name` call). `--baseline DIR` loads a second build (DIR/dist/..., e.g. a checkout of main built with
 * `npm run build`) in the same process; rounds alternate between the two (order swapped every round), so both
 * see the same machine load. Requests go straight to each server's core (no transport), one at a time.
 *
 * Three ensembles, each a chain of three steps whose first and last composing models have
 * `dynamic_batching { }` and whose middle one has none, as the bundled OCR pipeline:
 * - `chain_fast`: FP32 identities: the overhead is almost all there is;
 * - `chain_slow`: the middle step computes for a few ms, so every hand-off after it runs on a CPU whose
 *   caches that computation has evicted (as after text_recognition);
 * - `text_recognition_pipeline`: the bundled OCR pipeline itself (char_indices only, text_direction pruned).
 * Overhead per request = ensemble success.ns / count − Σ over its three steps of success.ns / count, from the
 * server's statistics over each window; figures are medians over the rounds.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { InferRequest } from '../../embedded-server/src/core/types.ts';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import type { RunningServer } from '../../embedded-server/src/index.ts';
import { identityModel, slowIdentityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { packageInfo } from '../../src/protocol/package-info.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import { describeDevice } from './device-info.ts';
import { loadStartServer } from './server-build.ts';

const USAGE = `usage: npm run bench:ensemble-overhead -- [options]
  --baseline DIR     also measure the build in DIR (a checkout after \`npm run build\`: DIR/dist/...), alternating
  --source           run this checkout's TypeScript sources through tsx instead of its dist/ build
  --rounds N         measured rounds per server (default 9, 1-99)
  --scale X          multiply the requests per window (default 1; 0.1-20)
  --out BASE         write BASE.json and BASE.md (default bench-results/ensemble-overhead)
  -h, --help`;

interface Options {
  baseline?: string;
  source: boolean;
  rounds: number;
  scale: number;
  out: string;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      baseline: { type: 'string' },
      source: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      scale: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const rounds = values.rounds === undefined ? 9 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 99)
    throw new Error(`--rounds: expected an integer 1-99, got '${values.rounds}'`);
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale < 0.1 || scale > 20)
    throw new Error(`--scale: expected a number 0.1-20, got '${values.scale}'`);
  return {
    ...(values.baseline !== undefined ? { baseline: resolve(values.baseline) } : {}),
    source: values.source ?? false,
    rounds,
    scale,
    out: values.out ?? currentResultBase('ensemble-overhead'),
  };
}

const VEC = 16;

function stepConfig(name: string, dynamic: boolean): string {
  return `name: "${name}" platform: "onnxruntime_onnx" max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ ${VEC} ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ ${VEC} ] } ]
${dynamic ? 'dynamic_batching { }' : ''}
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
`;
}

function chainConfig(name: string, steps: readonly string[]): string {
  const tensors = ['IN', 'T1', 'T2', 'OUT'];
  const stepText = steps
    .map(
      (model, i) =>
        `{ model_name: "${model}" model_version: -1 input_map { key: "INPUT0" value: "${tensors[i]}" } ` +
        `output_map { key: "OUTPUT0" value: "${tensors[i + 1]}" } }`,
    )
    .join(',\n');
  return `name: "${name}" platform: "ensemble" max_batch_size: 8
input [ { name: "IN" data_type: TYPE_FP32 dims: [ ${VEC} ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ ${VEC} ] } ]
ensemble_scheduling { step [ ${stepText} ] }
`;
}

interface Pipeline {
  ensemble: string;
  steps: readonly string[];
  /** Requests per window at --scale 1, and per server before the first round. */
  requests: number;
  warmup: number;
  request(): InferRequest;
}

function request(modelName: string, input: InferRequest['inputs'][number], output?: string): InferRequest {
  return {
    id: '',
    modelName,
    modelVersion: '',
    inputs: [input],
    outputs: output ? [{ name: output }] : [],
    parameters: {},
    priority: 0,
    timeoutUs: 0,
    binaryDataOutput: false,
    receivedNs: 0,
  };
}

const PIPELINES: readonly Pipeline[] = [
  {
    ensemble: 'chain_fast',
    steps: ['pre_fast', 'mid_fast', 'post_fast'],
    requests: 600,
    warmup: 3000,
    request: () =>
      request('chain_fast', { name: 'IN', datatype: 'FP32', shape: [1, VEC], data: new Uint8Array(VEC * 4) }),
  },
  {
    ensemble: 'chain_slow',
    steps: ['pre_slow', 'mid_slow', 'post_slow'],
    requests: 150,
    warmup: 600,
    request: () =>
      request('chain_slow', { name: 'IN', datatype: 'FP32', shape: [1, VEC], data: new Uint8Array(VEC * 4) }),
  },
  {
    ensemble: 'text_recognition_pipeline',
    steps: ['ocr_preprocess', 'text_recognition', 'ocr_ctc_argmax'],
    requests: 40,
    warmup: 300,
    request: () => {
      const data = new Uint8Array(48 * 192 * 3);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
      return request(
        'text_recognition_pipeline',
        { name: 'image', datatype: 'UINT8', shape: [1, 48, 192, 3], data },
        'char_indices',
      );
    },
  },
];

/** The embedded repository plus the two identity chains, in a temporary directory. */
async function buildRepository(): Promise<{ dir: string; remove(): Promise<void> }> {
  const root = await mkdtemp(join(os.tmpdir(), 'inferbench-bench-ensemble-overhead-'));
  const dir = await materializeEmbeddedRepository(join(root, 'models'));
  const identity = identityModel('FP32');
  // About 2-6 ms of matrix products on one thread: long enough to evict what the hand-off code had cached.
  const slow = slowIdentityModel({ iterations: 60, matrixSize: 128 });
  const models: Record<string, { config: string; onnx?: Uint8Array }> = {
    pre_fast: { config: stepConfig('pre_fast', true), onnx: identity },
    mid_fast: { config: stepConfig('mid_fast', false), onnx: identity },
    post_fast: { config: stepConfig('post_fast', true), onnx: identity },
    pre_slow: { config: stepConfig('pre_slow', true), onnx: identity },
    mid_slow: { config: stepConfig('mid_slow', false), onnx: slow },
    post_slow: { config: stepConfig('post_slow', true), onnx: identity },
    chain_fast: { config: chainConfig('chain_fast', ['pre_fast', 'mid_fast', 'post_fast']) },
    chain_slow: { config: chainConfig('chain_slow', ['pre_slow', 'mid_slow', 'post_slow']) },
  };
  for (const [name, m] of Object.entries(models)) {
    await mkdir(join(dir, name, '1'), { recursive: true });
    await writeFile(join(dir, name, 'config.pbtxt'), m.config);
    if (m.onnx) await writeFile(join(dir, name, '1', 'model.onnx'), m.onnx);
  }
  return { dir, remove: () => rm(root, { recursive: true, force: true }) };
}

type Success = Map<string, { count: number; ns: number }>;

function successOf(server: RunningServer, models: readonly string[]): Success {
  const out: Success = new Map();
  for (const m of models) {
    const s = server.core.modelStatistics(m, '')[0]?.inference_stats.success;
    out.set(m, { count: s?.count ?? 0, ns: s?.ns ?? 0 });
  }
  return out;
}

interface Window {
  overheadUs: number;
  ensembleUs: number;
  stepsUs: number;
}

async function runRequests(server: RunningServer, p: Pipeline, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await server.core.infer(p.request());
}

async function measureWindow(server: RunningServer, p: Pipeline, n: number): Promise<Window> {
  const models = [p.ensemble, ...p.steps];
  const before = successOf(server, models);
  await runRequests(server, p, n);
  const after = successOf(server, models);
  const meanUs = (m: string): number => {
    const a = after.get(m) as { count: number; ns: number };
    const b = before.get(m) as { count: number; ns: number };
    if (a.count - b.count !== n) throw new Error(`${m}: ${a.count - b.count} successes for ${n} requests`);
    return (a.ns - b.ns) / n / 1000;
  };
  const ensembleUs = meanUs(p.ensemble);
  const stepsUs = p.steps.reduce((sum, m) => sum + meanUs(m), 0);
  return { overheadUs: ensembleUs - stepsUs, ensembleUs, stepsUs };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Build {
  label: string;
  root: string;
  server: RunningServer;
  windows: Map<string, Window[]>;
}

async function main(): Promise<void> {
  let parsed: Options | 'help';
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const options = parsed;
  const device = await describeDevice();
  const repository = await buildRepository();
  const here = packageInfo().root;
  const builds: Build[] = [];
  const loadBefore = os.loadavg()[0] as number;
  const startedAt = new Date();
  try {
    const sources = [
      {
        label: options.source ? 'this checkout (sources, tsx)' : 'this checkout (dist)',
        root: here,
        source: options.source,
      },
      ...(options.baseline
        ? [{ label: `baseline (${options.baseline}, dist)`, root: options.baseline, source: false }]
        : []),
    ];
    for (const b of sources) {
      const start = await loadStartServer(b.root, b.source);
      const server = await start({ modelRepository: repository.dir });
      builds.push({
        label: b.label,
        root: b.root,
        server,
        windows: new Map(PIPELINES.map((p) => [p.ensemble, []])),
      });
    }
    for (const b of builds) {
      for (const p of PIPELINES) await runRequests(b.server, p, Math.ceil(p.warmup * options.scale));
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const p of PIPELINES) {
        for (const b of order) {
          const w = await measureWindow(b.server, p, Math.max(5, Math.round(p.requests * options.scale)));
          (b.windows.get(p.ensemble) as Window[]).push(w);
        }
      }
      console.log(
        `round ${round + 1}/${options.rounds}: ` +
          builds
            .map(
              (b) =>
                `${b.label}: ` +
                PIPELINES.map(
                  (p) =>
                    `${p.ensemble} ${(b.windows.get(p.ensemble)?.at(-1)?.overheadUs ?? Number.NaN).toFixed(1)}`,
                ).join(', '),
            )
            .join(' | '),
      );
    }
  } finally {
    for (const b of builds) await b.server.stop({ timeoutMs: 10_000 });
    await repository.remove();
  }
  const loadAfter = os.loadavg()[0] as number;

  const rows = builds.flatMap((b) =>
    PIPELINES.map((p) => {
      const ws = b.windows.get(p.ensemble) as Window[];
      return {
        build: b.label,
        ensemble: p.ensemble,
        requestsPerWindow: Math.max(5, Math.round(p.requests * options.scale)),
        windows: ws.length,
        overheadUs: median(ws.map((w) => w.overheadUs)),
        ensembleUs: median(ws.map((w) => w.ensembleUs)),
        stepsUs: median(ws.map((w) => w.stepsUs)),
        overheadPerWindowUs: ws.map((w) => Number(w.overheadUs.toFixed(1))),
      };
    }),
  );
  const machine = `${device.cpuModel} × ${device.cpuCount}, load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`;
  const record = {
    bench: 'ensemble-overhead',
    date: startedAt.toISOString(),
    machine,
    node: process.version,
    device,
    loadAverage: { before: loadBefore, after: loadAfter },
    rounds: options.rounds,
    scale: options.scale,
    builds: builds.map((b) => ({ label: b.label, root: b.root })),
    rows,
  };
  const fmt = (n: number) => n.toFixed(1);
  const md = [
    '# Ensemble overhead at c=1 (in-process, side by side)',
    '',
    `${record.date}, ${machine}, Node ${process.version}, onnxruntime-node ${device.onnxruntimeNode}, commit ${device.commit}.`,
    `Command: \`npm run bench:ensemble-overhead --${options.baseline ? ` --baseline ${options.baseline}` : ''}${options.source ? ' --source' : ''} --rounds ${options.rounds} --scale ${options.scale}\`.`,
    '',
    'Requests go straight to each server core, one at a time (c=1, no transport). Overhead per request = the',
    "ensemble's mean request time − the sum of its three steps' mean request times (Triton's intervals, from the",
    `server's statistics over each window); medians over ${options.rounds} rounds; in each round every build runs`,
    'each pipeline once, builds alternating first. `chain_fast`: three FP32 identities; `chain_slow`: its middle',
    'step computes for a few ms (the hand-offs after it run on caches that computation evicted);',
    '`text_recognition_pipeline`: the bundled OCR pipeline (char_indices only). The first and last step of each',
    'chain have `dynamic_batching { }`, the middle one none, as in the OCR pipeline.',
    '',
    '| build | ensemble | requests/window | overhead µs/req | ensemble request µs | Σ step requests µs | overhead per window µs |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.build} | ${r.ensemble} | ${r.requestsPerWindow} | ${fmt(r.overheadUs)} | ${fmt(r.ensembleUs)} | ${fmt(r.stepsUs)} | ${r.overheadPerWindowUs.join(', ')} |`,
    ),
    '',
  ].join('\n');
  const written = writeBenchResults(options.out, {
    json: record,
    markdown: md,
    summary: rows
      .filter((r) => r.build === builds[0]?.label)
      .map((r) => `${r.ensemble} ${fmt(r.overheadUs)} µs`)
      .join(', '),
  });
  console.log(md);
  console.log(`written: ${written.join(', ')}`);
}

await main();
