/**
 * bench:accuracy — the load generator's figures against theory, on a fake KServe server (its own worker
 * thread) that answers every request exactly D = 200 ms after it arrived. Closed loop at concurrency C:
 * throughput = C / D and latency = D (Little's law); open loop at 40 req/s: latency = D and the achieved and
 * send rates = the asked rate. Target: throughput, rates and p50 latency within 5 % of theory, the mean within
 * 10 %. Wall-clock figures, so they live here and not in the test suite (test/e2e/accuracy.test.ts keeps the
 * one-sided checks that no machine load can break). Each scenario runs ROUNDS times; medians are judged.
 *
 *   npm run bench:accuracy -- [--rounds 5]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Measurement } from '../../src/report/model.ts';
import { startFakeKServeInWorker } from '../helpers/fake-kserve-server.ts';
import { runProfile } from '../helpers/run-profile.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';

const DELAY_MS = 200;
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 50) throw new Error('--rounds: a whole number 1..50');

interface Figure {
  what: string;
  expected: number;
  tolerance: number;
  read: (m: Measurement) => number;
}
const CONCURRENCY = 8;
const RATE = 40;
const common = ['--warmup-request-count', '8', '-s', '25', '-r', '8', '--json', 'run.json', '--no-progress'];
const scenarios: { name: string; argv: (url: string) => string[]; figures: Figure[] }[] = [
  {
    name: `closed loop, concurrency ${CONCURRENCY}`,
    argv: (url) => [
      ...['-m', 'fixed', '-u', url, '--concurrency-range', String(CONCURRENCY)],
      ...['--measurement-mode', 'count_windows', '--measurement-request-count', '40', ...common],
    ],
    figures: [
      {
        what: 'throughput (infer/s)',
        expected: (CONCURRENCY * 1000) / DELAY_MS,
        tolerance: 0.05,
        read: (m) => m.throughputPerSec,
      },
      {
        what: 'p50 latency (ms)',
        expected: DELAY_MS,
        tolerance: 0.05,
        read: (m) => m.latency.percentilesUs['50']! / 1000,
      },
      { what: 'mean latency (ms)', expected: DELAY_MS, tolerance: 0.1, read: (m) => m.latency.meanUs / 1000 },
    ],
  },
  {
    name: `open loop, ${RATE} req/s`,
    argv: (url) => [
      '-m',
      'fixed',
      '-u',
      url,
      '--request-rate-range',
      String(RATE),
      '--async',
      '-p',
      '1500',
      ...common,
    ],
    figures: [
      { what: 'achieved rate (infer/s)', expected: RATE, tolerance: 0.05, read: (m) => m.throughputPerSec },
      { what: 'send rate (req/s)', expected: RATE, tolerance: 0.05, read: (m) => m.sendRatePerSec },
      {
        what: 'p50 latency from the intended send (ms)',
        expected: DELAY_MS,
        tolerance: 0.05,
        read: (m) => m.latency.percentilesUs['50']! / 1000,
      },
      {
        what: 'mean latency from the intended send (ms)',
        expected: DELAY_MS,
        tolerance: 0.1,
        read: (m) => m.latency.meanUs / 1000,
      },
    ],
  },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const loadBefore = loadavg();
const server = await startFakeKServeInWorker({
  models: [
    {
      name: 'fixed',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [4] }],
    },
  ],
  delayMs: DELAY_MS,
});
const rows: {
  scenario: string;
  what: string;
  expected: number;
  values: number[];
  median: number;
  offPct: number;
  met: boolean;
}[] = [];
try {
  for (const scenario of scenarios) {
    const samples: Measurement[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = await runProfile(scenario.argv(server.url));
      if (r.code !== 0) throw new Error(`${scenario.name}: exit ${r.code}\n${r.stderr}`);
      samples.push(r.record!.levels[0]!.merged!);
    }
    for (const f of scenario.figures) {
      const values = samples.map(f.read);
      const med = median(values);
      const off = Math.abs(med - f.expected) / f.expected;
      rows.push({
        scenario: scenario.name,
        what: f.what,
        expected: f.expected,
        values,
        median: med,
        offPct: off * 100,
        met: off <= f.tolerance,
      });
    }
  }
} finally {
  await server.close();
}
const loadAfter = loadavg();
const md = [
  '# bench:accuracy — figures against theory (fixed-delay fake server, D = 200 ms)',
  '',
  `\`npm run bench:accuracy -- --rounds ${ROUNDS}\` · ${new Date().toISOString()} · Node ${process.version} · load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`,
  '',
  '| scenario | figure | theory | median | off | target | met | rounds |',
  '|---|---|---:|---:|---:|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.scenario} | ${r.what} | ${r.expected} | ${r.median.toFixed(2)} | ${r.offPct.toFixed(2)} % | ${r.what.startsWith('mean') ? '≤ 10 %' : '≤ 5 %'} | ${r.met ? 'yes' : 'NO'} | ${r.values.map((v) => v.toFixed(1)).join(', ')} |`,
  ),
  '',
].join('\n');
writeBenchResults(currentResultBase('accuracy'), {
  json: { delayMs: DELAY_MS, rounds: ROUNDS, loadBefore, loadAfter, rows },
  markdown: md,
});
process.stdout.write(md);
