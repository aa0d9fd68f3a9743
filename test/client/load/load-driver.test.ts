/**
 * The load driver's shard split on a FakeClock (deterministic): the open-loop shards of one level send, between
 * them, exactly the single generator's schedule (each its every count-th time, not the whole rate each), and
 * a --request-count cap is split between them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLoadDriver } from '../../../src/load/load-driver.ts';
import type { LoadSettings } from '../../../src/load/load-settings.ts';
import { WindowRecorder } from '../../../src/measure/window-recorder.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { settingsWith } from '../profile/helpers.ts';
import { FakeClient, fakeRequests, flush } from './fake-client.ts';

const MS = 1_000_000;

const rate = (distribution: 'constant' | 'poisson'): LoadSettings => ({
  mode: 'request_rate',
  range: { start: 500, end: 500, step: 1 },
  distribution,
  seed: 7,
  maxInFlight: 0,
});

/** The send times of one driver (a shard, or the whole load) over the first second of a 500 req/s level. */
async function sendTimes(
  load: LoadSettings,
  shard: { index: number; count: number } | undefined,
  requestCount = 0,
): Promise<number[]> {
  const clock = new FakeClock();
  const times: number[] = [];
  const client = new FakeClient(clock, () => {
    times.push(clock.nowNs());
    return { latencyNs: 1 * MS };
  });
  const driver = createLoadDriver(settingsWith(load, { requestCount }), {
    clock,
    client,
    requests: fakeRequests(client, 1),
    observer: new WindowRecorder(clock, true),
    shard,
  });
  await driver.apply(500, 0);
  clock.advanceToNs(1_000 * MS);
  await flush();
  const stopped = driver.stop();
  clock.advanceNs(10 * MS);
  await stopped;
  return times;
}

describe('load driver: shards of an open-loop level', () => {
  for (const distribution of ['constant', 'poisson'] as const) {
    it(`${distribution}: two shards send the one generator's schedule between them, half each`, async () => {
      const single = await sendTimes(rate(distribution), undefined);
      const shards = await Promise.all(
        [0, 1].map((index) => sendTimes(rate(distribution), { index, count: 2 })),
      );
      assert.ok(single.length > 400, `${single.length} sends in 1 s at 500/s`);
      assert.deepEqual(
        [...shards[0]!, ...shards[1]!].sort((a, b) => a - b),
        single,
      );
      for (const s of shards) assert.ok(Math.abs(s.length - single.length / 2) <= 1, `${s.length} sends`);
    });
  }

  it('--request-count: the cap is split, the shards send it once in all', async () => {
    const shards = await Promise.all(
      [0, 1, 2].map((index) => sendTimes(rate('constant'), { index, count: 3 }, 100)),
    );
    assert.deepEqual(
      shards.map((s) => s.length),
      [34, 33, 33],
    );
  });
});
