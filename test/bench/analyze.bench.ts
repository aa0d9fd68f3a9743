/**
 * bench:analyze — quick vs brute on one model, side by side in one session, on the bundled server: the same
 * search space, load levels, windows and constraint; reports quick's best throughput as a fraction of brute's
 * and quick's load levels measured as a fraction of brute's (issue #16 targets: ≥ 95 % in ≤ 40 %). Writes
 * bench-results/analyze-<model>-<device>.{json,md} (the run it replaces goes to bench-results/history/).
 *
 * Each search re-measures its leaders (the analyze default, --confirm-top 2). Then, so that the comparison is
 * not one lucky window against another, the two picks are measured again side by side under identical
 * conditions: ROUNDS rounds, each measuring both picks at their chosen load level in alternating order (a
 * one-config analyze run each, same windows); the throughput ratio is judged on the medians.
 *
 *   npm run bench:analyze -- [--model text_direction] [--window-ms 500] [--device cpu|gpu] [--state-dir DIR]
 *
 * With --state-dir the run survives being cut off (a 10-minute limit per command on the GPU host): each search
 * checkpoints its record there after every config and is continued with analyze's --resume, each side-by-side
 * re-measure is kept once done, and the progress log goes to DIR/<mode>.log. Run the same command again until it
 * writes the results; the directory is left in place (delete it to start over).
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { levelsMeasured } from '../../src/analyze/trial.ts';
import { main } from '../../src/cli/main.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'text_direction' },
    'window-ms': { type: 'string', default: '500' },
    device: { type: 'string', default: 'cpu' },
    'state-dir': { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const model = values.model as string;
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 0 || ROUNDS > 20)
  throw new Error(`--rounds ${values.rounds}: want 0..20`);
const device = values.device as string;
const space = [
  '--max-batch-size',
  '1,4,16,64',
  '--dynamic-batching',
  'on',
  '--max-queue-delay',
  '0,1000,5000',
  '--instance-count',
  '1,2',
  '--instance-kind',
  device,
  '--concurrency',
  '1,4,16,64',
  '--constraint',
  'p95_latency<=100ms',
  '-p',
  values['window-ms'] as string,
  '-r',
  '5',
];

interface LevelJson {
  value: number;
  status: string;
  figures: Record<string, number>;
}

function levelText(l: LevelJson): string {
  const t = l.figures.throughput;
  const p95 = l.figures.p95_latency;
  return `c=${l.value} ${l.status} ${t === undefined ? '–' : t.toFixed(1)} ${p95 === undefined ? '–' : (p95 / 1000).toFixed(1)}`;
}

interface Summary {
  mode: string;
  candidate?: Record<string, unknown>;
  level?: number;
  bestSamples?: number;
  top: { key: string; throughput?: number; p95Ms?: number; level?: number; samples?: number }[];
  /** Every config tried: its levels and re-measures as `c=<level> <status> <infer/s> <p95 ms>`. */
  trials: { key: string; levels: string[]; remeasures: string[] }[];
  configsTried: number;
  spaceConfigs: number;
  measurements: number;
  best?: string;
  bestThroughput?: number;
  bestP95Ms?: number;
  wallS: number;
  /** 1-minute load average when the search ended (absent in records of older runs). */
  loadAfter?: number;
}

async function run(mode: 'brute' | 'quick', dir: string): Promise<Summary> {
  const json = join(dir, `${mode}.json`);
  const doneFile = join(dir, `${mode}.done.json`);
  if (existsSync(doneFile)) return JSON.parse(readFileSync(doneFile, 'utf8')) as Summary;
  // Wall time of earlier, cut-off attempts (kept in the state dir) counts towards this search's.
  const wallFile = join(dir, `${mode}.wall-s`);
  const earlierWallS = existsSync(wallFile) ? Number(readFileSync(wallFile, 'utf8')) : 0;
  const started = performance.now();
  const log = join(dir, `${mode}.log`);
  const tick = setInterval(
    () => writeFileSync(wallFile, String(earlierWallS + (performance.now() - started) / 1000)),
    1000,
  );
  let stderr = '';
  const resume = existsSync(json) ? ['--resume', json] : [];
  const code = await main(['analyze', '-m', model, '--mode', mode, ...space, ...resume, '--json', json], {
    stdout: {
      write: (t: string) => {
        appendFileSync(log, t);
        return true;
      },
    },
    stderr: {
      write: (t: string) => {
        appendFileSync(log, t);
        stderr += t;
        return true;
      },
    },
  });
  clearInterval(tick);
  if (code !== 0 && code !== 1) throw new Error(`analyze --mode ${mode} exited ${code}: ${stderr}`);
  const record = JSON.parse(readFileSync(json, 'utf8'));
  const top = record.ranking[0];
  const trial = record.trials.find((t: { key: string }) => t.key === top?.key);
  const summary: Summary = {
    mode,
    candidate: record.best ? trial?.candidate : undefined,
    level: record.best ? top.level?.value : undefined,
    bestSamples: record.best ? (top.samples ?? 1) : undefined,
    trials: record.trials.map((t: { key: string; levels: LevelJson[]; confirmations?: LevelJson[] }) => ({
      key: t.key,
      levels: t.levels.map(levelText),
      remeasures: (t.confirmations ?? []).map(levelText),
    })),
    top: record.ranking
      .filter((r: { feasible: boolean }) => r.feasible)
      .slice(0, 5)
      .map(
        (r: {
          key: string;
          figures: Record<string, number>;
          level: { value: number };
          samples?: number;
        }) => ({
          key: r.key,
          throughput: r.figures.throughput,
          p95Ms: (r.figures.p95_latency as number) / 1000,
          level: r.level.value,
          samples: r.samples ?? 1,
        }),
      ),
    configsTried: record.trials.length,
    spaceConfigs: record.spaceConfigs,
    // Every level of the record, re-measures included: after a resume (--state-dir) record.measurements
    // holds only the last attempt's.
    measurements: levelsMeasured(record.trials),
    best: record.best?.key,
    bestThroughput: record.best ? top.figures.throughput : undefined,
    bestP95Ms: record.best ? top.figures.p95_latency / 1000 : undefined,
    wallS: earlierWallS + (performance.now() - started) / 1000,
    loadAfter: loadavg()[0] as number,
  };
  writeFileSync(doneFile, JSON.stringify(summary));
  return summary;
}

