/**
 * The embedded server is a child process of the CLI; it must end with the CLI however the CLI ends. Each case
 * starts the real CLI (a real process) on a tiny repository, waits until the sweep is measuring, ends the CLI
 * with a signal, and checks that the server process is gone. SIGKILL cannot be caught: the server notices the
 * dead parent by itself (its stdin pipe closes, its parent PID changes).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { SIMPLE_CONFIG, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

const entry = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Child PIDs of `pid` (from /proc; Linux). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** True while `pid` exists and is not a zombie (a reaped-late zombie has already exited). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until `done()` holds; returns whether it did. */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (done()) return true;
    await sleep(100);
  }
  return done();
}

/** Starts the CLI against the embedded server; resolves once a level is being measured. */
async function startCli(repo: string): Promise<{ cli: ChildProcess; serverPid: number }> {
  const cli = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      entry,
      '-m',
      'simple',
      '--model-repository',
      repo,
      // One long window: the CLI is still measuring when the signal comes; the load is bounded by it.
      '-p',
      '30000',
      '--single-measurement',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  cli.stdout?.resume();
  // stderr is not a TTY: the progress display prints plain lines, the first when level 1 starts.
  cli.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const measuring = await waitFor(() => stderr.includes('[level 1'), 120_000);
  assert.ok(measuring, `the CLI never started measuring; stderr: ${stderr}`);
  // Under tsx the CLI also has esbuild's service as a child; the server is the one running serve-main.
  const servers = childrenOf(cli.pid as number).filter((pid) => cmdline(pid).includes('serve-main'));
  assert.equal(servers.length, 1, 'the CLI runs exactly one embedded server');
  return { cli, serverPid: servers[0] as number };
}

describe('the embedded server ends with the CLI', { concurrency: false }, () => {
  let repo: TempRepository;
  before(async () => {
    repo = await tempRepository({ simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() } });
  });
  after(async () => {
    await repo.remove();
  });

  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGKILL'] as const) {
    it(`${signal} to the CLI leaves no server behind`, async () => {
      const { cli, serverPid } = await startCli(repo.dir);
      try {
        assert.ok(alive(serverPid));
        const exited = new Promise((r) => cli.once('exit', r));
        cli.kill(signal);
        // SIGINT lets the CLI finish the current window first; a second one ends it at once (perf_analyzer).
        if (signal === 'SIGINT') setTimeout(() => cli.kill('SIGINT'), 500);
        const code = await exited;
        if (signal === 'SIGTERM' || signal === 'SIGHUP') {
          // The CLI reports the signal in its exit status as a shell would (143 / 129).
          assert.equal(code, signal === 'SIGTERM' ? 143 : 129);
        }
        const gone = await waitFor(() => !alive(serverPid), 20_000);
        assert.ok(gone, `server ${serverPid} still running after the CLI ended by ${signal}`);
      } finally {
        cli.kill('SIGKILL');
        // Never leave a server running, whatever the assertion said.
        try {
          process.kill(serverPid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
  }
});
