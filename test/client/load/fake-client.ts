/** Test doubles: an InferClient whose latency and result are scripted, timed on a (fake) Clock. */
import type { Clock } from '../../../src/protocol/clock.ts';
import type {
  InferClient,
  InferOutcome,
  PreparedRequest,
  RequestSpec,
} from '../../../src/transport/client.ts';

export interface FakeBehaviour {
  latencyNs: number;
  ok?: boolean;
  errorKind?: string;
}

export class FakeClient implements InferClient {
  readonly protocol = 'http' as const;
  inFlight = 0;
  maxInFlightSeen = 0;
  calls = 0;
  readonly sent: PreparedRequest[] = [];
  /** In-flight count observed right after each call started. */
  readonly inFlightAtSend: number[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly behaviour: (callIndex: number, inFlight: number) => FakeBehaviour,
  ) {}

  prepare(spec: RequestSpec): PreparedRequest {
    return { spec, byteLength: 0 };
  }

  infer(request: PreparedRequest): Promise<InferOutcome> {
    const callIndex = this.calls++;
    this.inFlight++;
    this.maxInFlightSeen = Math.max(this.maxInFlightSeen, this.inFlight);
    this.inFlightAtSend.push(this.inFlight);
    this.sent.push(request);
    const startNs = this.clock.nowNs();
    const b = this.behaviour(callIndex, this.inFlight);
    return new Promise((resolve) => {
      this.clock.setTimer(() => {
        this.inFlight--;
        const endNs = this.clock.nowNs();
        resolve({
          ok: b.ok ?? true,
          errorKind: b.ok === false ? (b.errorKind ?? 'http:500') : undefined,
          sendStartNs: startNs,
          sendEndNs: startNs,
          responseStartNs: endNs,
          endNs,
          responseBytes: 0,
        });
      }, b.latencyNs);
    });
  }

  async close(): Promise<void> {}
}

export function fakeRequests(client: InferClient, count: number): PreparedRequest[] {
  return Array.from({ length: count }, (_, i) =>
    client.prepare({
      modelName: `m${i}`,
      modelVersion: '',
      inputs: [],
      outputs: [],
      binaryOutputs: true,
      binaryInputs: true,
      parameters: {},
    }),
  );
}

/** Lets every pending promise callback run (a macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Advances a FakeClock in steps, flushing between steps, until `done` settles (bounded by `maxSteps`). */
export async function driveUntil<T>(
  clock: { advanceNs(n: number): void },
  done: Promise<T>,
  stepNs: number,
  maxSteps = 200_000,
): Promise<T> {
  let settled = false;
  const tracked = done.finally(() => {
    settled = true;
  });
  for (let i = 0; i < maxSteps && !settled; i++) {
    clock.advanceNs(stepNs);
    await flush();
  }
  if (!settled) throw new Error('driveUntil: did not settle');
  return tracked;
}
