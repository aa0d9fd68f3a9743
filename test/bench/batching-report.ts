/**
 * Pure arithmetic and rendering of the batching benchmark: which batch sizes the ceiling must cover, each
 * level next to the raw ORT ceiling at the batch size the batcher formed and next to `plain` at the same
 * concurrency, the issue's targets, and the Markdown written to bench-results/.
 */
import type { BenchDevice } from './bench-repository.ts';
import type { LevelFigures } from './config-run.ts';
import { type CeilingPoint, median } from './ort-ceiling.ts';

/** The issues' acceptance targets, per device: batched at `concurrency` vs the ceiling and vs plain. */
export const TARGETS: Record<
  BenchDevice,
  { concurrency: number; minCeilingFraction: number; minSpeedup: number }
> = {
  cpu: { concurrency: 16, minCeilingFraction: 0.85, minSpeedup: 1.5 },
  gpu: { concurrency: 64, minCeilingFraction: 0.6, minSpeedup: 10 },
};

export interface ResultRow {
  config: string;
  /** With --rounds > 1: the round that measured it. */
  round?: number;
  protocol: string;
  concurrency: number;
  status: string;
  inferPerSec: number;
  p95Ms: number;
  meanBatch?: number;
  /** The mean batch rounded to the nearest measured integer, and the ceiling there. */
  ceilingBatch?: number;
  ceilingInferPerSec?: number;
  /** inferPerSec / ceilingInferPerSec. */
  ceilingFraction?: number;
  /** inferPerSec / plain's at the same protocol and concurrency. */
  speedupVsPlain?: number;
  /**
   * The ceiling at max_batch_size, and inferPerSec against it: what the device could do, whatever batch the
   * server managed to form (a server too slow to form big batches gets a small ceiling at its formed batch).
   */
  maxBatchCeilingInferPerSec?: number;
  maxBatchCeilingFraction?: number;
}

/**
 * The data-plane targets (issue 12), against the ceiling at max_batch_size: batched at `concurrency`, per
 * protocol. Only the GPU has them.
 */
export const MAX_BATCH_TARGETS: Partial<
  Record<BenchDevice, { concurrency: number; minFraction: Record<string, number> }>
> = {
  gpu: { concurrency: 256, minFraction: { http: 0.6, grpc: 0.45 } },
};

export interface TargetCheck {
  protocol: string;
  description: string;
  /** undefined = could not be evaluated (level missing or no server statistics). */
  met?: boolean;
  detail: string;
}

/** The batch size a level's ceiling is read at: the mean batch formed, rounded, within [1, max]. */
export function roundedBatch(meanBatch: number, maxBatchSize: number): number {
  return Math.min(maxBatchSize, Math.max(1, Math.round(meanBatch)));
}

/** Batch sizes to time: 1, the powers of two up to the max, the max, and every rounded mean batch formed. */
export function ceilingBatchSizes(levels: readonly LevelFigures[], maxBatchSize: number): number[] {
  const sizes = new Set<number>([1, maxBatchSize]);
  for (let b = 2; b < maxBatchSize; b *= 2) sizes.add(b);
  for (const level of levels) {
    if (level.server) sizes.add(roundedBatch(level.server.meanBatch, maxBatchSize));
  }
  return [...sizes].sort((a, b) => a - b);
}

