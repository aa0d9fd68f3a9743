/**
 * The load side of `sequence.bench.ts`, run as a child process so the server's event loop shares no thread
 * with it. Started with `fork()` and one JSON argument ({@link SequenceClientConfig}); measures every variant,
 * alternating, for `rounds` rounds, posts one {@link SequenceClientResult} message and exits.
 *
 * Variants:
 * - `plain`: `concurrency` closed-loop workers on a stateless model (the same client and machine without a
 *   sequence batcher: the baseline the sequence figures are read against);
 * - `decoupled`: `concurrency` closed-loop workers on the gRPC stream against the decoupled `repeat` model,
 *   IN of `responsesPerRequest` elements with no delay: requests/s and responses/s;
 * - `sequence`: a SequenceLoop (the load generator's own concurrency mode) with `concurrency` open sequences.
 *   Before measuring, it runs until every slot has ended at least one sequence (bounded by `maxWarmupMs`):
 *   all sequences start together, so a short window right after the start sees no sequence end at all and the
 *   sequences/s figure would read 0.
 */
import { performance } from 'node:perf_hooks';
import { SequenceLoop } from '../../src/load/sequence-loop.ts';
import { SequencePlan } from '../../src/load/sequence-schedule.ts';
import type { RequestObserver, SequenceMark } from '../../src/measure/request-observer.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import type { InferClient, InferOutcome, RequestSpec } from '../../src/transport/client.ts';
import { createTransport } from '../../src/transport/create.ts';

export interface SequenceVariant {
  name: string;
  kind: 'plain' | 'sequence' | 'decoupled';
  model: string;
  input: string;
}

export interface SequenceClientConfig {
  url: string;
  protocol: 'http' | 'grpc';
  concurrency: number;
  sequenceLength: number;
  seconds: number;
  rounds: number;
  warmupMs: number;
  maxWarmupMs: number;
  variants: SequenceVariant[];
  /** `decoupled` variants: elements of IN, i.e. responses per request. */
  responsesPerRequest: number;
}

export interface VariantRun {
  inferPerSec: number;
  sequencesPerSec: number;
  /** Responses received per second (decoupled: n per request; otherwise one per request). */
  responsesPerSec: number;
  /** Requests per ended sequence in the window (≈ the mean sequence length). */
  requestsPerSequence: number;
  warmupMs: number;
  /** Client-side latency, µs. */
  p50Us: number;
  p99Us: number;
}

export interface SequenceClientResult {
  runs: Record<string, VariantRun[]>;
  fatal?: string;
}

function repeatSpec(v: SequenceVariant, n: number): RequestSpec {
  const u32 = (xs: number[]) => new Uint8Array(Uint32Array.from(xs).buffer);
  return {
    modelName: v.model,
    modelVersion: '',
    inputs: [
      {
        name: 'IN',
        datatype: 'INT32',
        shape: [n],
        data: new Uint8Array(Int32Array.from({ length: n }, (_, i) => i).buffer),
      },
      { name: 'DELAY', datatype: 'UINT32', shape: [n], data: u32(new Array(n).fill(0)) },
      { name: 'WAIT', datatype: 'UINT32', shape: [1], data: u32([0]) },
    ],
    outputs: [],
    binaryOutputs: true,
    binaryInputs: true,
    parameters: {},
  };
}

function specOf(v: SequenceVariant, value: number): RequestSpec {
  return {
    modelName: v.model,
    modelVersion: '',
    inputs: [
      { name: v.input, datatype: 'INT32', shape: [1, 1], data: new Uint8Array(Int32Array.of(value).buffer) },
    ],
    outputs: [],
    binaryOutputs: true,
    binaryInputs: true,
    parameters: {},
  };
}