/** One config at one concurrency, measured as the search measures a level: throughput and p95. */
async function remeasure(
  s: Summary,
  dir: string,
  tag: string,
): Promise<{ throughput: number; p95Ms: number }> {
  const c = s.candidate as {
    maxBatchSize: number;
    dynamicBatching: boolean;
    maxQueueDelayUs: number;
    instanceCount: number;
  };
  const json = join(dir, `${tag}.json`);
  const doneFile = join(dir, `${tag}.done.json`);
  if (existsSync(doneFile)) return JSON.parse(readFileSync(doneFile, 'utf8'));
  const args = [
    'analyze',
    '-m',
    model,
    '--mode',
    'brute',
    '--max-batch-size',
    String(c.maxBatchSize),
    '--dynamic-batching',
    c.dynamicBatching ? 'on' : 'off',
    '--max-queue-delay',
    String(c.maxQueueDelayUs),
    '--instance-count',
    String(c.instanceCount),
    '--instance-kind',
    device,
    '--concurrency',
    String(s.level),
    '--confirm-top',
    '0',
    '-p',
    values['window-ms'] as string,
    '-r',
    '5',
    '--json',
    json,
    '--quiet',
  ];
  let stderr = '';
  const code = await main(args, {
    stdout: { write: () => true },
    stderr: { write: (t: string) => (stderr += t) },
  });
  if (code !== 0 && code !== 1) throw new Error(`re-measure ${tag} exited ${code}: ${stderr}`);
  const figures = JSON.parse(readFileSync(json, 'utf8')).ranking[0]?.figures ?? {};
  const measured = { throughput: figures.throughput ?? 0, p95Ms: (figures.p95_latency ?? Number.NaN) / 1000 };
  writeFileSync(doneFile, JSON.stringify(measured));
  return measured;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const stateDir = values['state-dir'] as string | undefined;
if (stateDir !== undefined) mkdirSync(stateDir, { recursive: true });
const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'inferbench-bench-analyze-'));
// The host and the load before are those of the run's first attempt (kept in the state dir), so that a report
// rendered later, or on another machine from a copied state dir, names the machine that measured.
const hostFile = join(dir, 'host.json');
if (!existsSync(hostFile))
  writeFileSync(
    hostFile,
    JSON.stringify({ cpus: cpus().length, cpuModel: cpus()[0]?.model.trim(), loadBefore: loadavg()[0] }),
  );
