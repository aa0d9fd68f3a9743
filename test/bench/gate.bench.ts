/**
 * `npm run bench:gate`: does `compare` cry wolf, and does it catch a real slowdown? Against the bundled server
 * on this machine (127.0.0.1), with the model `simple` given a fixed per-execution delay (model parameter
 * inferbench.execution_delay_us) so latency is mostly a known sleep:
 *   A/A  — N pairs of identical runs against the same server  → target: at most 1 of 20 pairs regressed;
 *   A/B  — the same against a server whose delay adds 20 % of the measured latency → target: ≥ 19/20 regressed;
 *   A/B2 — a 2 % slowdown → target: none regressed (inconclusive or unchanged).
 * Each side of a pair is one record of `--repeat R` runs (fresh connections each), compared at the default
 * settings (95 %, min effect 5 %). The slow servers' extra delay is calibrated from a first run of the base
 * server, so "20 %" is 20 % of the latency the client measures. Writes bench-results/gate.{json,md} with the
 * conditions (CPU model, cores, load average before and after). Bounded: about 3–5 minutes at the defaults.
 */

import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { type EmbeddedServerProcess, startEmbeddedServerProcess } from '../../src/cli/embedded-process.ts';
import { parseProfileArgs } from '../../src/cli/options.ts';
import { resolveSettings } from '../../src/cli/resolve-settings.ts';
import { runBenchmark } from '../../src/cli/run-benchmark.ts';
import { materializeConfigOverrides } from '../../src/config/materialize-overrides.ts';
import { type ComparableRun, comparableFromRecord } from '../../src/gate/comparable.ts';
import { type CompareResult, compareRuns, DEFAULT_COMPARE_METRICS } from '../../src/gate/compare.ts';
import { packageInfo } from '../../src/protocol/package-info.ts';
import type { RunResult } from '../../src/report/model.ts';
import { writeBenchResults } from './bench-results.ts';

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '20' },
    repeat: { type: 'string', default: '3' },
    'window-ms': { type: 'string', default: '300' },
    'delay-us': { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench-results/gate' },
  },
});
const PAIRS = Number(args.pairs);
const REPEAT = Number(args.repeat);
const WINDOW_MS = Number(args['window-ms']);
const DELAY_US = Number(args['delay-us']);
const CONCURRENCY = Number(args.concurrency);
for (const [name, v] of Object.entries({ PAIRS, REPEAT, WINDOW_MS, DELAY_US, CONCURRENCY })) {
  if (!Number.isInteger(v) || v < 1 || v > 10_000_000) throw new Error(`bad ${name}: ${v}`);
}

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Server {
  label: string;
  delayUs: number;
  process: EmbeddedServerProcess;
  dispose(): Promise<void>;
}

async function startServer(label: string, delayUs: number): Promise<Server> {
  const base = await materializeEmbeddedRepository();
  const copy = await materializeConfigOverrides(base, {
    simple: `parameters { key: "inferbench.execution_delay_us" value: { string_value: "${Math.round(delayUs)}" } }`,
  });
  try {
    const process = await startEmbeddedServerProcess({ modelRepository: copy.dir });
    return { label, delayUs, process, dispose: copy.dispose };
  } catch (e) {
    await copy.dispose();
    throw e;
  }
}

const files = { exists: () => false, readText: () => '' };
const abort = new AbortController();
process.on('SIGINT', () => abort.abort());

/** One record: `--repeat R` runs of one level, 3 windows each (the stability rule effectively off). */
async function record(server: Server): Promise<RunResult> {
  const flags = parseProfileArgs(
    [
      '-m',
      'simple',
      '-u',
      server.process.httpUrl,
      '--concurrency-range',
      String(CONCURRENCY),
      '-p',
      String(WINDOW_MS),
      '-s',
      '1000',
      '--repeat',
      String(REPEAT),
      '--quiet',
    ],
    'inferbench',
  );
  const resolved = resolveSettings(flags, { programName: 'inferbench', files });
  const result = await runBenchmark(resolved, { onEvent: () => undefined, signal: abort.signal });
  if (result.exitCode !== 0)
    throw new Error(`run against ${server.label} ended with exit code ${result.exitCode}`);
  return result;
}

