/**
 * `profile --shards 2 --local` end to end against the bundled server with a fixed execution delay (a child
 * process on 127.0.0.1): two shard processes through the --shard code path (IPC start, aligned windows,
 * records), merged into one record whose client counts agree with the server's own count of ALL requests
 * (so both shards' requests are in it), whose latency cannot be below the delay, and which names its shards.
 * Bounded: one level, 3 windows of 300 ms. The accuracy comparison with one process is a benchmark
 * (npm run bench:shards-merge), not a test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { materializeEmbeddedRepository } from '../../../embedded-server/src/embedded-repository.ts';
import { type EmbeddedServerProcess, startEmbeddedServerProcess } from '../../../src/cli/embedded-process.ts';
import { materializeConfigOverrides } from '../../../src/config/materialize-overrides.ts';
import { runProfile } from '../../helpers/run-profile.ts';

const DELAY_US = 2000;

describe('profile --shards N --local (bundled server, fixed delay)', () => {
  let server: EmbeddedServerProcess | undefined;
  let dispose = async (): Promise<void> => undefined;

  before(async () => {
    const base = await materializeEmbeddedRepository();
    const copy = await materializeConfigOverrides(base, {
      simple: `parameters { key: "inferbench.execution_delay_us" value: { string_value: "${DELAY_US}" } }\ninstance_group { count: 4 kind: KIND_CPU }`,
    });
    dispose = copy.dispose;
    server = await startEmbeddedServerProcess({ modelRepository: copy.dir });
  });

  after(async () => {
    await server?.stop();
    await dispose();
  });

  it('merges two shard processes into one record that accounts for every request', async () => {
    const r = await runProfile([
      '-m',
      'simple',
      '-u',
      server!.httpUrl,
      '--concurrency-range',
      '4',
      '-p',
      '300',
      '-r',
      '3',
      '-s',
      '1000',
      '--shards',
      '2',
      '--local',
      '--json',
      'run.json',
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const record = r.record!;
    assert.equal(record.distributed?.merged, true);
    assert.deepEqual(
      record.distributed?.shards.map((s) => [s.index, s.clockSource]),
      [
        [0, 'none'],
        [1, 'none'],
      ],
    );
    const level = record.levels[0]!;
    assert.equal(level.value, 4, 'the level is the total concurrency');
    assert.equal(level.windows.length, 3);
    assert.ok(level.merged!.latency.percentilesUs['50']! >= DELAY_US, 'latency includes the server delay');
    // The server counted every shard's requests; the merged client count must match it (within the edges).
    const accounting = level.accounting!;
    assert.ok(accounting.serverSuccess > 0);
    assert.ok(
      Math.abs(accounting.clientCompleted - accounting.serverSuccess) <= accounting.allowedDifference,
      `client ${accounting.clientCompleted} vs server ${accounting.serverSuccess}`,
    );
    assert.match(r.stdout, /Concurrency: 4, throughput:/);
  });

  it('a shard that cannot start fails the run with its reason (one shard process, to stay short)', async () => {
    const r = await runProfile([
      '-m',
      'no_such_model',
      '-u',
      server!.httpUrl,
      '--concurrency-range',
      '2',
      '-p',
      '200',
      '--shards',
      '1',
      '--local',
      '--no-progress',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\[shard 0\/1\] error: .*no_such_model/);
    assert.match(r.stderr, /local shard 0\/1 ended with exit code/);
  });
});
