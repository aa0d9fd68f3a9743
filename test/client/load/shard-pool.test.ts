import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { InferbenchError } from '../../../src/errors.ts';
import { constantPacer, poissonPacer } from '../../../src/load/schedule.ts';
import { ShardPool } from '../../../src/load/shard-pool.ts';
import {
  EVENT_STRIDE,
  ShardEventBuffer,
  type ShardTransport,
  shardPacer,
  shareOf,
} from '../../../src/load/shard-protocol.ts';
import { ShardWindows } from '../../../src/load/shard-windows.ts';
import type { LoopHealthSample } from '../../../src/measure/loop-health.ts';
import { errorTotal, type WindowData } from '../../../src/measure/window-data.ts';
import type { ProfileEvent } from '../../../src/profile/events.ts';
import { runProfile } from '../../../src/profile/profiler.ts';
import type { LoadSettings } from '../../../src/profile/settings.ts';
import { FakeClock, systemClock } from '../../../src/protocol/clock.ts';
import type { InferOutcome, RequestSpec } from '../../../src/transport/client.ts';
import { createTransport } from '../../../src/transport/create.ts';
import { concurrency, settingsWith } from '../profile/helpers.ts';

const MS = 1_000_000;

const SPEC: RequestSpec = {
  modelName: 'm',
  modelVersion: '',
  inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 4], data: new Uint8Array(16) }],
  outputs: [],
  binaryInputs: false,
  binaryOutputs: false,
  parameters: {},
};

/** A KServe-ish infer endpoint: answers after `delayMs`, every `failEvery`-th request with 503. */
class TinyServer {
  inFlight = 0;
  peakInFlight = 0;
  /** systemClock time at which each response was finished. */
  readonly endsNs: number[] = [];
  private received = 0;
  private readonly server: Server;

  constructor(delayMs: number, failEvery = 0) {
    this.server = createServer((req, res) => {
      this.received++;
      const fail = failEvery > 0 && this.received % failEvery === 0;
      this.inFlight++;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      req.resume();
      req.on('end', () => {
        setTimeout(() => {
          this.inFlight--;
          res.statusCode = req.url === '/v2/models/m/infer' && !fail ? 200 : 503;
          res.setHeader('content-type', 'application/json');
          res.end(res.statusCode === 200 ? '{"model_name":"m","outputs":[]}' : '{"error":"busy"}');
          this.endsNs.push(systemClock.nowNs());
        }, delayMs);
      });
    });
  }

  async listen(): Promise<ShardTransport> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return { protocol: 'http', options: { url: `127.0.0.1:${port}`, connections: 8, headers: {} } };
  }

  /** Responses the server finished within (startNs, endNs]. */
  endedWithin(w: WindowData): number {
    return this.endsNs.filter((t) => t > w.startNs && t <= w.endNs).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Worker threads show up as MessagePort handles while they live. */
function liveWorkerPorts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
}

const recorded = (w: WindowData) => w.okCount + errorTotal(w);

describe('shard split (perf_analyzer semantics)', () => {
  it('splits a total as floor(N/W) each, the first N % W one more', () => {
    assert.deepEqual(
      [0, 1, 2].map((i) => shareOf(5, 3, i)),
      [2, 2, 1],
    );
    assert.deepEqual(
      [0, 1].map((i) => shareOf(1, 2, i)),
      [1, 0],
    );
    assert.equal(
      [0, 1, 2, 3].reduce((s, i) => s + shareOf(64, 4, i), 0),
      64,
    );
  });

  it('hands every W-th send time of the one schedule to each shard: the union is the single schedule', () => {
    const single = poissonPacer(300, 42);
    const expected = Array.from({ length: 30 }, () => single.next());
    const shards = [0, 1, 2].map((i) => shardPacer(poissonPacer(300, 42), i, 3));
    const union = Array.from({ length: 30 }, (_, k) => shards[k % 3]!.next());
    assert.deepEqual(union, expected);
    const offset = shardPacer(constantPacer(1000), 1, 2, -5 * MS);
    assert.deepEqual([offset.next(), offset.next()], [-3 * MS, -1 * MS]);
  });
});