/** One row per level: throughput and p95 next to the ceiling at the batch formed and to plain. */
export function buildRows(
  levels: readonly LevelFigures[],
  ceilingFor: (config: string) => readonly CeilingPoint[] | undefined,
  maxBatchSize: number,
): ResultRow[] {
  const plain = new Map(
    levels.filter((l) => l.config === 'plain').map((l) => [`${l.protocol}/${l.concurrency}`, l.inferPerSec]),
  );
  return levels.map((l) => {
    const row: ResultRow = {
      config: l.config,
      ...(l.round === undefined ? {} : { round: l.round }),
      protocol: l.protocol,
      concurrency: l.concurrency,
      status: l.status,
      inferPerSec: l.inferPerSec,
      p95Ms: l.latencyMs.p95,
    };
    if (l.server) {
      row.meanBatch = l.server.meanBatch;
      const batch = roundedBatch(l.server.meanBatch, maxBatchSize);
      const point = ceilingFor(l.config)?.find((p) => p.batchSize === batch);
      if (point) {
        row.ceilingBatch = batch;
        row.ceilingInferPerSec = point.inferPerSec;
        row.ceilingFraction = l.inferPerSec / point.inferPerSec;
      }
    }
    const base = plain.get(`${l.protocol}/${l.concurrency}`);
    if (base && base > 0) row.speedupVsPlain = l.inferPerSec / base;
    const atMax = ceilingFor(l.config)?.find((p) => p.batchSize === maxBatchSize);
    if (atMax && atMax.inferPerSec > 0) {
      row.maxBatchCeilingInferPerSec = atMax.inferPerSec;
      row.maxBatchCeilingFraction = l.inferPerSec / atMax.inferPerSec;
    }
    return row;
  });
}

/** The configs with a dynamic batcher, in the order their max-batch targets are listed. */
const BATCHED_CONFIGS = ['batched', 'batched_gather', 'batched_nogather', 'batched_2inst'] as const;

/**
 * The device's targets at the target concurrency, per protocol: the mean-batch and speed-up targets for
 * `batched`; the max-batch target for every batched config measured (each against its own instances' ceiling).
 */
