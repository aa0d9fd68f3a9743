/**
 * The load driver of a sequence model (load-driver.ts hands over when `settings.sequence` is set).
 * Concurrency mode: one SequenceLoop whose slots are the open sequences (perf_analyzer: sequences =
 * concurrency). Request-rate and custom-interval modes: a SequenceOpenLoop per rate over
 * `--num-of-sequences` sequences. A shard (worker thread) runs its share of the slots or of the schedule and
 * draws correlation IDs from its own slice of the range, so shards never share an ID.
 */
import { usToNs } from '../protocol/units.ts';
import type { RequestSpec } from '../transport/client.ts';
import type { LoadDriver, LoadDriverDeps } from './load-driver.ts';
import type { LoadDriverSettings } from './load-settings.ts';
import { SequenceLoop } from './sequence-loop.ts';
import { SequenceOpenLoop } from './sequence-open-loop.ts';
import { SequencePlan, type SequenceSettings } from './sequence-schedule.ts';
import { openLoopShardPacer, shareOf } from './shard-protocol.ts';

/** The flat per-step request specs regrouped by data stream. */
export function stepSpecsByStream(
  specs: readonly RequestSpec[],
  streamLengths: readonly number[],
): RequestSpec[][] {
  const total = streamLengths.reduce((n, l) => n + l, 0);
  if (total !== specs.length) {
    throw new RangeError(
      `sequence data: ${specs.length} step requests for streams of ${streamLengths.join('+')} steps`,
    );
  }
  const out: RequestSpec[][] = [];
  let at = 0;
  for (const length of streamLengths) {
    out.push(specs.slice(at, at + length));
    at += length;
  }
  return out;
}

export function createSequenceDriver(
  settings: LoadDriverSettings,
  sequence: SequenceSettings,
  deps: LoadDriverDeps,
  maxSends: number | undefined,
): LoadDriver {
  const { index, count } = deps.shard ?? { index: 0, count: 1 };
  const streamLengths = sequence.streamLengths ?? [deps.requests.length];
  const stepSpecs = stepSpecsByStream(
    deps.requests.map((r) => r.spec),
    streamLengths,
  );
  const newPlan = () =>
    new SequencePlan({
      settings: sequence,
      streamLengths,
      lengthFromStreams: sequence.lengthFromStreams ?? false,
      seed: sequence.seed,
      shard: { index, count },
    });
  const load = settings.load;
  if (load.mode === 'concurrency') {
    let loop: SequenceLoop | undefined;
    return {
      async apply(concurrency) {
        const slots = shareOf(concurrency, count, index);
        // Levels change with sequences completed first (perf_analyzer pauses, finishes open sequences, resumes).
        if (loop && (maxSends !== undefined || slots === 0)) {
          await loop.stop();
          loop = undefined;
        }
        if (slots === 0) return;
        if (!loop) {
          const active = Math.min(concurrency, count);
          loop = new SequenceLoop({
            client: deps.client,
            stepSpecs,
            plan: newPlan(),
            observer: deps.observer,
            timeoutMs: settings.requestTimeoutMs,
            maxSends: maxSends === undefined ? undefined : shareOf(maxSends, active, index),
          });
        }
        loop.setConcurrency(slots);
      },
      async stop() {
        await loop?.stop();
        loop = undefined;
      },
    };
  }
  let loop: SequenceOpenLoop | undefined;
  return {
    async apply(value, startNs) {
      await loop?.stop();
      loop = new SequenceOpenLoop({
        clock: deps.clock,
        client: deps.client,
        stepSpecs,
        plan: newPlan(),
        sequences: Math.max(1, shareOf(sequence.numSequences, count, index)),
        serial: sequence.serial,
        observer: deps.observer,
        pacer: openLoopShardPacer(load, value, { index, count }, startNs, deps.clock),
        timeoutMs: settings.requestTimeoutMs,
        delayToleranceNs: usToNs(settings.measurement.delayToleranceUs),
        maxSends: maxSends === undefined ? undefined : shareOf(maxSends, count, index),
      });
      loop.start();
    },
    async stop() {
      await loop?.stop();
      loop = undefined;
    },
  };
}
