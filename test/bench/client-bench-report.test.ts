import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AutocannonRun,
  type FloorRun,
  median,
  type OursRun,
  pairedRatios,
  perRequestUs,
  renderClientBenchTables,
  summarizeClientBench,
} from './client-bench-report.ts';

function ours(
  p: Partial<OursRun> & Pick<OursRun, 'protocol' | 'concurrency' | 'rep' | 'ratePerSec'>,
): OursRun {
  return { errors: 0, clientMeanUs: 400, clientP50Us: 390, serverMeanUs: 200, cpuUsPerRequest: 60, ...p };
}

function ac(
  p: Partial<AutocannonRun> & Pick<AutocannonRun, 'concurrency' | 'rep' | 'ratePerSec'>,
): AutocannonRun {
  return {
    ok2xx: 1000,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    cycleUs: (p.concurrency * 1e6) / p.ratePerSec,
    serverMeanUs: 200,
    cpuUsPerRequest: 50,
    ...p,
  };
}

describe('client benchmark report', () => {
  it('takes medians, ignoring NaN, and per-request server time from statistics deltas', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([Number.NaN, 5]), 5);
    assert.ok(Number.isNaN(median([])));
    assert.equal(perRequestUs(3_000_000, 10), 300);
    assert.ok(Number.isNaN(perRequestUs(0, 0)));
  });

  it('pairs ratios by repetition and skips reps missing on one side', () => {
    const r = pairedRatios(
      [
        { rep: 1, ratePerSec: 100 },
        { rep: 2, ratePerSec: 90 },
        { rep: 3, ratePerSec: 80 },
      ],
      [
        { rep: 1, ratePerSec: 50 },
        { rep: 3, ratePerSec: 100 },
      ],
    );
    assert.deepEqual(r, [2, 0.8]);
  });

  it('computes the c=1 overhead as client mean − server mean, and the verdicts', () => {
    const runs: OursRun[] = [
      ours({
        protocol: 'http',
        concurrency: 1,
        rep: 1,
        ratePerSec: 2000,
        clientMeanUs: 480,
        serverMeanUs: 200,
      }),
      ours({
        protocol: 'http',
        concurrency: 1,
        rep: 2,
        ratePerSec: 2100,
        clientMeanUs: 460,
        serverMeanUs: 190,
      }),
      ours({
        protocol: 'http',
        concurrency: 1,
        rep: 3,
        ratePerSec: 2200,
        clientMeanUs: 300,
        serverMeanUs: 220,
      }),
      ours({
        protocol: 'grpc',
        concurrency: 1,
        rep: 1,
        ratePerSec: 1000,
        clientMeanUs: 290,
        serverMeanUs: 200,
      }),
      ours({ protocol: 'http', concurrency: 8, rep: 1, ratePerSec: 5000 }),
      ours({ protocol: 'http', concurrency: 8, rep: 2, ratePerSec: 4000 }),
    ];
    const cannon: AutocannonRun[] = [
      ac({ concurrency: 1, rep: 1, ratePerSec: 2500, serverMeanUs: 180 }),
      ac({ concurrency: 1, rep: 2, ratePerSec: 2000, serverMeanUs: 180 }),
      ac({ concurrency: 1, rep: 3, ratePerSec: 2000, serverMeanUs: 180 }),
      ac({ concurrency: 8, rep: 1, ratePerSec: 4000 }),
      ac({ concurrency: 8, rep: 2, ratePerSec: 4000 }),
    ];
    const floor: FloorRun[] = [
      { rep: 1, ratePerSec: 3000, meanUs: 330, serverMeanUs: 160, cpuUsPerRequest: 45, non2xx: 0 },
    ];
    const s = summarizeClientBench(runs, cannon, { maxOverheadUs: 100, minRateRatio: 1 }, floor);
    const http = s.overhead.find((o) => o.protocol === 'http');
    assert.equal(http?.medianOverheadUs, 270); // overheads 280, 270, 80
    assert.equal(http?.reps, 3);
    assert.equal(http?.met, false);
    assert.equal(s.overhead.find((o) => o.protocol === 'grpc')?.met, true); // 90 µs
    assert.equal(s.overheadMet, false);
    assert.equal(s.floor?.medianOverheadUs, 170);
    // c=1: ratios 0.8, 1.05, 1.1 → 1.05; c=8: 1.25, 1.0 → 1.125
    const c1 = s.rates.find((r) => r.concurrency === 1);
    const c8 = s.rates.find((r) => r.concurrency === 8);
    assert.equal(c1?.ratio, 1.05);
    assert.equal(c8?.ratio, 1.125);
    assert.ok(Number.isNaN(c8?.grpcRatePerSec ?? 0));
    assert.equal(s.ratioMet, true);
    assert.equal(s.autocannonValid, true);
    // autocannon c=1 cycle 400/500/500 µs − server 180 → median 320
    assert.equal(s.autocannonC1CycleOverheadUs, 320);

    const md = renderClientBenchTables(s);
    assert.match(md, /\| HTTP binary \| 270\.0 \|/);
    assert.match(md, /\| raw-socket floor, HTTP \(reference\) \| 170\.0 \|/);
    assert.match(md, /\| 8 \| 4500 \| 4000 \| 1\.13 \| – \|/);
    assert.match(md, /≤ 100 µs: \*\*NOT MET\*\* \(worst 270\.0 µs\)/);
    assert.match(md, /autocannon at equal connections: \*\*MET\*\* \(lowest 1\.05\d×\)/);
    assert.match(md, /own share of the c=1 overhead \(ours − raw-socket floor\): 100\.0 µs/);
  });

  it("reports the bare HTTP/2 gRPC floor and our gRPC client's share above it", () => {
    const runs = [1, 2, 3].map((rep) =>
      ours({
        protocol: 'grpc',
        concurrency: 1,
        rep,
        ratePerSec: 1500,
        clientMeanUs: 600 + rep,
        serverMeanUs: 200,
      }),
    );
    const grpcFloor: FloorRun[] = [
      { rep: 1, ratePerSec: 2000, meanUs: 480, serverMeanUs: 190, cpuUsPerRequest: 150, non2xx: 0 },
      { rep: 2, ratePerSec: 2000, meanUs: 500, serverMeanUs: 200, cpuUsPerRequest: 160, non2xx: 0 },
    ];
    const s = summarizeClientBench(runs, [], undefined, [], grpcFloor);
    assert.equal(s.grpcFloor?.medianOverheadUs, 295); // 290, 300
    assert.equal(s.floor, undefined);
    assert.equal(s.autocannonValid, true);
    const md = renderClientBenchTables(s);
    assert.match(md, /\| bare node:http2 floor, gRPC \(reference\) \| 295\.0 \|/);
    // ours: median 402 µs overhead − 295 µs floor
    assert.match(
      md,
      /gRPC client's own share of the c=1 overhead \(ours − bare node:http2 floor\): 107\.0 µs/,
    );
    assert.match(md, /155\.0 µs of client CPU per request/);
    const failed = summarizeClientBench(
      runs,
      [],
      undefined,
      [],
      [{ ...(grpcFloor[0] as FloorRun), non2xx: 1 }],
    );
    assert.equal(failed.autocannonValid, false);
  });

  it('marks the comparison invalid when autocannon saw a non-2xx, and the ratio not met below 1', () => {
    const s = summarizeClientBench(
      [ours({ protocol: 'http', concurrency: 64, rep: 1, ratePerSec: 900 })],
      [ac({ concurrency: 64, rep: 1, ratePerSec: 1000, non2xx: 3 })],
    );
    assert.equal(s.autocannonValid, false);
    assert.equal(s.ratioMet, false);
    assert.equal(s.rates[0]?.autocannonBad, 3);
    assert.match(renderClientBenchTables(s), /INVALID/);
  });
});
