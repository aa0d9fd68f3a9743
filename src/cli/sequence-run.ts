/**
 * What changes in a run when the model is a sequence model (config `sequence_batching`), as perf_analyzer
 * does it: the sequence options take effect, calls become async unless --sync was given, a batch size above 1
 * is refused, and the requests are one batch-1 request per data step of every stream (a sequence walks its
 * stream step by step).
 */

import type { DataSet } from '../data/data-set.ts';
import { buildRequestSpecs, type ModelInputsInfo, type RequestTemplate } from '../data/input-data.ts';
import { OptionError } from '../errors.ts';
import type { SequenceSettings } from '../load/sequence-schedule.ts';
import type { ProfileSettings } from '../profile/settings.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import type { RequestSpec } from '../transport/client.ts';

export function isSequenceModel(config: ModelConfig | undefined): boolean {
  return config?.schedulingChoice.case === 'sequenceBatching';
}

/** The settings and request specs of a sequence model's run. */
export function sequenceRunOf(options: {
  settings: ProfileSettings;
  sequence: SequenceSettings;
  model: ModelInputsInfo;
  dataSet: DataSet;
  template: RequestTemplate;
}): { settings: ProfileSettings; specs: RequestSpec[] } {
  const { settings, sequence, model, dataSet, template } = options;
  if (settings.batchSize > 1) {
    throw new OptionError('can not specify batch size > 1 when the model is a sequence model');
  }
  const specs: RequestSpec[] = [];
  const streamLengths: number[] = [];
  for (const stream of dataSet.streams) {
    const stepSpecs = buildRequestSpecs(model, { kind: dataSet.kind, streams: [stream] }, 1, template);
    specs.push(...stepSpecs);
    streamLengths.push(stepSpecs.length);
  }
  return {
    settings: {
      ...settings,
      async: settings.async || !sequence.syncRequested,
      sequence: { ...sequence, streamLengths, lengthFromStreams: dataSet.kind === 'json' },
    },
    specs,
  };
}
