/**
 * The configuration search space and its enumeration (pure). A space lists, per knob, the values to try;
 * knobs the user leaves out keep the model's current value. Enumeration is the cartesian product in knob
 * order (first knob slowest), minus combinations that are the same config or that a server must refuse (a
 * preferred size above max_batch_size, dynamic batching without batching, a client batch larger than
 * max_batch_size). The same config: queue delay or preferred sizes without dynamic batching; a queue delay at
 * max_batch_size 1 (each request is a full batch, [1] being the only preferred size, and is sent at once:
 * Triton's batcher never waits). Measuring such twins costs levels that only tell noise apart.
 */

export type InstanceKind = 'KIND_CPU' | 'KIND_GPU';

/** One preferred_batch_size choice: a list of sizes, or `max` (= the candidate's max_batch_size). */
export type PreferredChoice = { sizes: number[] } | 'max';

/** What the user asked for (flags or the YAML `analyze.searchSpace`); undefined = keep the model's value. */
export interface SearchSpaceSpec {
  maxBatchSize?: number[];
  dynamicBatching?: boolean[];
  maxQueueDelayUs?: number[];
  preferredBatchSize?: PreferredChoice[];
  instanceCount?: number[];
  instanceKind?: InstanceKind[];
  /** `inferbench.batch_buckets` values: 'auto', 'off' or a list such as '1,8,32'. */
  batchBuckets?: string[];
}

/** One configuration to try. */
export interface Candidate {
  maxBatchSize: number;
  dynamicBatching: boolean;
  /** 0 when dynamic batching is off. */
  maxQueueDelayUs: number;
  /** [] when dynamic batching is off or none is set. */
  preferredBatchSize: number[];
  instanceCount: number;
  instanceKind: InstanceKind;
  /** undefined = the model's `inferbench.batch_buckets` parameter left as it is (or, for the base, not set). */
  batchBuckets?: string;
}

/** The model's current settings (from its config), which fill the knobs the spec leaves out: the same knobs. */
export type BaseSettings = Candidate;

/** The knobs in enumeration order (the first varies slowest). */
export const KNOBS = [
  'maxBatchSize',
  'dynamicBatching',
  'maxQueueDelayUs',
  'preferredBatchSize',
  'instanceCount',
  'instanceKind',
  'batchBuckets',
] as const;
export type Knob = (typeof KNOBS)[number];

/** Every knob's value list, resolved against the model's settings. */
export interface SearchSpace {
  maxBatchSize: number[];
  dynamicBatching: boolean[];
  maxQueueDelayUs: number[];
  preferredBatchSize: PreferredChoice[];
  instanceCount: number[];
  instanceKind: InstanceKind[];
  batchBuckets: (string | undefined)[];
}

export class SearchSpaceError extends Error {}

function distinct<T>(values: readonly T[], key: (v: T) => string = String): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = key(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function preferredKey(choice: PreferredChoice): string {
  return choice === 'max' ? 'max' : choice.sizes.length === 0 ? 'none' : choice.sizes.join('+');
}

/** Largest value a count-like knob may take: a typo (1e9 instances) must not reach a server. */
export const KNOB_LIMITS = {
  maxBatchSize: 1 << 20,
  maxQueueDelayUs: 60_000_000,
  instanceCount: 256,
} as const;

function checkIntegers(name: string, values: readonly number[], min: number, max: number): void {
  if (values.length === 0) throw new SearchSpaceError(`search space: ${name} has no value`);
  for (const v of values) {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new SearchSpaceError(`search space: ${name} value ${v} is not an integer in ${min}..${max}`);
    }
  }
}

/** Fills the spec's gaps from the model and validates every value (throws SearchSpaceError). */
export function resolveSearchSpace(spec: SearchSpaceSpec, base: BaseSettings): SearchSpace {
  const space: SearchSpace = {
    maxBatchSize: distinct(spec.maxBatchSize ?? [base.maxBatchSize]),
    dynamicBatching: distinct(spec.dynamicBatching ?? [base.dynamicBatching]),
    maxQueueDelayUs: distinct(spec.maxQueueDelayUs ?? [base.maxQueueDelayUs]),
    preferredBatchSize: distinct(
      spec.preferredBatchSize ?? [{ sizes: base.preferredBatchSize }],
      preferredKey,
    ),
    instanceCount: distinct(spec.instanceCount ?? [base.instanceCount]),
    instanceKind: distinct(spec.instanceKind ?? [base.instanceKind]),
    batchBuckets: distinct(spec.batchBuckets ?? [base.batchBuckets], (v) => v ?? '(model)'),
  };
  checkIntegers('max_batch_size', space.maxBatchSize, 0, KNOB_LIMITS.maxBatchSize);
  checkIntegers('max_queue_delay_microseconds', space.maxQueueDelayUs, 0, KNOB_LIMITS.maxQueueDelayUs);
  checkIntegers('instance count', space.instanceCount, 1, KNOB_LIMITS.instanceCount);
  if (space.dynamicBatching.length === 0)
    throw new SearchSpaceError('search space: dynamic_batching has no value');
  if (space.preferredBatchSize.length === 0)
    throw new SearchSpaceError('search space: preferred_batch_size has no value');
  for (const choice of space.preferredBatchSize) {
    if (choice !== 'max')
      checkIntegers(
        'preferred_batch_size',
        choice.sizes.length ? choice.sizes : [1],
        1,
        KNOB_LIMITS.maxBatchSize,
      );
  }
  if (space.instanceKind.length === 0) throw new SearchSpaceError('search space: instance kind has no value');
  if (space.batchBuckets.length === 0) throw new SearchSpaceError('search space: batch buckets has no value');
  for (const b of space.batchBuckets) {
    if (b !== undefined && !/^(auto|off|none|\d+(\s*,\s*\d+)*)$/i.test(b.trim())) {
      throw new SearchSpaceError(`search space: batch buckets '${b}' is not auto, off or a list like 1,8,32`);
    }
  }
  return space;
}