describe('ShardWindows', () => {
  /** Encodes events with the shard's own encoder, so the layout is tested end to end. */
  function encode(
    clock: FakeClock,
    record: (buffer: ShardEventBuffer) => void,
  ): { events: Float64Array; count: number; kinds: string[] } {
    let out: { events: Float64Array; count: number; kinds: string[] } = {
      events: new Float64Array(0),
      count: 0,
      kinds: [],
    };
    const buffer = new ShardEventBuffer(clock, (batch) => {
      out = { events: batch.events, count: batch.eventCount, kinds: batch.newKinds };
    });
    record(buffer);
    buffer.flush();
    return out;
  }
  const ok = (endNs: number, latencyNs: number): InferOutcome => ({
    ok: true,
    sendStartNs: endNs - latencyNs,
    sendEndNs: endNs - latencyNs,
    responseStartNs: endNs,
    endNs,
    responseBytes: 1,
  });

  it('puts each event in the window in which it happened, even when its batch arrives after the cut', async () => {
    const clock = new FakeClock(100 * MS);
    const health: LoopHealthSample = {
      eventLoopDelayP99Us: 50,
      eventLoopDelayMaxUs: 80,
      eventLoopUtilization: 0.97,
      cpuCores: 1.5,
      wallMs: 100,
    };
    let flushes = 0;
    let deliver: () => void = () => undefined;
    const windows = new ShardWindows(clock, false, {
      mark: () => undefined,
      flush: () => {
        flushes++;
        // The late batch arrives while the cut waits for the shards.
        deliver();
        return Promise.resolve([health]);
      },
    });
    const warm = windows.waitForDiscarded(1);
    const early = encode(clock, (b) => b.onCompleted(ok(90 * MS, 2 * MS), undefined));
    windows.ingest(early.events, early.count, early.kinds);
    await warm; // a completion with no window open counts towards the warm-up

    windows.begin(); // window 1 starts at 100 ms
    clock.advanceNs(50 * MS); // cut at 150 ms
    const late = encode(clock, (b) => {
      b.onSent(false);
      b.onCompleted(ok(149 * MS, 3 * MS), undefined); // ended before the cut
      b.onCompleted(ok(151 * MS, 4 * MS), undefined); // after: next window
      b.onCompleted({ ...ok(149.5 * MS, 1 * MS), ok: false, errorKind: 'http:503' }, undefined);
    });
    deliver = () => windows.ingest(late.events, late.count, late.kinds);
    const first = await windows.cut();
    deliver = () => undefined;
    assert.equal(flushes, 1);
    assert.equal(first.endNs, 150 * MS);
    assert.equal(first.durationNs, 50 * MS);
    assert.equal(first.okCount, 1);
    assert.equal(first.latency.meanUs, 3000);
    assert.equal(first.sentCount, 1);
    assert.deepEqual(first.errorsByKind, { 'http:503': 1 });
    assert.equal(first.loop?.eventLoopUtilization, 0.97);

    clock.advanceNs(50 * MS);
    const second = await windows.end();
    assert.equal(second.startNs, 150 * MS);
    assert.equal(second.okCount, 1);
    assert.equal(second.latency.meanUs, 4000);
    assert.equal(windows.recording, false);
  });

  it('discards exactly the warm-up; later completions of the same batch go to the first window', async () => {
    const clock = new FakeClock(100 * MS);
    const windows = new ShardWindows(clock, false, { mark: () => undefined, flush: async () => [] });
    windows.levelStart();
    const early = encode(clock, (b) => b.onCompleted(ok(95 * MS, 1 * MS), undefined));
    windows.ingest(early.events, early.count, early.kinds); // arrives before the profiler starts waiting
    const warm = windows.waitForDiscarded(2);
    const batch = encode(clock, (b) => {
      for (const t of [101, 102, 103, 104]) b.onCompleted(ok(t * MS, 1 * MS), undefined);
    });
    windows.ingest(batch.events, batch.count, batch.kinds);
    await warm;
    clock.advanceNs(10 * MS);
    windows.begin();
    const first = await windows.end();
    assert.equal(first.okCount, 3);
    // The window starts where the warm-up ended: at its last completion (101 ms).
    assert.equal(first.startNs, 101 * MS);
    assert.equal(first.durationNs, 9 * MS);
  });

  it("keeps the earliest completions as the warm-up when another shard's batch arrives late", async () => {
    const windows = new ShardWindows(new FakeClock(120 * MS), false, {
      mark: () => undefined,
      flush: async () => [],
    });
    windows.levelStart();
    const warm = windows.waitForDiscarded(3);
    // Shard A posts first; shard B's batch holds earlier completions and a send, and arrives after A's.
    const shardA = new FakeClock(100 * MS);
    const a = encode(shardA, (b) => {
      b.onCompleted(ok(100 * MS, MS), undefined);
      b.onCompleted(ok(103 * MS, MS), undefined);
      shardA.advanceNs(4.5 * MS);
      b.onSent(false); // 104.5 ms: after the warm-up's end once B's batch is in
      b.onCompleted(ok(106 * MS, MS), undefined);
      b.onCompleted(ok(109 * MS, MS), undefined);
    });
    const shardB = new FakeClock(100.5 * MS);
    const b = encode(shardB, (buffer) => {
      buffer.onSent(true); // 100.5 ms: during the warm-up, never counted
      for (const t of [101, 102, 104, 110]) buffer.onCompleted(ok(t * MS, MS), undefined);
    });
    windows.ingest(a.events, a.count, a.kinds);
    windows.ingest(b.events, b.count, b.kinds);
    await warm;
    windows.begin();
    const first = await windows.end();
    // Warm-up = 100, 101, 102 (the three earliest); the window = everything after 102, and nothing before it.
    assert.equal(first.startNs, 102 * MS);
    assert.equal(first.okCount, 5);
    assert.equal(first.sentCount, 1);
    assert.equal(first.delayedCount, 0);
    assert.equal(first.durationNs, 18 * MS);
  });

  it('a window of the whole level with no warm-up (count 0) starts at its earliest event, whatever the order', async () => {
    const windows = new ShardWindows(new FakeClock(120 * MS), false, {
      mark: () => undefined,
      flush: async () => [],
    });
    windows.levelStart();
    const warm = windows.waitForDiscarded(0);
    const late = encode(new FakeClock(90 * MS), (b) => {
      b.onSent(false);
      b.onCompleted(ok(95 * MS, MS), undefined);
    });
    const early = encode(new FakeClock(100 * MS), (b) => b.onCompleted(ok(105 * MS, MS), undefined));
    windows.ingest(early.events, early.count, early.kinds);
    windows.ingest(late.events, late.count, late.kinds);
    await warm;
    windows.begin();
    const w = await windows.end();
    assert.equal(w.startNs, 90 * MS);
    assert.equal(w.okCount, 2);
    assert.equal(w.sentCount, 1);
  });

  it('keeps the error-kind table across batches and buffers larger than one array', () => {
    const clock = new FakeClock();
    const batches: { events: Float64Array; count: number; kinds: string[] }[] = [];
    const buffer = new ShardEventBuffer(
      clock,
      (b) => batches.push({ events: b.events, count: b.eventCount, kinds: b.newKinds }),
      4,
    );
    const failed = (kind: string): InferOutcome => ({ ...ok(5, 1), ok: false, errorKind: kind });
    for (const kind of ['timeout', 'http:503', 'timeout', 'http:503', 'grpc:UNAVAILABLE']) {
      buffer.onCompleted(failed(kind), undefined);
    }
    buffer.flush();
    assert.deepEqual(
      batches.map((b) => b.count),
      [4, 1],
    );
    assert.equal(batches[0]!.events.length, 4 * EVENT_STRIDE);
    const windows = new ShardWindows(clock, false, { mark: () => undefined, flush: async () => [] });
    windows.begin();
    const kinds: string[] = [];
    for (const b of batches) {
      kinds.push(...b.kinds);
      windows.ingest(b.events, b.count, kinds);
    }
    return windows.end().then((w) => {
      assert.deepEqual(w.errorsByKind, { timeout: 2, 'http:503': 2, 'grpc:UNAVAILABLE': 1 });
    });
  });
});