export function checkTargets(
  device: BenchDevice,
  rows: readonly ResultRow[],
  protocols: readonly string[],
): TargetCheck[] {
  const t = TARGETS[device];
  const checks: TargetCheck[] = [];
  for (const protocol of protocols) {
    const row = rows.find(
      (r) => r.config === 'batched' && r.protocol === protocol && r.concurrency === t.concurrency,
    );
    const pct = `${Math.round(t.minCeilingFraction * 100)}%`;
    checks.push({
      protocol,
      description: `batched@${t.concurrency} ≥ ${pct} of the raw ORT ceiling at the mean batch formed`,
      met: row?.ceilingFraction === undefined ? undefined : row.ceilingFraction >= t.minCeilingFraction,
      detail:
        row?.ceilingFraction === undefined
          ? 'not measured'
          : `${fmt(row.inferPerSec)} / ${fmt(row.ceilingInferPerSec ?? Number.NaN)} infer/s at batch ${row.ceilingBatch} = ${percent(row.ceilingFraction)}`,
    });
    checks.push({
      protocol,
      description: `batched@${t.concurrency} ≥ ${t.minSpeedup}× plain@${t.concurrency}`,
      met: row?.speedupVsPlain === undefined ? undefined : row.speedupVsPlain >= t.minSpeedup,
      detail: row?.speedupVsPlain === undefined ? 'not measured' : `${row.speedupVsPlain.toFixed(2)}×`,
    });
    const m = MAX_BATCH_TARGETS[device];
    const min = m?.minFraction[protocol];
    if (m && min !== undefined) {
      // Every dynamically batched config measured there (the gather-thread and 2-instance variants too), so a
      // run comparing variants is judged; `batched` alone, marked not measured, when none was.
      const measured = BATCHED_CONFIGS.flatMap((config) => {
        const r = rows.find(
          (x) => x.config === config && x.protocol === protocol && x.concurrency === m.concurrency,
        );
        return r ? [{ config, r }] : [];
      });
      for (const { config, r } of measured.length > 0 ? measured : [{ config: 'batched', r: undefined }]) {
        checks.push({
          protocol,
          description: `${config}@${m.concurrency} ≥ ${Math.round(min * 100)}% of the raw ORT ceiling at max_batch_size`,
          met: r?.maxBatchCeilingFraction === undefined ? undefined : r.maxBatchCeilingFraction >= min,
          detail:
            r?.maxBatchCeilingFraction === undefined
              ? 'not measured'
              : `${fmt(r.inferPerSec)} / ${fmt(r.maxBatchCeilingInferPerSec ?? Number.NaN)} infer/s = ${percent(r.maxBatchCeilingFraction)}`,
        });
      }
    }
  }
  return checks;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

function percent(fraction: number | undefined): string {
  return fraction === undefined ? '–' : `${(fraction * 100).toFixed(0)}%`;
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? 'NOT EVALUATED' : met ? 'MET' : 'NOT MET';
}

/** The results table (Markdown; also readable on a terminal). */
export function resultsTable(rows: readonly ResultRow[]): string {
  const lines = [
    '| config | protocol | concurrency | infer/s | p95 ms | mean batch | ceiling infer/s (at batch) | % of ceiling | % of ceiling at max batch | speed-up vs plain | status |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const ceiling =
      r.ceilingInferPerSec === undefined ? '–' : `${fmt(r.ceilingInferPerSec)} (${r.ceilingBatch})`;
    lines.push(
      `| ${r.config}${r.round === undefined ? '' : ` #${r.round}`} | ${r.protocol} | ${r.concurrency} | ${fmt(r.inferPerSec)} | ${fmt(r.p95Ms, 2)} | ` +
        `${r.meanBatch === undefined ? '–' : r.meanBatch.toFixed(2)} | ${ceiling} | ${percent(r.ceilingFraction)} | ` +
        `${percent(r.maxBatchCeilingFraction)} | ` +
        `${r.speedupVsPlain === undefined ? '–' : `${r.speedupVsPlain.toFixed(2)}×`} | ${r.status} |`,
    );
  }
  return lines.join('\n');
}

/** One config's throughput at one protocol and concurrency over the rounds (--rounds), and against the first config's. */
export interface RoundsRow {
  config: string;
  protocol: string;
  concurrency: number;
  perRound: number[];
  medianInferPerSec: number;
  /** medianInferPerSec / the first config's median at the same protocol and concurrency. */
  ratioToFirst: number | undefined;
}

/**
 * Medians over rounds, per config (in the order first measured), protocol and concurrency; the first config is
 * the reference for the ratios (configs alternate order between rounds, so drift affects both sides alike).
 */
export function roundsRows(rows: readonly ResultRow[]): RoundsRow[] {
  const groups = new Map<
    string,
    { config: string; protocol: string; concurrency: number; values: number[] }
  >();
  for (const r of rows) {
    const key = `${r.config}/${r.protocol}/${r.concurrency}`;
    const g = groups.get(key) ?? {
      config: r.config,
      protocol: r.protocol,
      concurrency: r.concurrency,
      values: [],
    };
    g.values.push(r.inferPerSec);
    groups.set(key, g);
  }
  const first = rows[0]?.config;
  const medians = new Map([...groups].map(([key, g]) => [key, median(g.values)]));
  return [...groups.values()].map((g) => {
    const m = median(g.values);
    const reference = medians.get(`${first}/${g.protocol}/${g.concurrency}`);
    return {
      config: g.config,
      protocol: g.protocol,
      concurrency: g.concurrency,
      perRound: g.values,
      medianInferPerSec: m,
      ratioToFirst: reference && reference > 0 ? m / reference : undefined,
    };
  });
}

export function roundsTable(rows: readonly RoundsRow[]): string {
  const lines = [
    '| config | protocol | concurrency | infer/s per round | median infer/s | vs first config |',
    '|---|---|---:|---|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.config} | ${r.protocol} | ${r.concurrency} | ${r.perRound.map((v) => fmt(v)).join(', ')} | ` +
        `${fmt(r.medianInferPerSec)} | ${r.ratioToFirst === undefined ? '–' : `${r.ratioToFirst.toFixed(2)}×`} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Where the time goes, per level: queue wait, ORT time per execution inside the server next to the same
 * batch standalone (contention shows as a gap), how busy the instances were (idle time between executions
 * is hand-off overhead), and what the shared process and machine were doing.
 */
export function serverViewTable(
  levels: readonly LevelFigures[],
  ceilingFor: (config: string) => readonly CeilingPoint[] | undefined,
  instancesOf: (config: string) => number,
  maxBatchSize: number,
): string {
  const lines = [
    '| config | protocol | concurrency | queue ms | ORT ms/exec in server | ORT ms standalone (batch) | instances busy | server CPU cores (main thread) | server cores per thread | client CPU cores | client event-loop util. | load avg |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const l of levels) {
    const s = l.server;
    if (!s) continue;
    const batch = roundedBatch(s.meanBatch, maxBatchSize);
    const point = ceilingFor(l.config)?.find((p) => p.batchSize === batch);
    const standaloneMs = point ? median(point.medianRunNs) / 1e6 : undefined;
    const busy = ((l.inferPerSec / s.meanBatch) * s.inferPerExecutionUs) / 1e6 / instancesOf(l.config);
    lines.push(
      `| ${l.config} | ${l.protocol} | ${l.concurrency} | ${fmt(s.queueUs / 1000, 2)} | ${fmt(s.inferPerExecutionUs / 1000, 2)} | ` +
        `${standaloneMs === undefined ? '–' : `${fmt(standaloneMs, 2)} (${batch})`} | ${percent(busy)} | ` +
        `${l.serverCpu ? `${fmt(l.serverCpu.totalCores, 2)} (${fmt(l.serverCpu.mainThreadCores, 2)})` : '–'} | ` +
        `${l.serverCpu?.threadSummary ?? '–'} | ` +
        `${fmt(l.generator.cpuCores, 2)} | ${fmt(l.generator.eventLoopUtilization, 2)} | ${fmt(l.loadAverage, 2)} |`,
    );
  }
  return lines.join('\n');
}

/** The raw ORT ceiling per batch size and session count. */
export function ceilingTable(
  ceilings: ReadonlyArray<{ sessions: number; points: readonly CeilingPoint[] }>,
): string {
  const lines = ['| sessions | batch | median run ms | infer/s |', '|---:|---:|---:|---:|'];
  for (const c of ceilings) {
    for (const p of c.points) {
      const runMs = p.medianRunNs.map((ns) => (ns / 1e6).toFixed(2)).join(' / ');
      lines.push(`| ${c.sessions} | ${p.batchSize} | ${runMs} | ${fmt(p.inferPerSec)} |`);
    }
  }
  return lines.join('\n');
}

export function targetLines(checks: readonly TargetCheck[]): string[] {
  return checks.map((c) => `- [${c.protocol}] ${c.description}: **${verdict(c.met)}** (${c.detail})`);
}

export interface MarkdownInput {
  title: string;
  command: string;
  date: string;
  deviceLines: string[];
  settingsLines: string[];
  rows: readonly ResultRow[];
  /** serverViewTable's output. */
  serverView: string;
  ceilings: ReadonlyArray<{ sessions: number; points: readonly CeilingPoint[] }>;
  checks: readonly TargetCheck[];
  notes: string[];
}

export function markdownReport(input: MarkdownInput): string {
  return [
    `# ${input.title}`,
    '',
    `Command: \`${input.command}\`  `,
    `Date: ${input.date}`,
    '',
    ...input.deviceLines.map((l) => `- ${l}`),
    ...input.settingsLines.map((l) => `- ${l}`),
    '',
    '## Results',
    '',
    resultsTable(input.rows),
    '',
    ...(input.rows.some((r) => (r.round ?? 1) > 1)
      ? [
          '## Rounds (medians; configs alternate order between rounds)',
          '',
          roundsTable(roundsRows(input.rows)),
          '',
        ]
      : []),
    '## Where the time goes (server statistics over the same windows)',
    '',
    input.serverView,
    '',
    '## Targets',
    '',
    ...targetLines(input.checks),
    '',
    '## Raw ONNX Runtime ceiling (same session options, one session per instance, nothing else running)',
    '',
    ceilingTable(input.ceilings),
    ...(input.notes.length > 0 ? ['', '## Notes', '', ...input.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
