/**
 * bench:analyze — quick vs brute on one model, side by side in one session, on the bundled server: the same
 * search space, load levels, windows and constraint; reports quick's best throughput as a fraction of brute's
 * and quick's load levels measured as a fraction of brute's (issue #16 targets: ≥ 95 % in ≤ 40 %). Writes
 * bench-results/analyze-<model>-<device>.{json,md}.
 *
 *   npm run bench:analyze -- [--model text_direction] [--window-ms 500] [--device cpu|gpu]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { main } from '../../src/cli/main.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'text_direction' },
    'window-ms': { type: 'string', default: '500' },
    device: { type: 'string', default: 'cpu' },
  },
});
const model = values.model as string;
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

interface Summary {
  mode: string;
  configsTried: number;
  spaceConfigs: number;
  measurements: number;
  best?: string;
  bestThroughput?: number;
  bestP95Ms?: number;
  wallS: number;
}

async function run(mode: 'brute' | 'quick', dir: string): Promise<Summary> {
  const json = join(dir, `${mode}.json`);
  const started = performance.now();
  let stderr = '';
  const code = await main(['analyze', '-m', model, '--mode', mode, ...space, '--json', json, '--quiet'], {
    stdout: { write: () => true },
    stderr: { write: (t: string) => (stderr += t) },
  });
  if (code !== 0 && code !== 1) throw new Error(`analyze --mode ${mode} exited ${code}: ${stderr}`);
  const record = JSON.parse(readFileSync(json, 'utf8'));
  const top = record.ranking[0];
  return {
    mode,
    configsTried: record.trials.length,
    spaceConfigs: record.spaceConfigs,
    measurements: record.measurements,
    best: record.best?.key,
    bestThroughput: record.best ? top.figures.throughput : undefined,
    bestP95Ms: record.best ? top.figures.p95_latency / 1000 : undefined,
    wallS: (performance.now() - started) / 1000,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'inferbench-bench-analyze-'));
try {
  const brute = await run('brute', dir);
  const quick = await run('quick', dir);
  const throughputRatio =
    brute.bestThroughput && quick.bestThroughput ? quick.bestThroughput / brute.bestThroughput : undefined;
  const measurementRatio = quick.measurements / brute.measurements;
  const command = `npm run bench:analyze -- --model ${model} --window-ms ${values['window-ms']} --device ${device}`;
  const result = {
    command,
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() },
    space: space.join(' '),
    brute,
    quick,
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
    `Quick's best throughput = ${pct(throughputRatio)} of brute's (target ≥ 95 %), in ${pct(measurementRatio)} of brute's measurements (target ≤ 40 %): targets ${result.targetsMet ? 'met' : 'NOT met'}.`,
    '',
  ].join('\n');
  mkdirSync('bench-results', { recursive: true });
  const base = join('bench-results', `analyze-${model}-${device}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, md);
  process.stdout.write(md);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