/** A point of the space as value indexes, one per knob (KNOBS order). */
export type Coordinate = readonly number[];

export function axisLengths(space: SearchSpace): number[] {
  return KNOBS.map((k) => space[k].length);
}

/** The candidate at a coordinate, or the reason it cannot be a config. */
export function candidateAt(
  space: SearchSpace,
  at: Coordinate,
  clientBatchSize = 1,
): { candidate: Candidate } | { invalid: string } {
  const pick = <K extends Knob>(k: K): SearchSpace[K][number] =>
    space[k][at[KNOBS.indexOf(k)] as number] as SearchSpace[K][number];
  const maxBatchSize = pick('maxBatchSize');
  const dynamicBatching = pick('dynamicBatching');
  const choice = pick('preferredBatchSize');
  if (dynamicBatching && maxBatchSize === 0) return { invalid: 'dynamic batching needs max_batch_size > 0' };
  if (clientBatchSize > Math.max(1, maxBatchSize)) {
    return { invalid: `the client batch size ${clientBatchSize} exceeds max_batch_size ${maxBatchSize}` };
  }
  const preferred = choice === 'max' ? [maxBatchSize] : [...choice.sizes].sort((a, b) => a - b);
  if (dynamicBatching && preferred.some((s) => s > maxBatchSize)) {
    return { invalid: `preferred_batch_size ${preferred.join(',')} exceeds max_batch_size ${maxBatchSize}` };
  }
  const kind = pick('instanceKind');
  // At max_batch_size 1 every request is a full (preferred) batch and goes at once: the delay never applies.
  const delayApplies = dynamicBatching && maxBatchSize > 1;
  return {
    candidate: {
      maxBatchSize,
      dynamicBatching,
      maxQueueDelayUs: delayApplies ? pick('maxQueueDelayUs') : 0,
      preferredBatchSize: dynamicBatching ? distinct(preferred) : [],
      instanceCount: pick('instanceCount'),
      instanceKind: kind,
      batchBuckets: pick('batchBuckets'),
    },
  };
}

/** A stable, readable identity of a candidate (two coordinates giving one config share it). */
export function candidateKey(c: Candidate): string {
  const parts = [`max_batch_size=${c.maxBatchSize}`];
  if (c.dynamicBatching) {
    parts.push(`dynamic_batching=on`, `max_queue_delay_us=${c.maxQueueDelayUs}`);
    if (c.preferredBatchSize.length > 0) parts.push(`preferred_batch_size=${c.preferredBatchSize.join('+')}`);
  } else {
    parts.push('dynamic_batching=off');
  }
  parts.push(`instances=${c.instanceCount}x${c.instanceKind === 'KIND_GPU' ? 'GPU' : 'CPU'}`);
  if (c.batchBuckets !== undefined) parts.push(`batch_buckets=${c.batchBuckets.replace(/\s+/g, '')}`);
  return parts.join(' ');
}

export interface Enumeration {
  /** Distinct valid candidates, in enumeration order. */
  candidates: Candidate[];
  /** Combinations left out, with why (duplicates are not listed). */
  invalid: { coordinate: number[]; reason: string }[];
}

/** Every distinct valid candidate of the space (brute force's list). */
export function enumerateSpace(space: SearchSpace, clientBatchSize = 1): Enumeration {
  const lengths = axisLengths(space);
  const total = lengths.reduce((a, b) => a * b, 1);
  const seen = new Set<string>();
  const candidates: Candidate[] = [];
  const invalid: Enumeration['invalid'] = [];
  for (let index = 0; index < total; index++) {
    const coordinate = coordinateOfIndex(lengths, index);
    const at = candidateAt(space, coordinate, clientBatchSize);
    if ('invalid' in at) {
      invalid.push({ coordinate, reason: at.invalid });
      continue;
    }
    const key = candidateKey(at.candidate);
    if (seen.has(key)) continue;
    seen.add(key);
    candidates.push(at.candidate);
  }
  return { candidates, invalid };
}

/** Mixed-radix digits of `index`, the first knob most significant. */
export function coordinateOfIndex(lengths: readonly number[], index: number): number[] {
  const out = new Array<number>(lengths.length).fill(0);
  let rest = index;
  for (let k = lengths.length - 1; k >= 0; k--) {
    const n = lengths[k] as number;
    out[k] = rest % n;
    rest = Math.floor(rest / n);
  }
  return out;
}

/** Combinations in the space (before removing duplicates and invalid ones). */
export function spaceSize(space: SearchSpace): number {
  return axisLengths(space).reduce((a, b) => a * b, 1);
}
