/**
 * `inferbench profile --shards N --local`: N shard processes on this host through the same code path as
 * shards on N machines (--shard i/N, a shared --start-at, a record each), merged at the end like
 * `inferbench merge` (src/distributed/merge-records.ts). The parent starts the embedded server once (when no
 * -u is given) so every shard loads the same server; the shards share this host's clock (--clock-sync none
 * unless given). Their settings travel as a config file (the same one `inferbench k8s` puts in its
 * ConfigMap); their records and that file live in a private temporary directory, removed afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isProvisionalShardWarning,
  mergeShardRecords,
  type ShardInput,
} from '../distributed/merge-records.ts';
import { COORDINATED_START } from '../distributed/shard-spec.ts';
import { InferbenchError, ServerError } from '../errors.ts';
import type { RawFlags } from '../options/profile-options.ts';
import { parseRunResult } from '../report/json-record.ts';
import type { CliFiles, CliIo } from './main.ts';
import { emitMerged } from './merge-command.ts';
import type { ResolvedRun } from './run-types.ts';
import { shardConfigOf } from './shard-config.ts';

/**
 * The shards start this long after the last one is ready (model described, data built, connected): time for
 * the parent's message to reach every child. Each child tells its parent it is ready over IPC
 * (`--start-at ipc`), so a slow start-up on a busy host never makes a shard miss the start.
 */
export function localStartLeadMs(count: number): number {
  return 500 + 50 * count;
}

function shardEntry(): { script: string; execArgv: string[] } {
  const ext = extname(fileURLToPath(import.meta.url));
  const script = fileURLToPath(new URL(`./shard-main${ext}`, import.meta.url));
  // From TypeScript sources the child needs tsx too, resolved from here (not from the working directory).
  return { script, execArgv: ext === '.ts' ? ['--import', import.meta.resolve('tsx')] : [] };
}

/** Forwards a child's stderr line by line, prefixed with its shard. */
function forwardLines(child: ChildProcess, prefix: string, write: (text: string) => void): void {
  let pending = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') write(`${prefix}${line}\n`);
  });
  child.stderr?.on('end', () => {
    if (pending.trim() !== '') write(`${prefix}${pending}\n`);
  });
}

export async function runLocalShards(
  flags: RawFlags,
  resolved: ResolvedRun,
  io: CliIo,
  signal: AbortSignal,
  files: CliFiles,
): Promise<number> {
  const count = resolved.localShards?.count ?? 1;
  const { startEmbedded } = await import('./run-benchmark.ts');
  const { run, server } = await startEmbedded(resolved);
  const dir = mkdtempSync(join(tmpdir(), 'inferbench-shards-'));
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const onAbort = (): void => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const configPath = join(dir, 'shard-config.json');
    writeFileSync(configPath, JSON.stringify(shardConfigOf(flags, { keepTarget: false }), null, 2), {
      mode: 0o600,
    });
    const fixedStartMs = resolved.localShards?.startAtMs;
    const { script, execArgv } = shardEntry();
    const exits: Promise<number>[] = [];
    const ready: Promise<boolean>[] = [];
    const records: string[] = [];
    for (let index = 0; index < count; index++) {
      const record = join(dir, `shard-${index}.json`);
      records.push(record);
      const args = [
        ...execArgv,
        script,
        'profile',
        '-c',
        configPath,
        '-u',
        run.settings.url,
        '-i',
        run.settings.protocol,
        '--shard',
        `${index}/${count}`,
        '--start-at',
        fixedStartMs === undefined ? COORDINATED_START : String(fixedStartMs),
        '--clock-sync',
        flags.clockSync ?? 'none',
        '--json',
        record,
        '--quiet',
        '--no-progress',
      ];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      children.push(child);
      ready.push(
        new Promise((resolve) => {
          child.on('message', (m: { type?: string }) => {
            if (m?.type === 'inferbench-shard-ready') resolve(true);
          });
          child.once('exit', () => resolve(false));
        }),
      );
      // The shards' own verdicts are provisional (the merge judges again): not forwarded.
      forwardLines(child, `[shard ${index}/${count}] `, (t) => {
        if (!isProvisionalShardWarning(t.slice(t.indexOf('] ') + 2))) io.stderr.write(t);
      });
      exits.push(
        new Promise((resolve) => {
          child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 99)));
          child.once('error', () => resolve(99));
        }),
      );
    }
    // Every shard ready (or one gone, then the others are stopped): the start goes to all of them at once.
    const allReady = await Promise.all(ready);
    if (allReady.every(Boolean)) {
      const startAtMs = Date.now() + localStartLeadMs(count);
      for (const c of children) c.send({ type: 'inferbench-start', startAtMs });
    } else {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    }
    const codes = await Promise.all(exits);
    const inputs: ShardInput[] = [];
    for (const [index, path] of records.entries()) {
      if (!existsSync(path)) {
        const code = codes[index] ?? 99;
        throw new InferbenchError(
          `local shard ${index}/${count} ended with exit code ${code} and wrote no record (its messages are above).`,
          code === 3 || code === 5 || code === 6 ? code : 99,
        );
      }
      inputs.push({
        source: `shard ${index}/${count}`,
        record: parseRunResult(readFileSync(path, 'utf8'), `shard ${index}`),
      });
    }
    const merged = mergeShardRecords(inputs);
    const { output } = resolved;
    return emitMerged(
      merged,
      { json: output.jsonFile, csv: output.csvFile, html: output.htmlFile, quiet: output.quiet },
      resolved.thresholds,
      { stdout: io.stdout, stderr: io.stderr, files },
    );
  } catch (error) {
    if (error instanceof InferbenchError) throw error;
    throw new ServerError(`local shards failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    killAll();
    process.off('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}