const compareOptions = {
  confidence: 0.95,
  minEffect: 0.05,
  metrics: [...DEFAULT_COMPARE_METRICS],
  errorRateTolerance: 0.001,
};

interface PairOutcome {
  pair: number;
  regressed: string[];
  inconclusive: string[];
  /** avg_latency change and interval, for the summary. */
  avgLatency: string;
}

function outcome(pair: number, r: CompareResult): PairOutcome {
  const avg = r.changes.find((c) => c.metric === 'avg_latency');
  const f = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
  return {
    pair,
    regressed: r.changes
      .filter((c) => c.verdict === 'regressed' || c.verdict === 'missing')
      .map((c) => c.metric),
    inconclusive: r.changes.filter((c) => c.verdict === 'inconclusive').map((c) => c.metric),
    avgLatency:
      avg?.change !== undefined && avg.interval
        ? `${f(avg.change)} [${f(avg.interval.lower)}, ${f(avg.interval.upper)}]`
        : '—',
  };
}

const started = Date.now();
const host = {
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  cores: cpus().length,
  loadAverageBefore: loadavg(),
};
log(
  `bench:gate: ${PAIRS} pairs × 3 experiments, --repeat ${REPEAT}, ${WINDOW_MS} ms windows, c=${CONCURRENCY}, base delay ${DELAY_US} µs; load average ${host.loadAverageBefore.map((x) => x.toFixed(2)).join(' ')}`,
);
const servers: Server[] = [];
try {
  const base = await startServer('base', DELAY_US);
  servers.push(base);
  // Calibration: the latency the client measures on the base server; the slow servers add 20 % / 2 % of it.
  const calibration = comparableFromRecord(await record(base), 'calibration');
  const latencyUs = calibration.levels[0]?.metrics.avg_latency;
  if (!latencyUs) throw new Error('calibration run measured nothing');
  const slow20 = await startServer('slow 20 %', DELAY_US + 0.2 * latencyUs);
  const slow2 = await startServer('slow 2 %', DELAY_US + 0.02 * latencyUs);
  servers.push(slow20, slow2);
  log(
    `calibrated: avg latency ${(latencyUs / 1000).toFixed(2)} ms → delays ${DELAY_US} / ${Math.round(slow20.delayUs)} / ${Math.round(slow2.delayUs)} µs`,
  );
  const aa: PairOutcome[] = [];
  const ab20: PairOutcome[] = [];
  const ab2: PairOutcome[] = [];
  for (let i = 1; i <= PAIRS && !abort.signal.aborted; i++) {
    // Interleaved, so slow drifts of the machine's load hit every experiment alike.
    const a1: ComparableRun = comparableFromRecord(await record(base), `A${i}`);
    const a2 = comparableFromRecord(await record(base), `A'${i}`);
    const b20 = comparableFromRecord(await record(slow20), `B20-${i}`);
    const b2 = comparableFromRecord(await record(slow2), `B2-${i}`);
    aa.push(outcome(i, compareRuns([a1], [a2], compareOptions)));
    ab20.push(outcome(i, compareRuns([a1], [b20], compareOptions)));
    ab2.push(outcome(i, compareRuns([a2], [b2], compareOptions)));
    log(
      `pair ${i}: A/A ${aa.at(-1)!.regressed.join(',') || 'ok'} (avg ${aa.at(-1)!.avgLatency}) · A/B20 ${ab20.at(-1)!.regressed.length > 0 ? 'detected' : 'MISSED'} (avg ${ab20.at(-1)!.avgLatency}) · A/B2 ${ab2.at(-1)!.regressed.join(',') || 'ok'} (avg ${ab2.at(-1)!.avgLatency})`,
    );
  }
  const flagged = (xs: PairOutcome[]) => xs.filter((x) => x.regressed.length > 0).length;
  const summary = {
    aaFlaggedRegressed: flagged(aa),
    ab20Detected: flagged(ab20),
    ab2FlaggedRegressed: flagged(ab2),
    pairs: aa.length,
  };
  const targets = {
    aa: summary.aaFlaggedRegressed <= 1,
    ab20: summary.ab20Detected >= Math.ceil(0.95 * summary.pairs),
    ab2: summary.ab2FlaggedRegressed === 0,
  };
  const result = {
    bench: 'gate',
    command: `npm run bench:gate -- --pairs ${PAIRS} --repeat ${REPEAT} --window-ms ${WINDOW_MS} --delay-us ${DELAY_US} --concurrency ${CONCURRENCY}`,
    date: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    host: { ...host, loadAverageAfter: loadavg() },
    node: process.version,
    settings: {
      pairs: PAIRS,
      repeat: REPEAT,
      windowMs: WINDOW_MS,
      concurrency: CONCURRENCY,
      compare: compareOptions,
    },
    servers: servers.map((s) => ({ label: s.label, delayUs: Math.round(s.delayUs) })),
    calibrationAvgLatencyUs: Math.round(latencyUs),
    summary,
    targets,
    pairs: { aa, ab20, ab2 },
  };
  const out = resolve(packageInfo().root, args.out);
  const md = [
    '# bench:gate — regression gate false-alarm and detection rates',
    '',
    `\`${result.command}\` · ${result.date} · ${result.durationS} s · ${host.cores}× ${host.cpuModel} · load average ${host.loadAverageBefore.map((x) => x.toFixed(2)).join(' ')} before, ${result.host.loadAverageAfter.map((x) => x.toFixed(2)).join(' ')} after · Node ${process.version}`,
    '',
    `Model \`simple\` with a fixed execution delay; base ${DELAY_US} µs, measured avg latency ${(latencyUs / 1000).toFixed(2)} ms; slow servers +20 % (${Math.round(slow20.delayUs)} µs) and +2 % (${Math.round(slow2.delayUs)} µs) of that latency. Each side: one record, --repeat ${REPEAT}, ${WINDOW_MS} ms windows, concurrency ${CONCURRENCY}; compare at 95 %, min effect 5 %, metrics ${DEFAULT_COMPARE_METRICS.join(', ')}.`,
    '',
    '| experiment | pairs flagged regressed | target | met |',
    '| --- | ---: | --- | --- |',
    `| A/A (identical) | ${summary.aaFlaggedRegressed} / ${summary.pairs} | ≤ 1 / 20 | ${targets.aa ? 'yes' : 'NO'} |`,
    `| A/B 20 % slower | ${summary.ab20Detected} / ${summary.pairs} | ≥ 19 / 20 | ${targets.ab20 ? 'yes' : 'NO'} |`,
    `| A/B 2 % slower | ${summary.ab2FlaggedRegressed} / ${summary.pairs} | 0 (inconclusive or unchanged) | ${targets.ab2 ? 'yes' : 'NO'} |`,
    '',
    '| pair | A/A regressed | A/A avg latency [95 %] | A/B20 regressed | A/B20 avg latency [95 %] | A/B2 regressed | A/B2 avg latency [95 %] |',
    '| ---: | --- | --- | --- | --- | --- | --- |',
    ...aa.map(
      (x, i) =>
        `| ${x.pair} | ${x.regressed.join(', ') || '—'} | ${x.avgLatency} | ${ab20[i]!.regressed.join(', ') || '—'} | ${ab20[i]!.avgLatency} | ${ab2[i]!.regressed.join(', ') || '—'} | ${ab2[i]!.avgLatency} |`,
    ),
    '',
  ].join('\n');
  writeBenchResults(out, { json: result, markdown: md });
  log(md);
  log(`wrote ${out}.json and ${out}.md`);
} finally {
  for (const s of servers) {
    await s.process.stop().catch(() => undefined);
    await s.dispose().catch(() => undefined);
  }
}
