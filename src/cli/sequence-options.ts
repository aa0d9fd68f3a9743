/**
 * perf_analyzer's sequence options (§1, "Sequence models"; rows of the option table) resolved into SequenceSettings.
 * They take effect only for a sequence model (one whose config has `sequence_batching`); the run decides that
 * once it has read the model config. Texts are perf_analyzer's where it has one.
 */
import { OptionError } from '../errors.ts';
import {
  DEFAULT_NUM_OF_SEQUENCES,
  DEFAULT_SEQUENCE_ID_RANGE,
  DEFAULT_SEQUENCE_LENGTH_VARIATION_PCT,
  type SequenceSettings,
} from '../load/sequence-schedule.ts';
import { invalidValue, parseCountFlag, parseDecimalFlag, parseIntegerFlag } from '../options/parse-number.ts';
import type { RawFlags } from '../options/profile-options.ts';
import type { LoadSettings } from '../profile/settings.ts';

/** The sequence flags (rows of the option table) and --sync. */
export type SequenceFlags = Pick<
  RawFlags,
  | 'sync'
  | 'sequenceLength'
  | 'sequenceLengthVariation'
  | 'sequenceIdRange'
  | 'numOfSequences'
  | 'serialSequences'
>;

/** The most sequences the load can have open at once: the concurrency, or --num-of-sequences. */
function maxOpenSequences(load: LoadSettings, numSequences: number): number {
  if (load.mode === 'concurrency') return Math.max(load.range.start, load.range.end);
  return numSequences;
}

/** Resolves the sequence flags (warnings for values perf_analyzer ignores with a warning). */
export function sequenceSettingsOf(
  flags: SequenceFlags,
  load: LoadSettings,
  seed: number,
  warnings: string[],
): SequenceSettings {
  let length: number | undefined;
  if (flags.sequenceLength !== undefined) {
    const n = parseIntegerFlag('--sequence-length', flags.sequenceLength);
    if (n <= 0) {
      // perf_analyzer keeps its default with a warning rather than failing.
      warnings.push(
        `WARNING: The sequence length must be > 0. Perf Analyzer will use default value if it is measuring on sequence model.`,
      );
    } else {
      length = n;
    }
  }
  let lengthVariationPct = DEFAULT_SEQUENCE_LENGTH_VARIATION_PCT;
  if (flags.sequenceLengthVariation !== undefined) {
    lengthVariationPct = parseDecimalFlag('--sequence-length-variation', flags.sequenceLengthVariation);
    if (!(lengthVariationPct >= 0) || !Number.isFinite(lengthVariationPct)) {
      throw new OptionError('Failed to parse --sequence-length-variation. The value must be >= 0.');
    }
  }
  const numSequences =
    flags.numOfSequences === undefined
      ? DEFAULT_NUM_OF_SEQUENCES
      : parseCountFlag('--num-of-sequences', flags.numOfSequences);
  let idStart = 1;
  let idRange = DEFAULT_SEQUENCE_ID_RANGE;
  if (flags.sequenceIdRange !== undefined) {
    const parts = flags.sequenceIdRange.split(':');
    if (parts.length > 2 || parts[0] === '') {
      throw new OptionError(
        `Failed to parse --sequence-id-range. The value does not match <start:end>. Invalid value provided: ${flags.sequenceIdRange}`,
      );
    }
    const start = parseIntegerFlag('--sequence-id-range', parts[0] as string);
    const end =
      parts[1] === undefined || parts[1] === ''
        ? undefined
        : parseIntegerFlag('--sequence-id-range', parts[1]);
    if (start < 0 || (end !== undefined && end < 0)) {
      throw new OptionError('Failed to parse --sequence-id-range. The range values must be >= 0.');
    }
    if (end !== undefined && end <= start) {
      throw new OptionError('Failed to parse --sequence-id-range. The end of the range must be > start.');
    }
    idStart = start;
    if (idStart === 0) {
      idStart = 1;
      warnings.push(
        'WARNING: sequence ID 0 means "no sequence" to the server; the sequence ID range starts at 1.',
      );
    }
    if (end !== undefined) idRange = end - idStart;
    if (idRange < 1)
      throw new OptionError('Failed to parse --sequence-id-range. The range holds no usable ID.');
  }
  if (idStart + idRange - 1 > Number.MAX_SAFE_INTEGER) {
    throw invalidValue('--sequence-id-range', flags.sequenceIdRange ?? '');
  }
  if (idRange < maxOpenSequences(load, numSequences)) {
    throw new OptionError(
      'sequence id range specified is smaller than the maximum possible concurrency, sequence id collision may occur.',
    );
  }
  return {
    ...(length !== undefined ? { length } : {}),
    lengthVariationPct,
    idStart,
    idRange,
    numSequences,
    serial: Boolean(flags.serialSequences),
    seed,
    ...(flags.sync ? { syncRequested: true } : {}),
  };
}