describe('ShardPool against a real HTTP server', () => {
  let server: TinyServer;
  let transport: ShardTransport;
  before(async () => {
    server = new TinyServer(5, 7);
    transport = await server.listen();
  });
  after(() => server.close());

  it('closed loop, 2 workers × concurrency 5: 5 in flight in all, windows match the server count', async () => {
    const settings = settingsWith(concurrency(5), {}, { workerThreads: 2 });
    const pool = new ShardPool(settings, { clock: systemClock, transport, specs: [SPEC] });
    const windows: WindowData[] = [];
    try {
      await pool.apply(5);
      assert.equal(pool.size, 2);
      // Warm-up and windows by completion counts (the profiler's count windows), not by sleeps.
      await pool.windows.waitForDiscarded(10);
      server.peakInFlight = 0;
      pool.windows.begin();
      await pool.windows.waitForWindowCount(60);
      windows.push(await pool.windows.cut());
      await pool.windows.waitForWindowCount(60);
      windows.push(await pool.windows.end());
    } finally {
      await pool.stop();
    }
    assert.ok(server.peakInFlight <= 5, `peak ${server.peakInFlight}`);
    assert.ok(server.peakInFlight >= 4, `peak ${server.peakInFlight}`);
    assert.equal(windows[1]!.startNs, windows[0]!.endNs);
    // A response finished by the server just before a boundary may reach the client just after it: at most
    // the 5 in flight straddle each boundary.
    for (const w of windows) {
      assert.ok(recorded(w) > 0, 'no completions recorded');
      assert.ok(
        Math.abs(recorded(w) - server.endedWithin(w)) <= 10,
        `${recorded(w)} vs ${server.endedWithin(w)}`,
      );
      assert.deepEqual(Object.keys(w.errorsByKind), ['http:503']);
      const failedShare = w.errorsByKind['http:503']! / recorded(w);
      assert.ok(Math.abs(failedShare - 1 / 7) < 0.05, `failed share ${failedShare}`);
      assert.ok(w.loop && w.loop.eventLoopUtilization > 0, 'worker health sample');
    }
    const total = windows.reduce((s, w) => s + recorded(w), 0);
    const served = server.endedWithin({ ...windows[0]!, endNs: windows[1]!.endNs });
    assert.ok(Math.abs(total - served) <= 10, `${total} recorded vs ${served} served`);
    assert.equal(liveWorkerPorts(), 0);
  });

  it('open loop, 2 workers at 500 req/s with a count of 100: every send and completion counted once', async () => {
    const load: LoadSettings = {
      mode: 'request_rate',
      range: { start: 500, end: 500, step: 1 },
      distribution: 'constant',
      seed: 1,
      maxInFlight: 0,
    };
    const pool = new ShardPool(settingsWith(load, { requestCount: 100 }, { workerThreads: 2 }), {
      clock: systemClock,
      transport,
      specs: [SPEC],
    });
    let window: WindowData;
    try {
      await pool.apply(500);
      // The profiler's --request-count flow with shards: the window opens at the workers' first event.
      await pool.windows.waitForDiscarded(0);
      pool.windows.begin();
      await pool.windows.waitForWindowCount(100);
      window = await pool.windows.end();
    } finally {
      await pool.stop();
    }
    // The split of the schedule between the workers is checked on a FakeClock (load-driver.test.ts); the rate's
    // wall-clock accuracy is bench:accuracy's. Here: the workers' events reach the one window, each once.
    assert.equal(window.sentCount, 100);
    assert.equal(recorded(window), 100);
    assert.ok(
      window.uncorrected && window.uncorrected.count === window.okCount,
      'open loop keeps the from-send latency',
    );
    assert.equal(window.errorsByKind.dropped, undefined);
    assert.equal(liveWorkerPorts(), 0);
  });

  it('runs in the profiler, stops on SIGINT after the window and leaves no worker behind', async () => {
    // A count window (30 completions), so what it holds does not depend on how fast this machine is.
    const settings = settingsWith(
      concurrency(3),
      { mode: 'count_windows', windowRequestCount: 30, maxTrials: 5 },
      { workerThreads: 2 },
    );
    const { client } = createTransport('http', { ...transport.options, clock: systemClock });
    const abort = new AbortController();
    const events: ProfileEvent[] = [];
    try {
      const outcome = await runProfile(settings, {
        clock: systemClock,
        client,
        requests: [client.prepare(SPEC)],
        statsAvailable: false,
        signal: abort.signal,
        shards: { transport, specs: [SPEC] },
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'window_end') abort.abort();
        },
      });
      assert.equal(outcome.exitCode, 130);
      assert.equal(outcome.levels[0]!.status, 'interrupted');
      assert.equal(outcome.levels[0]!.windows.length, 1);
      const merged = outcome.levels[0]!.merged!;
      // Every assert here has a message: a failing message-less assert.ok makes Node re-parse the transpiled
      // source to word one, which on tsx's long lines takes minutes (it looked like a hang in CI).
      assert.ok(
        merged.requestCount + merged.errorCount >= 30,
        `${merged.requestCount} ok in a 30-request window`,
      );
      assert.deepEqual(
        outcome.warnings.filter((w) => w.includes('Worker threads')),
        [],
        'the shards ran',
      );
    } finally {
      await client.close();
    }
    assert.equal(liveWorkerPorts(), 0);
  });

  it('--request-count over 2 shards: exactly warm-up + count sent, exactly count measured', async () => {
    const settings = settingsWith(
      concurrency(4),
      { warmupRequestCount: 20, requestCount: 200 },
      { workerThreads: 2 },
    );
    const { client } = createTransport('http', { ...transport.options, clock: systemClock });
    const before = server.endsNs.length;
    try {
      const outcome = await runProfile(settings, {
        clock: systemClock,
        client,
        requests: [client.prepare(SPEC)],
        statsAvailable: false,
        shards: { transport, specs: [SPEC] },
      });
      const merged = outcome.levels[0]!.merged!;
      assert.equal(merged.requestCount + merged.errorCount, 200);
    } finally {
      await client.close();
    }
    assert.equal(server.endsNs.length - before, 220);
    assert.equal(liveWorkerPorts(), 0);
  });

  it('fails with a coded error and terminates every worker when a shard cannot start', async () => {
    const broken: ShardTransport = {
      protocol: 'http',
      options: { ...transport.options, url: 'http://[::1' },
    };
    const pool = new ShardPool(settingsWith(concurrency(2), {}, { workerThreads: 2 }), {
      clock: systemClock,
      transport: broken,
      specs: [SPEC],
    });
    await assert.rejects(pool.apply(2), (e: unknown) => e instanceof InferbenchError && e.exitCode === 99);
    await pool.stop();
    assert.equal(liveWorkerPorts(), 0);
  });
});
