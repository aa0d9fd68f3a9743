/**
 * Reads a benchmark config file (YAML or JSON — JSON is parsed by the YAML parser too, so both get positions)
 * and validates it against `benchConfigSchema`. Every error names the file, line and column, and the key path,
 * e.g. `bench-configs/ci-smoke.yaml:7:3: measurementInterval: expected a positive integer, got "fast"`,
 * because a CI job that fails on a typo should say exactly where it is.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { OptionError } from '../errors.ts';
import { type BenchConfig, benchConfigSchema } from './bench-config-schema.ts';

/** How config loading reads files (injected so the CLI stays testable in memory). */
export interface ConfigFileView {
  exists(path: string): boolean;
  readText(path: string): string;
}

/** Reads and validates `path`; throws OptionError (exit code 3) with file:line:column on any problem. */
export function loadBenchConfig(path: string, files: ConfigFileView): BenchConfig {
  if (!files.exists(path)) throw new OptionError(`config file '${path}' does not exist`);
  return parseBenchConfig(files.readText(path), path);
}

/** Parses and validates config text; `source` names the file in messages. */
export function parseBenchConfig(text: string, source: string): BenchConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0] ?? lineCounter.linePos(syntax.pos[0]);
    const where = `${source}:${pos.line}:${pos.col}`;
    throw new OptionError(`${where}: ${syntax.message.split('\n')[0]}`);
  }
  // An alias with no anchor before it, or inside the node it names (`a: &x [*x]`, a cyclic value), is
  // refused where it is written; so is a document whose aliases expand too far (yaml's maxAliasCount).
  const alias = badAlias(doc);
  if (alias !== undefined) {
    const { line, col } = lineCounter.linePos(alias.offset);
    throw new OptionError(`${source}:${line}:${col}: ${alias.problem}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new OptionError(`${source}: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = benchConfigSchema.safeParse(data, { reportInput: true });
  if (parsed.success) return parsed.data;
  const located = parsed.error.issues.map((issue) => {
    const { node, keyOf } = locate(doc.contents, issue);
    const offset = (keyOf ?? node)?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return { offset, text: `${source}:${line}:${col}: ${describeIssue(issue)}` };
  });
  // In file order, so the first line printed is the first problem in the file.
  located.sort((a, b) => a.offset - b.offset);
  throw new OptionError(located.map((l) => l.text).join('\n'));
}

/** Validates a config given as an object (the library's `profile()`); each error names `source` and the key path. */
export function checkBenchConfig(data: unknown, source: string): BenchConfig {
  const parsed = benchConfigSchema.safeParse(data ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new OptionError(parsed.error.issues.map((issue) => `${source}: ${describeIssue(issue)}`).join('\n'));
}

type Issue = z.core.$ZodIssue;

/** The first alias that names no earlier anchor or one of its own ancestors (a cycle), or undefined. */
function badAlias(doc: Document): { offset: number; problem: string } | undefined {
  let found: { offset: number; problem: string } | undefined;
  visit(doc, {
    Alias(_key, alias, path) {
      const target = alias.resolve(doc);
      const offset = alias.range?.[0] ?? 0;
      if (target === undefined) {
        found = {
          offset,
          problem: `the YAML alias *${alias.source} has no anchor &${alias.source} before it`,
        };
      } else if (path.includes(target as never)) {
        found = { offset, problem: `the YAML alias *${alias.source} is inside the node it names (a cycle)` };
      }
      return found ? visit.BREAK : undefined;
    },
  });
  return found;
}

/** `embedded.configOverrides.simple`, `thresholds[1]`; `(top level)` for the root. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

function camelCase(key: string): string {
  return key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
}

function describeIssue(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(benchConfigSchema.shape);
    const hints = issue.keys.map((k) => {
      const camel = camelCase(k);
      return camel !== k && known.includes(camel) ? `'${k}' (did you mean '${camel}'?)` : `'${k}'`;
    });
    return `${keyPath(issue.path)}: unknown key ${hints.join(', ')}`;
  }
  const got = 'input' in issue && issue.input !== undefined ? `, got ${JSON.stringify(issue.input)}` : '';
  const detail = issue.code === 'custom' ? '' : got;
  return `${keyPath(issue.path)}: ${issue.message}${detail}`;
}

/** The YAML node an issue is about (the deepest existing one on its path) and, for unknown keys, the key node. */
function locate(root: Node | null, issue: Issue): { node?: Node; keyOf?: Node } {
  let node: Node | null | undefined = root;
  let keyNode: Node | undefined;
  for (const seg of issue.path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      keyNode = isScalar(pair.key) ? pair.key : undefined;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      node = item;
      keyNode = undefined;
    } else {
      break;
    }
  }
  if (issue.code === 'unrecognized_keys' && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && issue.keys.includes(String(p.key.value)));
    if (pair && isScalar(pair.key)) return { keyOf: pair.key };
  }
  // A missing value (`key:` with nothing after it) has no range: point at its key.
  if (node?.range) return { node };
  return keyNode ? { keyOf: keyNode } : {};
}