/** Counts completions while `counting`; the first failure is kept and aborts the bench. */
class Counter implements RequestObserver {
  ok = 0;
  ends = 0;
  responses = 0;
  endsTotal = 0;
  counting = false;
  failure: string | undefined;
  latenciesUs: number[] = [];
  onSent(): void {}
  onDropped(): void {}
  onCompleted(outcome: InferOutcome, _i?: number, _x?: number, seq?: SequenceMark): void {
    if (!outcome.ok) {
      this.failure ??= `request failed: ${outcome.errorKind} ${outcome.errorMessage}`;
      return;
    }
    if (seq?.end) this.endsTotal++;
    if (!this.counting) return;
    this.ok++;
    this.responses += outcome.responseCount ?? 1;
    if (seq?.end) this.ends++;
    this.latenciesUs.push((outcome.endNs - outcome.sendStartNs) / 1000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(
  clients: { unary: InferClient; stream: InferClient },
  v: SequenceVariant,
  c: SequenceClientConfig,
): Promise<VariantRun> {
  const client = v.kind === 'decoupled' ? clients.stream : clients.unary;
  const obs = new Counter();
  let stop: () => Promise<void>;
  if (v.kind === 'sequence') {
    const loop = new SequenceLoop({
      client,
      stepSpecs: [[1, 2, 3, 4, 5].map((x) => specOf(v, x))],
      plan: new SequencePlan({
        settings: {
          length: c.sequenceLength,
          lengthVariationPct: 20,
          idStart: 1,
          idRange: 1_000_000,
          numSequences: c.concurrency,
          serial: false,
          seed: 5489,
        },
        streamLengths: [5],
        lengthFromStreams: false,
        seed: 5489,
      }),
      observer: obs,
      timeoutMs: 30_000,
    });
    loop.setConcurrency(c.concurrency);
    stop = () => loop.stop();
  } else {
    let running = true;
    const prepared = client.prepare(
      v.kind === 'decoupled' ? repeatSpec(v, c.responsesPerRequest) : specOf(v, 1),
    );
    const workers = Array.from({ length: c.concurrency }, async () => {
      while (running) obs.onCompleted(await client.infer(prepared, 30_000), undefined);
    });
    stop = async () => {
      running = false;
      await Promise.all(workers);
    };
  }
  const warmStart = performance.now();
  await sleep(c.warmupMs);
  while (
    v.kind === 'sequence' &&
    obs.endsTotal < c.concurrency &&
    performance.now() - warmStart < c.maxWarmupMs &&
    !obs.failure
  )
    await sleep(50);
  const warmupMs = performance.now() - warmStart;
  obs.counting = true;
  const t0 = performance.now();
  await sleep(c.seconds * 1000);
  obs.counting = false;
  const seconds = (performance.now() - t0) / 1000;
  await stop();
  if (obs.failure) throw new Error(`${v.name}: ${obs.failure}`);
  const sorted = obs.latenciesUs.sort((a, b) => a - b);
  return {
    inferPerSec: obs.ok / seconds,
    sequencesPerSec: obs.ends / seconds,
    responsesPerSec: obs.responses / seconds,
    requestsPerSequence: obs.ends > 0 ? obs.ok / obs.ends : Number.NaN,
    warmupMs,
    p50Us: pct(sorted, 50),
    p99Us: pct(sorted, 99),
  };
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] as string) as SequenceClientConfig;
  const { client, api } = createTransport(c.protocol, {
    url: c.url,
    clock: systemClock,
    connections: c.concurrency,
    headers: {},
  });
  // The decoupled variant needs the bidi stream (gRPC only).
  const stream = createTransport('grpc', {
    url: c.url,
    clock: systemClock,
    connections: c.concurrency,
    headers: {},
    streaming: true,
  });
  const result: SequenceClientResult = { runs: {} };
  try {
    for (let round = 0; round < c.rounds; round++) {
      for (const v of c.variants) {
        if (v.kind === 'decoupled' && c.protocol !== 'grpc') continue;
        const r = await measure({ unary: client, stream: stream.client }, v, c);
        const runs = result.runs[v.name] ?? [];
        runs.push(r);
        result.runs[v.name] = runs;
        console.log(
          `round ${round + 1} ${v.name}: ${r.inferPerSec.toFixed(1)} infer/s, ${r.responsesPerSec.toFixed(1)} responses/s, ${r.sequencesPerSec.toFixed(2)} sequences/s (warm-up ${(r.warmupMs / 1000).toFixed(1)} s)`,
        );
      }
    }
  } catch (e) {
    result.fatal = e instanceof Error ? e.message : String(e);
  } finally {
    await Promise.all([client.close(), api.close(), stream.client.close(), stream.api.close()]);
  }
  process.send?.(result);
  process.disconnect?.();
}

void main();
