/**
 * What a run does when the server misbehaves (issue 13, client side; issue 19 item 9), against a real local
 * HTTP server whose behaviour the test switches mid-run: the JSON record and the CSV are always written for the
 * levels measured, with the documented exit code and a message that names the real cause; a server that drops
 * every connection is retried with back-off, not thousands of times a second; the statistics call cannot
 * stretch a window to its 30 s default; a level that mostly failed is marked everywhere.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { ExitCode } from '../../src/errors.ts';
import { parseRunResult } from '../../src/report/json-record.ts';
import { memoryFiles } from '../client/cli/harness.ts';
import { tritonStatsEntry } from '../helpers/fake-kserve-server.ts';
import { runProfile } from '../helpers/run-profile.ts';

/** What the server does with the n-th infer request (0-based) and with a statistics call. */
interface Behaviour {
  infer: (index: number) => 'answer' | 'hang' | 'destroy' | '503';
  statsHang: () => boolean;
}

class ScriptedServer {
  url = '';
  behaviour: Behaviour = { infer: () => 'answer', statsHang: () => false };
  received = 0;
  answered = 0;
  connections = 0;
  private readonly server: Server;
  private readonly held = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => this.handle(req.url ?? '', res));
    });
    this.server.on('connection', () => this.connections++);
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(behaviour: Behaviour): void {
    this.behaviour = behaviour;
    this.received = 0;
    this.answered = 0;
    this.connections = 0;
    this.releaseHeld();
  }

  releaseHeld(): void {
    for (const res of this.held) res.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    this.releaseHeld();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private handle(url: string, res: ServerResponse): void {
    if (url === '/v2') {
      this.json(res, 200, { name: 'scripted', version: '0', extensions: ['statistics'] });
    } else if (url === '/v2/models/m') {
      const tensor = { datatype: 'FP32', shape: [4] };
      this.json(res, 200, {
        name: 'm',
        versions: ['1'],
        platform: 'fake',
        inputs: [{ name: 'INPUT0', ...tensor }],
        outputs: [{ name: 'OUTPUT0', ...tensor }],
      });
    } else if (url === '/v2/models/m/stats') {
      if (this.behaviour.statsHang()) {
        this.held.add(res);
        return;
      }
      const n = this.answered;
      const d = { count: n, ns: n * 1_000_000 };
      this.json(res, 200, {
        model_stats: [
          tritonStatsEntry('m', '1', {
            inferenceCount: n,
            executionCount: n,
            success: d,
            queue: d,
            computeInput: d,
            computeInfer: d,
            computeOutput: d,
          }),
        ],
      });
    } else if (url === '/v2/models/m/infer') {
      const what = this.behaviour.infer(this.received++);
      if (what === 'hang') this.held.add(res);
      else if (what === 'destroy') res.socket?.destroy();
      else if (what === '503') this.json(res, 503, { error: 'overloaded' });
      else {
        this.answered++;
        this.json(res, 200, { model_name: 'm', model_version: '1', outputs: [] });
      }
    } else {
      this.json(res, 404, { error: 'Not Found' });
    }
  }
}

