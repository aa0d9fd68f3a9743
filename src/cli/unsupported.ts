/**
 * perf_analyzer flags we recognise but do not implement. They are parsed (so the user gets our message, not
 * "unknown option") and then refused by name with exit code 3 — never silently ignored, because a benchmark that
 * quietly drops `--shared-memory cuda` measures something other than what was asked.
 */
import { Option } from 'commander';
import { UnsupportedOptionError } from '../errors.ts';

const TRACES = 'server trace settings are not changed by inferbench';

/** [flags as declared (value optional, so `--enable-mpi` and `--sequence-length 20` both parse), reason]. */
const TABLE: readonly [string, string][] = [
  ['--output-shared-memory-size [bytes]', 'shared memory is not supported'],
  ['--periodic-concurrency-range [range]', 'periodic concurrency mode is not supported'],
  ['--request-period [n]', 'periodic concurrency mode is not supported'],
  ['--fixed-schedule [x]', 'fixed-schedule mode is not supported; use --request-intervals'],
  [
    '--session-concurrency [n]',
    'session concurrency belongs to the OpenAI service kind, which is not supported',
  ],
  ['--trace-level [level]', TRACES],
  ['--trace-rate [n]', TRACES],
  ['--trace-count [n]', TRACES],
  ['--log-frequency [n]', TRACES],
  ['--bls-composing-models [list]', 'BLS composing-model statistics are not supported'],
  ['--enable-mpi [x]', 'multi-model MPI mode is not supported'],
  ['--triton-server-directory [dir]', 'the Triton C API service kind is not supported'],
  ['--endpoint [path]', 'the OpenAI service kind is not supported'],
  ['--grpc-method [method]', 'the dynamic gRPC service kind is not supported'],
  ['--model-signature-name [name]', 'the TensorFlow Serving service kind is not supported'],
  ['-t [n]', 'it is deprecated in perf_analyzer; use --concurrency-range <n>'],
  ['-c [n]', 'it is deprecated in perf_analyzer; use --concurrency-range <start>:<end>'],
  ['-d', 'it is deprecated in perf_analyzer; use --concurrency-range <start>:0 with -l'],
];

/** Hidden commander options for every unsupported flag (added to the profile command). */
export function unsupportedOptions(): Option[] {
  return TABLE.map(([flags]) => new Option(flags).hideHelp());
}

/** The names, for the help text. */
export const UNSUPPORTED_FLAG_NAMES: readonly string[] = TABLE.map(([flags]) => flags.split(' ')[0]!);

/** Throws UnsupportedOptionError for the first unsupported flag present in the parsed options. */
export function refuseUnsupported(parsed: Readonly<Record<string, unknown>>): void {
  for (const [flags, reason] of TABLE) {
    const option = new Option(flags);
    if (parsed[option.attributeName()] !== undefined) throw unsupported(flags.split(' ')[0]!, reason);
  }
}

/** The refusal of a recognised perf_analyzer flag (or flag value) we do not implement: exit code 3. */
export function unsupported(name: string, reason: string): UnsupportedOptionError {
  return new UnsupportedOptionError(`${name} is not supported by inferbench: ${reason}.`);
}