const firstAttempt = JSON.parse(readFileSync(hostFile, 'utf8')) as {
  cpus: number;
  cpuModel: string;
  loadBefore: number | null;
};
const loadBefore = firstAttempt.loadBefore;
try {
  const brute = await run('brute', dir);
  const quick = await run('quick', dir);
  const searchRatio =
    brute.bestThroughput && quick.bestThroughput ? quick.bestThroughput / brute.bestThroughput : undefined;
  // Side by side: both picks, alternating order per round.
  const side: { brute: number[]; quick: number[]; bruteP95Ms: number[]; quickP95Ms: number[] } = {
    brute: [],
    quick: [],
    bruteP95Ms: [],
    quickP95Ms: [],
  };
  if (brute.candidate && quick.candidate) {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['brute', 'quick'] as const) : (['quick', 'brute'] as const);
      for (const mode of order) {
        const r = await remeasure(mode === 'brute' ? brute : quick, dir, `${mode}-${round}`);
        side[mode].push(r.throughput);
        side[mode === 'brute' ? 'bruteP95Ms' : 'quickP95Ms'].push(r.p95Ms);
      }
    }
  }
  // Without side-by-side rounds (--rounds 0) the targets are judged on the searches' own figures.
  const throughputRatio = side.brute.length > 0 ? median(side.quick) / median(side.brute) : searchRatio;
  const loadAfter = ROUNDS > 0 ? (loadavg()[0] as number) : quick.loadAfter;
  const measurementRatio = quick.measurements / brute.measurements;
  const command = `npm run bench:analyze -- --model ${model} --window-ms ${values['window-ms']} --device ${device}${ROUNDS !== 3 ? ` --rounds ${ROUNDS}` : ''}`;
  const result = {
    command,
    host: { cpus: firstAttempt.cpus, cpuModel: firstAttempt.cpuModel },
    space: space.join(' '),
    loadAverage: { before: loadBefore, after: loadAfter },
    brute,
    quick,
    searchRatio,
    sideBySide: { rounds: ROUNDS, ...side },
    throughputRatio,
    measurementRatio,
    targetsMet: throughputRatio !== undefined && throughputRatio >= 0.95 && measurementRatio <= 0.4,
  };
  const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(1)} %`);
  const row = (s: Summary) =>
    `| ${s.mode} | ${s.configsTried} / ${s.spaceConfigs} | ${s.measurements} | ${s.best ?? 'none'} | ${s.bestThroughput?.toFixed(1) ?? '–'} | ${s.bestP95Ms?.toFixed(2) ?? '–'} | ${s.wallS.toFixed(0)} |`;
  const md = [
    `# analyze: quick vs brute, ${model} on ${device} (${result.host.cpus} × ${result.host.cpuModel})`,
    '',
    `Command: \`${command}\``,
    '',
    `Space and settings: \`${result.space}\``,
    '',
    '| mode | configs tried | levels measured | best config | infer/s | p95 ms | wall s |',
    '|---|---:|---:|---|---:|---:|---:|',
    row(brute),
    row(quick),
    '',
    `Load average (1 min): ${loadBefore?.toFixed(2) ?? '–'} before, ${loadAfter?.toFixed(2) ?? '–'} after. Best figures are the`,
    `mean of the measurements of the chosen level (brute: ${brute.bestSamples ?? '–'}, quick: ${quick.bestSamples ?? '–'}).`,
    '',
    'Top feasible configs of each search (infer/s at the level, p95 ms, measurements of that level):',
    '',
    ...(['brute', 'quick'] as const).flatMap((m) =>
      (m === 'brute' ? brute : quick).top.map(
        (t, i) =>
          `- ${m} #${i + 1}: ${t.key} @ c=${t.level}: ${t.throughput?.toFixed(1)} infer/s, p95 ${t.p95Ms?.toFixed(2)} ms (×${t.samples})` +
          ((m === 'brute' ? brute : quick).trials
            .find((x) => x.key === t.key)
            ?.remeasures.map((r) => `; re-measured ${r}`)
            .join('') ?? ''),
      ),
    ),
    '',
    'Every config tried (the JSON file has the same per level: `c=<level> <status> <infer/s> <p95 ms>`):',
    '',
    ...(['brute', 'quick'] as const).flatMap((m) =>
      (m === 'brute' ? brute : quick).trials.map(
        (t) =>
          `- ${m}: ${t.key}: ${t.levels.join(' | ')}${t.remeasures.length ? ` ‖ re-measured: ${t.remeasures.join(' | ')}` : ''}`,
      ),
    ),
    '',
    ROUNDS > 0
      ? `The two picks measured again side by side (${ROUNDS} rounds, alternating order), infer/s: brute's pick ` +
        `${side.brute.map((v) => v.toFixed(1)).join(', ')} (median ${side.brute.length ? median(side.brute).toFixed(1) : '–'}); ` +
        `quick's pick ${side.quick.map((v) => v.toFixed(1)).join(', ')} (median ${side.quick.length ? median(side.quick).toFixed(1) : '–'}).`
      : 'The two picks were not measured again side by side (--rounds 0): the ratio below is the searches’ own.',
    '',
    `As the searches reported them, quick's best = ${pct(searchRatio)} of brute's. ${ROUNDS > 0 ? 'Side by side, ' : ''}quick's pick = ` +
      `${pct(throughputRatio)} of brute's pick (target ≥ 95 %), found in ${pct(measurementRatio)} of brute's ` +
      `measurements (target ≤ 40 %): targets ${result.targetsMet ? 'met' : 'NOT met'}.`,
    '',
  ].join('\n');
  writeBenchResults(currentResultBase(`analyze-${model}-${device}`), {
    json: result,
    markdown: md,
    summary: `quick ${quick.measurements} of brute's ${brute.measurements} levels (${pct(measurementRatio)}), its pick ${pct(throughputRatio)} of brute's`,
  });
  process.stdout.write(md);
} finally {
  if (stateDir === undefined) rmSync(dir, { recursive: true, force: true });
}
