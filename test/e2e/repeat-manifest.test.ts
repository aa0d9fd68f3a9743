/**
 * --repeat, the reproducibility manifest, the client↔server accounting line and the server's
 * inferbench.execution_delay_us, end to end against the bundled server (a child process on 127.0.0.1): a
 * record of two runs of the measurement has each run's windows, the pooled figure, the manifest as fetched,
 * and an accounting line that agrees; the delay shows up in the server's compute_infer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { materializeEmbeddedRepository } from '../../embedded-server/src/embedded-repository.ts';
import { type EmbeddedServerProcess, startEmbeddedServerProcess } from '../../src/cli/embedded-process.ts';
import { materializeConfigOverrides } from '../../src/config/materialize-overrides.ts';
import { comparableFromRecord } from '../../src/gate/comparable.ts';
import { compareRuns } from '../../src/gate/compare.ts';
import { runProfile } from '../helpers/run-profile.ts';

const DELAY_US = 3000;

describe('--repeat, manifest, accounting and the execution delay (bundled server)', () => {
  let server: EmbeddedServerProcess | undefined;
  let dispose = async (): Promise<void> => undefined;

  before(async () => {
    const base = await materializeEmbeddedRepository();
    const copy = await materializeConfigOverrides(base, {
      simple: `parameters { key: "inferbench.execution_delay_us" value: { string_value: "${DELAY_US}" } }`,
    });
    dispose = copy.dispose;
    server = await startEmbeddedServerProcess({ modelRepository: copy.dir });
  });

  after(async () => {
    await server?.stop();
    await dispose();
  });

  it('one record of two runs, with the manifest and an accounting line that agrees', async () => {
    const r = await runProfile([
      '-m',
      'simple',
      '-u',
      server!.httpUrl,
      '--concurrency-range',
      '2',
      '-p',
      '200',
      '-s',
      '1000',
      '--repeat',
      '2',
      '--json',
      'run.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const record = r.record!;
    assert.equal(record.repeatCount, 2);
    const level = record.levels[0]!;
    assert.deepEqual(
      level.repeats?.map((x) => [x.repeat, x.status]),
      [
        [1, 'stable'],
        [2, 'stable'],
      ],
    );
    assert.deepEqual([...new Set(level.windows.map((w) => w.repeat))], [1, 2]);
    // The level's figure pools each run's last 3 windows.
    const pooled = [1, 2]
      .flatMap((k) => level.windows.filter((w) => w.repeat === k).slice(-3))
      .reduce((s, w) => s + w.requestCount, 0);
    assert.equal(level.merged?.requestCount, pooled);
    // The delay is inside the server's compute_infer (per execution).
    const server_ = level.merged!.server!;
    assert.ok(
      server_.computeInfer.ns / server_.computeInfer.count >= DELAY_US * 1000,
      'delay in compute_infer',
    );
    // Accounting: every window, client vs server, within the edges.
    const accounting = level.accounting!;
    assert.equal(
      accounting.clientCompleted,
      level.windows.reduce((s, w) => s + w.requestCount, 0),
    );
    assert.equal(accounting.flagged, false, JSON.stringify(accounting));
    assert.ok(
      Math.abs(accounting.clientCompleted - accounting.serverSuccess) <= accounting.allowedDifference,
    );
    assert.match(
      r.stdout,
      /\n {2}Accounting: client \d+ completed, server \d+ successes \(difference [+-]\d+, up to \d+ in flight at the edges\): ok\n/,
    );
    // The manifest, as fetched.
    const m = record.manifest!;
    assert.equal(m.seed, 5489);
    assert.match(m.tool.commit ?? '', /^[0-9a-f]{40}$/);
    assert.equal(m.server.metadata.name, 'inferbench');
    assert.ok(m.server.metadata.extensions.includes('statistics'));
    assert.deepEqual(m.server.executionProviders, ['cpu']);
    assert.match(JSON.stringify(m.server.modelConfig), /inferbench\.execution_delay_us/);
    assert.equal(m.host.loadAverage.length, 3);
    assert.equal(m.node, process.version);
    assert.equal((m.settings as { repeat: number }).repeat, 2);
    // compare sees two runs a side, and a record is never regressed against itself.
    const c = comparableFromRecord(record, 'run.json');
    assert.deepEqual(
      c.levels[0]!.runs.map((x) => x.length),
      [3, 3],
    );
    const self = compareRuns([c], [c], {
      confidence: 0.95,
      minEffect: 0.05,
      metrics: ['throughput', 'p95_latency'],
      errorRateTolerance: 0.001,
    });
    assert.equal(self.regressions, 0);
    assert.ok(self.changes.every((x) => x.basis === 'runs 2+2'));
  });

  it('refuses bad --repeat values and --repeat with a profile export', async () => {
    for (const [value, message] of [
      ['0', /--repeat/],
      ['-1', /--repeat/],
      ['101', /Expected 1 to 100 runs/],
      ['many', /--repeat/],
      ['', /--repeat/],
    ] as const) {
      const r = await runProfile(['-m', 'simple', '-u', server!.httpUrl, '--repeat', value]);
      assert.equal(r.code, 3, value);
      assert.match(r.stderr, message);
    }
    const both = await runProfile([
      '-m',
      'simple',
      '-u',
      server!.httpUrl,
      '--repeat',
      '2',
      '--profile-export-file',
      'export.json',
    ]);
    assert.equal(both.code, 3);
    assert.match(both.stderr, /--repeat cannot be combined with --profile-export-file/);
  });
});