describe('an unhappy server: records always written, clear messages, bounded retries', {
  timeout: 60_000,
}, () => {
  const server = new ScriptedServer();
  before(() => server.start());
  after(() => server.close());
  beforeEach(() => server.reset({ infer: () => 'answer', statsHang: () => false }));

  const args = (...more: string[]): string[] => [
    '-m',
    'm',
    '-u',
    server.url,
    '--no-progress',
    '--json',
    'run.json',
    '-f',
    'run.csv',
    ...more,
  ];

  it('server stops answering mid-level: exit 5, record and CSV written, windows not stretched by the stats call', async () => {
    // The first 20 requests are answered; after that neither requests nor statistics calls get an answer.
    server.reset({ infer: (i) => (i < 20 ? 'answer' : 'hang'), statsHang: () => server.received > 20 });
    const r = await runProfile(args('-p', '300', '-r', '3'));
    server.releaseHeld();
    assert.equal(r.code, ExitCode.NoData, r.stderr);
    const level = r.record!.levels[0]!;
    assert.equal(level.status, 'no_data');
    assert.equal(level.windows.length, 3);
    // The 30 s API default would put ~30 s between windows; the bound is max(window, 1 s).
    const gapsMs = level.windows.slice(1).map((w, i) => w.startWallMs - level.windows[i]!.startWallMs);
    assert.ok(
      gapsMs.every((g) => g < 10_000),
      `window starts ${gapsMs.join(', ')} ms apart`,
    );
    assert.match(r.stderr, /none was answered within the window/);
    assert.doesNotMatch(r.stderr, /larger time window/);
    assert.match(r.stderr, /Server statistics became unavailable/);
    const csv = r.files.get('run.csv')!;
    assert.match(csv.split('\n')[1]!, /^1,.*,no_data$/);
  });

  it('every connection dropped: exit 5, the message says unreachable, retries back off', async () => {
    server.reset({ infer: () => 'destroy', statsHang: () => false });
    const r = await runProfile(args('-p', '500', '-r', '3', '--concurrency-range', '2'));
    assert.equal(r.code, ExitCode.NoData, r.stderr);
    assert.match(
      r.stderr,
      /No valid requests: the server at 127\.0\.0\.1:\d+ cannot be reached \(transport:/,
    );
    assert.doesNotMatch(r.stderr, /larger time window/);
    const level = r.record!.levels[0]!;
    assert.equal(level.errorRate, 1);
    assert.equal(level.errorRateExceeded, true);
    // 2 slots over ~1.5 s with back-off 10, 20, 40 … ms: a few dozen connections, not thousands.
    assert.ok(server.connections < 100, `${server.connections} connections`);
    assert.ok(server.received >= 4, 'it did keep trying');
  });

  it('half the requests answered 503: the level is marked in stdout, stderr, CSV and JSON; exit 4', async () => {
    server.reset({ infer: (i) => (i % 2 === 0 ? '503' : 'answer'), statsHang: () => false });
    const r = await runProfile(args('-p', '200', '--single-measurement', '--concurrency-range', '1:2'));
    assert.equal(r.code, ExitCode.ErrorsOverLimit, r.stderr);
    assert.equal(r.record!.levels.length, 2, 'the sweep goes on');
    for (const level of r.record!.levels) {
      assert.equal(level.errorRateExceeded, true);
      assert.ok(level.errorRate! > 0.4 && level.errorRate! < 0.6, String(level.errorRate));
    }
    assert.match(
      r.stderr,
      /WARNING: concurrency 1: \d+ of \d+ requests failed \(\d+\.\d %, above the --error-rate-threshold of 5\.0 %\): http:503 \d+/,
    );
    assert.match(r.stdout, /Request concurrency: 1\n {2}\[ERROR RATE EXCEEDED\] \d+ of \d+ requests failed/);
    const [header, ...rows] = r.files.get('run.csv')!.trimEnd().split('\n');
    assert.match(header!, /,p99 latency,Error Rate %,Error Rate Exceeded,Level Status$/);
    assert.equal(rows.length, 2);
    for (const row of rows) assert.match(row, /,yes,single$/);
    // A higher threshold accepts the same run.
    server.reset({ infer: (i) => (i % 2 === 0 ? '503' : 'answer'), statsHang: () => false });
    const ok = await runProfile(args('-p', '200', '--single-measurement', '--error-rate-threshold', '60'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.record!.levels[0]!.errorRateExceeded, false);
  });

  it('--max-error-rate abort: exit 4 and the aborted level is in the CSV, not only in the record', async () => {
    server.reset({ infer: (i) => (i % 2 === 0 ? '503' : 'answer'), statsHang: () => false });
    const r = await runProfile(args('-p', '200', '--max-error-rate', '10'));
    assert.equal(r.code, ExitCode.ErrorsOverLimit, r.stderr);
    assert.equal(r.record!.levels[0]!.status, 'errors_over_limit');
    const rows = r.files.get('run.csv')!.trimEnd().split('\n').slice(1);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, /,yes,errors_over_limit$/);
  });

  it('SIGINT during the first level: exit 130, the record and the CSV are written', async () => {
    const controller = new AbortController();
    server.reset({
      infer: (i) => {
        if (i === 30) controller.abort();
        return 'answer';
      },
      statsHang: () => false,
    });
    const { files, stored } = memoryFiles();
    let stdout = '';
    const code = await main(
      args('-p', '200'),
      { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true, isTTY: false } },
      { files, signal: controller.signal },
    );
    assert.equal(code, ExitCode.Interrupted, stdout);
    const record = parseRunResult(stored.get('run.json')!, 'run.json');
    assert.equal(record.levels[0]!.status, 'interrupted');
    assert.match(stored.get('run.csv')!.split('\n')[1]!, /,interrupted$/);
  });
});
