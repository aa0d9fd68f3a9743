/**
 * The analyze flags and the config file's `analyze:` section → validated settings (pure; throws OptionError,
 * exit code 3). A flag the user typed replaces the file's value, lists included.
 */
import { OptionError } from '../errors.ts';
import type { AnalyzeConfig } from './analyze-config-schema.ts';
import { type Constraint, parseConstraint } from './constraints.ts';
import { type Objective, parseObjective } from './objectives.ts';
import type { SearchMode } from './search.ts';
import {
  type InstanceKind,
  KNOB_LIMITS,
  type PreferredChoice,
  type SearchSpaceSpec,
} from './search-space.ts';
import type { LoadPoint } from './trial.ts';

/** The analyze-only flags as commander stores them (strings; repeatable ones as lists). */
export interface AnalyzeFlags {
  mode?: string;
  objective?: string[];
  constraint?: string[];
  maxBatchSize?: string;
  dynamicBatching?: string;
  maxQueueDelay?: string;
  preferredBatchSize?: string[];
  instanceCount?: string;
  instanceKind?: string;
  batchBuckets?: string[];
  concurrency?: string;
  requestRate?: string;
  maxConfigs?: string;
  saturationGain?: string;
  confirmTop?: string;
  outputModelRepository?: string;
  overrideOutputModelRepository?: boolean;
  repositoryUrl?: string;
  resume?: string;
  leaveBestLoaded?: boolean;
}

export interface AnalyzeSettings {
  mode: SearchMode;
  objectives: Objective[];
  /** As written, for the record. */
  objectiveTexts: string[];
  constraints: Constraint[];
  spec: SearchSpaceSpec;
  /** undefined = from --concurrency-range / --request-rate-range, else the default. */
  loads?: LoadPoint[];
  maxConfigs?: number;
  /** Fraction. */
  saturationGain: number;
  /** Leaders re-measured per confirmation round (0 = none). */
  confirmTop: number;
  outputModelRepository?: string;
  overrideOutputModelRepository: boolean;
  repositoryUrl?: string;
  resume?: string;
  leaveBestLoaded: boolean;
}

/** Closed-loop levels when none are given: doubling, as Model Analyzer's default sweep (bounded). */
export const DEFAULT_CONCURRENCY = [1, 2, 4, 8, 16];
/** Largest concurrency / request rate a level may ask for (a typo must not open a million connections). */
export const MAX_CONCURRENCY = 16_384;
export const MAX_REQUEST_RATE = 10_000_000;
/** Load levels per config: bounded so one config cannot take the whole day. */
export const MAX_LEVELS = 64;
export const DEFAULT_SATURATION_GAIN = 0.05;
/**
 * Leaders re-measured once the configs are tried (search.ts confirmTop): the leader and the runner-up, so
 * a single lucky window (the maximum of many noisy ones) does not decide the search.
 */
export const DEFAULT_CONFIRM_TOP = 2;
export const MAX_CONFIRM_TOP = 16;

function list(flag: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) {
    throw new OptionError(`${flag}: expected a comma-separated list, got '${text}'`);
  }
  return items;
}

function intList(flag: string, text: string, min: number, max: number): number[] {
  return list(flag, text).map((s) => {
    const n = /^[+-]?\d+$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new OptionError(`${flag}: '${s}' is not an integer in ${min}..${max}`);
    }
    return n;
  });
}

function onOff(flag: string, text: string): boolean[] {
  return list(flag, text).map((s) => {
    const v = s.toLowerCase();
    if (['on', 'true', 'yes', '1'].includes(v)) return true;
    if (['off', 'false', 'no', '0'].includes(v)) return false;
    throw new OptionError(`${flag}: '${s}' is not on or off`);
  });
}

function preferred(flag: string, text: string): PreferredChoice {
  const v = text.trim().toLowerCase();
  if (v === 'max') return 'max';
  if (v === 'none' || v === '') return { sizes: [] };
  return { sizes: intList(flag, text, 1, KNOB_LIMITS.maxBatchSize) };
}

