/**
 * `inferbench completion bash|zsh|fish`: shell completion scripts generated from the command tree itself, so a
 * flag added to a command is completed without touching this file. Pure: the tree comes in as a CompletionSpec.
 * Completes the commands (first word), each command's flags (profile's when no command is given, since profile
 * is the default), the bundled model names after -m, the shells after `completion`, and file names elsewhere.
 */
import type { Command } from 'commander';
import { OptionError } from '../errors.ts';

export interface CompletionSpec {
  program: string;
  /** The command run when the first word is a flag (profile). */
  defaultCommand: string;
  commands: readonly { name: string; flags: readonly string[] }[];
  /** Values offered after -m. */
  modelNames: readonly string[];
}

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The visible flags of a commander command (long and short forms), in declaration order. */
export function commandFlags(cmd: Command): string[] {
  const flags: string[] = [];
  for (const option of cmd.options) {
    if ((option as { hidden?: boolean }).hidden) continue;
    if (option.long) flags.push(option.long);
    if (option.short) flags.push(option.short);
  }
  return [...flags, '--help'];
}

/** The completion spec of `program`; `extraFlags` for commands whose own parser owns their flags (serve…). */
export function completionSpecOf(
  program: Command,
  defaultCommand: string,
  modelNames: readonly string[],
  extraFlags: Readonly<Record<string, readonly string[]>> = {},
): CompletionSpec {
  return {
    program: program.name(),
    defaultCommand,
    commands: program.commands.map((cmd) => ({
      name: cmd.name(),
      flags: [...new Set([...commandFlags(cmd), ...(extraFlags[cmd.name()] ?? [])])],
    })),
    modelNames,
  };
}

/** The script for `shell`; OptionError (exit 3) for any other name. */
export function completionScript(shell: string, spec: CompletionSpec): string {
  if (shell === 'bash') return bashScript(spec);
  if (shell === 'zsh') return zshScript(spec);
  if (shell === 'fish') return fishScript(spec);
  throw new OptionError(
    `completion: unknown shell '${shell}'; use one of ${COMPLETION_SHELLS.join(', ')} (e.g. source <(inferbench completion bash))`,
  );
}

/** Shell-safe word (our flags and names are [A-Za-z0-9_.-]; anything else would be a bug). */
function word(text: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(text))
    throw new Error(`completion: unexpected word ${JSON.stringify(text)}`);
  return text;
}

function functionName(spec: CompletionSpec): string {
  return `_${spec.program.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
}

function bashScript(spec: CompletionSpec): string {
  const fn = functionName(spec);
  const names = spec.commands.map((c) => word(c.name));
  const cases = spec.commands
    .map((c) => `    ${word(c.name)}) opts="${c.flags.map(word).join(' ')}" ;;`)
    .join('\n');
  const defaultFlags = spec.commands.find((c) => c.name === spec.defaultCommand)?.flags ?? [];
  return `# ${spec.program} completion for bash (source <(${spec.program} completion bash))
${fn}() {
  local cur prev cmd="" i opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${names.join('|')}) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ "$prev" == "-m" ]]; then
    COMPREPLY=($(compgen -W "${spec.modelNames.map(word).join(' ')}" -- "$cur"))
    return
  fi
  if [[ "$cmd" == "completion" ]]; then
    COMPREPLY=($(compgen -W "${COMPLETION_SHELLS.join(' ')}" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
    *) opts="${defaultFlags.map(word).join(' ')}" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -z "$cmd" && $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${names.join(' ')}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o default -F ${fn} ${spec.program}
`;
}

/** zsh runs the bash function through bashcompinit (part of zsh). */
function zshScript(spec: CompletionSpec): string {
  return `# ${spec.program} completion for zsh (source <(${spec.program} completion zsh))
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(spec).split('\n').slice(1).join('\n')}`;
}

function fishScript(spec: CompletionSpec): string {
  const p = spec.program;
  const names = spec.commands.map((c) => word(c.name));
  const lines = [
    `# ${p} completion for fish (${p} completion fish > ~/.config/fish/completions/${p}.fish)`,
    `complete -c ${p} -f -n '__fish_use_subcommand' -a '${names.join(' ')}'`,
    `complete -c ${p} -f -n '__fish_seen_subcommand_from completion' -a '${COMPLETION_SHELLS.join(' ')}'`,
    `complete -c ${p} -f -s m -r -a '${spec.modelNames.map(word).join(' ')}'`,
  ];
  const flagLines = (condition: string, flags: readonly string[]): string[] =>
    flags.map((f) =>
      f.startsWith('--')
        ? `complete -c ${p} -n '${condition}' -l ${word(f.slice(2))}`
        : `complete -c ${p} -n '${condition}' -s ${word(f.slice(1))}`,
    );
  for (const c of spec.commands) {
    lines.push(...flagLines(`__fish_seen_subcommand_from ${word(c.name)}`, c.flags));
  }
  const profile = spec.commands.find((c) => c.name === spec.defaultCommand);
  if (profile) lines.push(...flagLines(`not __fish_seen_subcommand_from ${names.join(' ')}`, profile.flags));
  return `${lines.join('\n')}\n`;
}
