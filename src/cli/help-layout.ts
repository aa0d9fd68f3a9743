/**
 * How `--help` reads: the profile flags in groups a user scans top-down (model and server first, TLS and
 * perf_analyzer leftovers last) instead of one flat list of 70, examples before the flags, and defaults always
 * written one way, `(default: X)`. The groups are assigned here by flag name, after the options are declared in
 * options.ts, so a flag added there lands in "Other options" until it is listed here, and never goes missing.
 */
import type { Command, Help, Option } from 'commander';

/** Group headings in the order they are printed; a flag is named by its long form (or short when it has none). */
export const PROFILE_HELP_GROUPS: readonly (readonly [heading: string, flags: readonly string[]])[] = [
  [
    'Model and server:',
    ['-m', '-x', '-u', '-i', '--model-repository', '-c', '--config', '--service-kind', '-H'],
  ],
  [
    'Load:',
    [
      '--concurrency-range',
      '--request-rate-range',
      '--request-distribution',
      '--request-intervals',
      '--async',
      '--sync',
      '-b',
      '--max-threads',
      '--max-in-flight',
      '--worker-threads',
      '--binary-search',
      '--latency-threshold',
      '--request-timeout',
    ],
  ],
  [
    'Measurement:',
    [
      '--measurement-interval',
      '--measurement-mode',
      '--measurement-request-count',
      '--stability-percentage',
      '--stability-windows',
      '--max-trials',
      '--percentile',
      '--single-measurement',
      '--request-count',
      '--warmup-request-count',
      '--max-error-rate',
      '--error-rate-threshold',
      '--seed',
    ],
  ],
  [
    'Input data:',
    [
      '--input-data',
      '-z',
      '--shape',
      '--data-directory',
      '--string-length',
      '--string-data',
      '--request-parameter',
      '--shared-memory',
    ],
  ],
  [
    'Output and gates:',
    [
      '-f',
      '--json',
      '--html',
      '--threshold',
      '--verbose-csv',
      '--extra-csv-columns',
      '--profile-export-file',
      '--profile-export-max-output-bytes',
      '--verbose',
      '--quiet',
      '--no-progress',
    ],
  ],
  ['Server metrics:', ['--collect-metrics', '--metrics-url', '--metrics-interval']],
  [
    'HTTP and gRPC:',
    ['--input-tensor-format', '--output-tensor-format', '--grpc-compression-algorithm', '--streaming'],
  ],
  [
    'TLS:',
    [
      '--ssl-grpc-use-ssl',
      '--ssl-grpc-root-certifications-file',
      '--ssl-grpc-private-key-file',
      '--ssl-grpc-certificate-chain-file',
      '--ssl-https-verify-peer',
      '--ssl-https-verify-host',
      '--ssl-https-ca-certificates-file',
      '--ssl-https-client-certificate-file',
      '--ssl-https-client-certificate-type',
      '--ssl-https-private-key-file',
      '--ssl-https-private-key-type',
    ],
  ],
];

/** Where -h, --version and flags not listed above go (commander's own heading, so -h joins them). */
export const OTHER_OPTIONS_GROUP = 'Options:';

const GROUP_OF_FLAG = new Map<string, string>(
  PROFILE_HELP_GROUPS.flatMap(([heading, flags]) => flags.map((flag) => [flag, heading] as const)),
);
const GROUP_ORDER = [...PROFILE_HELP_GROUPS.map(([heading]) => heading), OTHER_OPTIONS_GROUP];

/** The heading an option is listed under. */
export function helpGroupOf(option: Pick<Option, 'long' | 'short'>): string {
  return (
    (option.long !== undefined ? GROUP_OF_FLAG.get(option.long) : undefined) ??
    (option.short !== undefined ? GROUP_OF_FLAG.get(option.short) : undefined) ??
    OTHER_OPTIONS_GROUP
  );
}

/**
 * One way of writing defaults: `(default 5000)`, `(default: 5000)` and `(default 1:1:1; …)` all become
 * `(default: …)`. Text outside parentheses (e.g. "binary (default) or json") is left as written.
 */
export function normaliseDefaultText(description: string): string {
  let text = description.replace(/\(default(?!:)\s+/g, '(default: ');
  // "binary (default) or json" → "binary or json (default: binary)".
  const marked = /(\S+) \(default\)/.exec(text);
  if (marked) text = `${text.replace(marked[0], marked[1] as string)} (default: ${marked[1]})`;
  return text;
}

/** Column where option descriptions start; a longer flag puts its description on the next line. */
const DESCRIPTION_COLUMN = 32;

/**
 * One help item (flag + description) in at most `helpWidth` columns: the description wrapped at the width,
 * starting on the flag's line when the flag is short, else on the next line (long TLS flag names would
 * otherwise leave no room, and commander then stops wrapping at all).
 */
export function formatHelpItem(term: string, description: string, helpWidth: number): string {
  const indent = '  ';
  if (!description) return `${indent}${term}`;
  const width = Math.max(40, helpWidth - DESCRIPTION_COLUMN);
  const lines = wrapWords(description, width);
  const pad = ' '.repeat(DESCRIPTION_COLUMN);
  const rest = lines.slice(1).map((l) => `${pad}${l}`);
  if (indent.length + term.length + 2 <= DESCRIPTION_COLUMN) {
    return [`${indent}${term.padEnd(DESCRIPTION_COLUMN - indent.length)}${lines[0]}`, ...rest].join('\n');
  }
  return [`${indent}${term}`, `${pad}${lines[0]}`, ...rest].join('\n');
}

/** Greedy word wrap (a word longer than `width` stays whole on its own line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines;
}

/** Groups in PROFILE_HELP_GROUPS order (commander orders them by first appearance otherwise). */
function orderedGroups<T>(unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const result = new Map<string, T[]>();
  const rank = (g: string): number => {
    const i = GROUP_ORDER.indexOf(g);
    return i === -1 ? GROUP_ORDER.length : i;
  };
  const groups = [...new Set(unsorted.map(getGroup))].sort((a, b) => rank(a) - rank(b));
  for (const g of groups) result.set(g, []);
  for (const item of visible) {
    const g = getGroup(item);
    if (!result.has(g)) result.set(g, []);
    result.get(g)?.push(item);
  }
  for (const [g, items] of result) if (items.length === 0) result.delete(g);
  return result;
}

/** `(default: X)` in every option description of `cmd` and its subcommands. */
export function normaliseDefaults(cmd: Command): void {
  for (const option of cmd.options) {
    if (option.description) option.description = normaliseDefaultText(option.description);
  }
  for (const sub of cmd.commands) normaliseDefaults(sub);
}

/** Puts every option of `cmd` into its help group, normalises its default text and orders the groups. */
export function applyProfileHelpLayout(cmd: Command): Command {
  for (const option of cmd.options) {
    option.helpGroup(helpGroupOf(option));
    if (option.description) option.description = normaliseDefaultText(option.description);
  }
  cmd.configureHelp({
    groupItems: orderedGroups as Help['groupItems'],
    formatItem: (term, _termWidth, description, helper) =>
      formatHelpItem(term, description, helper.helpWidth ?? 80),
  });
  return cmd;
}
