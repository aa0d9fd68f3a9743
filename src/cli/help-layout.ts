/**
 * How `--help` reads: the profile flags in groups a user scans top-down (model and server first, TLS and
 * perf_analyzer leftovers last) instead of one flat list of 70, examples before the flags, and defaults always
 * written one way, `(default: X)`. Each flag's group is its row's `group` in the option table
 * (src/options/profile-options.ts); options of no group (other commands' own) go under "Options:".
 */
import { type Command, type Help, Option } from 'commander';
import { HELP_GROUPS, type HelpGroup, type OptionSpec } from '../options/option-spec.ts';
import { PROFILE_OPTIONS } from '../options/profile-options.ts';

/**
 * Group headings in the order they are printed, each with its flags (named by the long form, or the short one
 * when there is none), from the option table's `group`.
 */
export const PROFILE_HELP_GROUPS: readonly (readonly [heading: string, flags: readonly string[]])[] = (
  Object.keys(HELP_GROUPS) as HelpGroup[]
)
  .filter((group) => group !== 'other')
  .map((group) => [
    HELP_GROUPS[group],
    Object.values(PROFILE_OPTIONS as Record<string, OptionSpec>)
      .filter((spec) => spec.group === group && spec.flags !== undefined)
      .map((spec) => {
        const option = new Option(spec.flags as string);
        return (option.long ?? option.short) as string;
      }),
  ]);

/** Where -h, --version and flags of no other group go (commander's own heading, so -h joins them). */
export const OTHER_OPTIONS_GROUP = HELP_GROUPS.other;

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