function kinds(flag: string, text: string): InstanceKind[] {
  return list(flag, text).map((s) => {
    const v = s.toUpperCase().replace(/^KIND_/, '');
    if (v === 'CPU') return 'KIND_CPU';
    if (v === 'GPU') return 'KIND_GPU';
    throw new OptionError(`${flag}: '${s}' is not cpu or gpu`);
  });
}

function bucket(flag: string, text: string): string {
  if (!/^\s*(auto|off|none|\d+(\s*,\s*\d+)*)\s*$/i.test(text)) {
    throw new OptionError(`${flag}: '${text}' is not auto, off or a list like 1,8,32`);
  }
  return text.trim();
}

function parsedAll<T>(texts: readonly string[], parse: (s: string) => { value: T } | { error: string }): T[] {
  return texts.map((t) => {
    const r = parse(t);
    if ('error' in r) throw new OptionError(r.error);
    return r.value;
  });
}

function percent(flag: string, text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*%?\s*$/.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isFinite(n) || n > 1000)
    throw new OptionError(`${flag}: '${text}' is not a percentage in 0..1000`);
  return n / 100;
}

export function resolveAnalyzeSettings(flags: AnalyzeFlags, file: AnalyzeConfig = {}): AnalyzeSettings {
  const modeText = flags.mode ?? file.mode ?? 'quick';
  if (modeText !== 'brute' && modeText !== 'quick') {
    throw new OptionError(`--mode: '${modeText}' is not brute or quick`);
  }
  const objectiveTexts = flags.objective ?? file.objectives ?? ['throughput'];
  if (objectiveTexts.length === 0) throw new OptionError('--objective: at least one objective is needed');
  const objectives = parsedAll(objectiveTexts, parseObjective);
  const constraints = parsedAll(flags.constraint ?? file.constraints ?? [], parseConstraint);
  const fs = file.searchSpace ?? {};
  const spec: SearchSpaceSpec = {};
  const mbs =
    flags.maxBatchSize !== undefined
      ? intList('--max-batch-size', flags.maxBatchSize, 0, KNOB_LIMITS.maxBatchSize)
      : fs.maxBatchSize;
  if (mbs) spec.maxBatchSize = mbs;
  const dyn =
    flags.dynamicBatching !== undefined
      ? onOff('--dynamic-batching', flags.dynamicBatching)
      : fs.dynamicBatching;
  if (dyn) spec.dynamicBatching = dyn;
  const delay =
    flags.maxQueueDelay !== undefined
      ? intList('--max-queue-delay', flags.maxQueueDelay, 0, KNOB_LIMITS.maxQueueDelayUs)
      : fs.maxQueueDelayUs;
  if (delay) spec.maxQueueDelayUs = delay;
  const pref =
    flags.preferredBatchSize !== undefined
      ? flags.preferredBatchSize.map((t) => preferred('--preferred-batch-size', t))
      : fs.preferredBatchSize?.map((v): PreferredChoice => (v === 'max' ? 'max' : { sizes: [...v] }));
  if (pref) spec.preferredBatchSize = pref;
  const count =
    flags.instanceCount !== undefined
      ? intList('--instance-count', flags.instanceCount, 1, KNOB_LIMITS.instanceCount)
      : fs.instanceCount;
  if (count) spec.instanceCount = count;
  const kind =
    flags.instanceKind !== undefined ? kinds('--instance-kind', flags.instanceKind) : fs.instanceKind;
  if (kind) spec.instanceKind = kind;
  const buckets =
    flags.batchBuckets !== undefined
      ? flags.batchBuckets.map((b) => bucket('--batch-buckets', b))
      : fs.batchBuckets;
  if (buckets) spec.batchBuckets = buckets;

  const concurrency =
    flags.concurrency !== undefined
      ? intList('--concurrency', flags.concurrency, 1, MAX_CONCURRENCY)
      : flags.requestRate === undefined
        ? file.concurrency
        : undefined;
  const rates =
    flags.requestRate !== undefined
      ? list('--request-rate', flags.requestRate).map((s) => {
          const n = Number(s);
          if (!/^[0-9]*\.?[0-9]+$/.test(s) || !(n > 0) || n > MAX_REQUEST_RATE) {
            throw new OptionError(`--request-rate: '${s}' is not a rate in (0, ${MAX_REQUEST_RATE}]`);
          }
          return n;
        })
      : flags.concurrency === undefined
        ? file.requestRate
        : undefined;
  if (concurrency && rates) throw new OptionError('give concurrency levels or request-rate levels, not both');
  let loads: LoadPoint[] | undefined;
  if (concurrency) loads = concurrency.map((value) => ({ mode: 'concurrency', value }));
  if (rates) loads = rates.map((value) => ({ mode: 'request_rate', value }));
  if (loads && loads.length > MAX_LEVELS)
    throw new OptionError(`at most ${MAX_LEVELS} load levels per config`);
  if (loads) loads = [...new Map(loads.map((l) => [l.value, l])).values()].sort((a, b) => a.value - b.value);

  let maxConfigs = file.maxConfigs;
  if (flags.maxConfigs !== undefined) {
    const [n] = intList('--max-configs', flags.maxConfigs, 1, 1_000_000);
    maxConfigs = n;
  }
  const saturationGain =
    flags.saturationGain !== undefined
      ? percent('--saturation-gain', flags.saturationGain)
      : file.saturationGain !== undefined
        ? file.saturationGain / 100
        : DEFAULT_SATURATION_GAIN;
  let confirmTop = file.confirmTop ?? DEFAULT_CONFIRM_TOP;
  if (flags.confirmTop !== undefined) {
    const values = intList('--confirm-top', flags.confirmTop, 0, MAX_CONFIRM_TOP);
    if (values.length !== 1) throw new OptionError(`--confirm-top: '${flags.confirmTop}' is not one integer`);
    confirmTop = values[0] as number;
  }
  const out = flags.outputModelRepository ?? file.outputModelRepository;
  if (out !== undefined && out.trim() === '') throw new OptionError('--output-model-repository: empty path');
  return {
    mode: modeText,
    objectives,
    objectiveTexts: objectiveTexts.map((t) => t.trim()),
    constraints,
    spec,
    ...(loads ? { loads } : {}),
    ...(maxConfigs !== undefined ? { maxConfigs } : {}),
    saturationGain,
    confirmTop,
    ...(out !== undefined ? { outputModelRepository: out } : {}),
    overrideOutputModelRepository:
      flags.overrideOutputModelRepository ?? file.overrideOutputModelRepository ?? false,
    ...((flags.repositoryUrl ?? file.repositoryUrl) !== undefined
      ? { repositoryUrl: flags.repositoryUrl ?? file.repositoryUrl }
      : {}),
    ...(flags.resume !== undefined ? { resume: flags.resume } : {}),
    leaveBestLoaded: flags.leaveBestLoaded ?? false,
  };
}

/** The load levels: given ones, else the profile range flags' levels (linear), else the default doubling. */
export function loadsFrom(
  given: LoadPoint[] | undefined,
  profileLoad: { mode: string; range?: { start: number; end: number; step: number } },
  rangeGiven: boolean,
): LoadPoint[] {
  if (given) return given;
  if (
    rangeGiven &&
    profileLoad.range &&
    (profileLoad.mode === 'concurrency' || profileLoad.mode === 'request_rate')
  ) {
    const { start, end, step } = profileLoad.range;
    if (end === 0)
      throw new OptionError('analyze needs a range with an end (levels are measured per config)');
    const out: LoadPoint[] = [];
    for (let v = start; v <= end + 1e-9 && out.length <= MAX_LEVELS; v += step) {
      out.push({ mode: profileLoad.mode, value: Number(v.toPrecision(12)) });
    }
    if (out.length > MAX_LEVELS) throw new OptionError(`at most ${MAX_LEVELS} load levels per config`);
    return out;
  }
  return DEFAULT_CONCURRENCY.map((value) => ({ mode: 'concurrency', value }));
}
