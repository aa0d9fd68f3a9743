/**
 * bench:shards-merge — does a sharded run agree with one process? Against the bundled server with a fixed
 * execution delay (model `simple`, inferbench.execution_delay_us, enough instances for the concurrency), one
 * generator process at total concurrency C and `--shards N --local` at the same total C, alternated R times
 * (one after the other, so both see the same machine), same windows and stability settings. Target (#17):
 * sharded/single throughput within 5 %, p50 and p99 within 10 % — medians of the R pairs. Writes
 * bench-results/shards-merge.{json,md} with the load average before and after.
 *   npm run bench:shards-merge [-- --repeat 3 --concurrency 16 --shards 4 --window-ms 2000 --delay-us 5000]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { startEmbeddedServerProcess } from '../../src/cli/embedded-process.ts';
import { materializeConfigOverrides } from '../../src/config/materialize-overrides.ts';
import type { RunResult } from '../../src/report/model.ts';
import { runProfile } from '../helpers/run-profile.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';

const { values: args } = parseArgs({
  options: {
    repeat: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    shards: { type: 'string', default: '4' },
    'window-ms': { type: 'string', default: '2000' },
    'delay-us': { type: 'string', default: '5000' },
    out: { type: 'string', default: currentResultBase('shards-merge') },
  },
});
const REPEAT = Number(args.repeat);
const CONCURRENCY = Number(args.concurrency);
const SHARDS = Number(args.shards);
const WINDOW_MS = Number(args['window-ms']);
const DELAY_US = Number(args['delay-us']);
for (const [name, v] of Object.entries({ REPEAT, CONCURRENCY, SHARDS, WINDOW_MS, DELAY_US })) {
  if (!Number.isInteger(v) || v < 1 || v > 1_000_000) throw new Error(`bad ${name}: ${v}`);
}
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Figures {
  throughputPerSec: number;
  p50Us: number;
  p99Us: number;
  requests: number;
  status: string;
  exitCode: number;
}

function figuresOf(record: RunResult | undefined, code: number): Figures {
  const level = record?.levels[0];
  const m = level?.merged;
  return {
    throughputPerSec: m?.throughputPerSec ?? 0,
    p50Us: m?.latency.percentilesUs['50'] ?? 0,
    p99Us: m?.latency.percentilesUs['99'] ?? 0,
    requests: m?.requestCount ?? 0,
    status: level?.status ?? 'none',
    exitCode: code,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const loadBefore = loadavg();
const base = await materializeEmbeddedRepository();
const copy = await materializeConfigOverrides(base, {
  simple: `parameters { key: "inferbench.execution_delay_us" value: { string_value: "${DELAY_US}" } }\ninstance_group { count: ${CONCURRENCY} kind: KIND_CPU }`,
});
const server = await startEmbeddedServerProcess({ modelRepository: copy.dir });
const pairs: { single: Figures; sharded: Figures }[] = [];
try {
  const common = [
    '-m',
    'simple',
    '-u',
    server.httpUrl,
    '--concurrency-range',
    String(CONCURRENCY),
    '-p',
    String(WINDOW_MS),
    '-r',
    '5',
    '-s',
    '30',
    '--json',
    'run.json',
    '--no-progress',
    '--quiet',
  ];
  for (let k = 1; k <= REPEAT; k++) {
    const one = await runProfile(common);
    const single = figuresOf(one.record, one.code);
    const many = await runProfile([...common, '--shards', String(SHARDS), '--local']);
    const sharded = figuresOf(many.record, many.code);
    if (many.code !== 0 && many.code !== 2) log(many.stderr);
    pairs.push({ single, sharded });
    log(
      `pair ${k}: single ${single.throughputPerSec.toFixed(1)}/s p50 ${single.p50Us} p99 ${single.p99Us} (${single.status}); ` +
        `${SHARDS} shards ${sharded.throughputPerSec.toFixed(1)}/s p50 ${sharded.p50Us} p99 ${sharded.p99Us} (${sharded.status})`,
    );
  }
} finally {
  await server.stop();
  await copy.dispose();
}
const loadAfter = loadavg();
const ratio = (f: (x: Figures) => number) => median(pairs.map((p) => f(p.sharded) / f(p.single)));
const result = {
  benchmark: 'shards-merge',
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadAfter,
  },
  settings: {
    concurrency: CONCURRENCY,
    shards: SHARDS,
    windowMs: WINDOW_MS,
    maxTrials: 5,
    stabilityPct: 30,
    delayUs: DELAY_US,
    repeat: REPEAT,
  },
  pairs,
  medianRatios: {
    throughput: ratio((x) => x.throughputPerSec),
    p50: ratio((x) => x.p50Us),
    p99: ratio((x) => x.p99Us),
  },
};
const within = (r: number, tol: number) => Math.abs(r - 1) <= tol;
const met = {
  throughput: within(result.medianRatios.throughput, 0.05),
  p50: within(result.medianRatios.p50, 0.1),
  p99: within(result.medianRatios.p99, 0.1),
};
const pct = (r: number) => `${((r - 1) * 100).toFixed(1)} %`;
const markdown = `# bench:shards-merge

\`npm run bench:shards-merge -- --repeat ${REPEAT} --concurrency ${CONCURRENCY} --shards ${SHARDS} --window-ms ${WINDOW_MS} --delay-us ${DELAY_US}\`, ${result.date}

One generator process at concurrency ${CONCURRENCY} vs \`--shards ${SHARDS} --local\` at total concurrency ${CONCURRENCY},
alternated ${REPEAT} times, against the bundled server (model \`simple\` with a ${DELAY_US} µs execution delay and ${CONCURRENCY} instances),
${WINDOW_MS} ms windows, at most 5, stability ±30 %. Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, load average
before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (shared with other work).

| pair | single infer/s | sharded infer/s | single p50 µs | sharded p50 µs | single p99 µs | sharded p99 µs |
| ---- | -------------- | --------------- | ------------- | -------------- | ------------- | -------------- |
${pairs.map((p, i) => `| ${i + 1} | ${p.single.throughputPerSec.toFixed(1)} (${p.single.status}) | ${p.sharded.throughputPerSec.toFixed(1)} (${p.sharded.status}) | ${p.single.p50Us} | ${p.sharded.p50Us} | ${p.single.p99Us} | ${p.sharded.p99Us} |`).join('\n')}

Median sharded/single: throughput ${pct(result.medianRatios.throughput)} (target ±5 %: ${met.throughput ? 'met' : 'NOT met'}),
p50 ${pct(result.medianRatios.p50)} (±10 %: ${met.p50 ? 'met' : 'NOT met'}), p99 ${pct(result.medianRatios.p99)} (±10 %: ${met.p99 ? 'met' : 'NOT met'}).
`;
const written = writeBenchResults(args.out as string, {
  json: { ...result, met },
  markdown,
  summary: `throughput ${pct(result.medianRatios.throughput)}, p50 ${pct(result.medianRatios.p50)}, p99 ${pct(result.medianRatios.p99)}`,
});
process.stdout.write(markdown);
log(`wrote ${written.join(', ')}`);
