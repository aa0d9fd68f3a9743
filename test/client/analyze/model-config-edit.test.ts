import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { renderAnalyzeHtml } from '../../../src/analyze/analyze-html.ts';
import { type AnalyzeRecord, rankingEntries } from '../../../src/analyze/analyze-record.ts';
import { renderAnalyzeCsv, renderAnalyzeTable } from '../../../src/analyze/analyze-report.ts';
import { resolveAnalyzeSettings } from '../../../src/analyze/analyze-settings.ts';
import { parseConstraint } from '../../../src/analyze/constraints.ts';
import {
  applyCandidate,
  baseSettingsOf,
  configJsonText,
  configPbtxt,
  schedulingConflict,
} from '../../../src/analyze/model-config-edit.ts';
import { parseObjective } from '../../../src/analyze/objectives.ts';
import { rankTrials } from '../../../src/analyze/ranking.ts';
import type { ConfigTrial } from '../../../src/analyze/trial.ts';
import { parseBenchConfig } from '../../../src/config/load-config.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';

const BASE = fromText(
  ModelConfigSchema,
  `name: "m" platform: "onnxruntime_onnx" max_batch_size: 8
   input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
   output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
   instance_group [ { count: 1 kind: KIND_CPU } ]
   dynamic_batching { max_queue_delay_microseconds: 100 priority_levels: 2 default_priority_level: 1 }
   parameters { key: "intra_op_thread_count" value: { string_value: "1" } }`,
);

describe('model-config-edit', () => {
  it("reads the model's knobs", () => {
    assert.deepEqual(baseSettingsOf(BASE), {
      maxBatchSize: 8,
      dynamicBatching: true,
      maxQueueDelayUs: 100,
      preferredBatchSize: [],
      instanceCount: 1,
      instanceKind: 'KIND_CPU',
    });
  });
  it('replaces the searched knobs and keeps everything else', () => {
    const c = applyCandidate(BASE, {
      maxBatchSize: 16,
      dynamicBatching: true,
      maxQueueDelayUs: 2000,
      preferredBatchSize: [8, 16],
      instanceCount: 3,
      instanceKind: 'KIND_CPU',
      batchBuckets: '1,8,16',
    });
    const text = configPbtxt(c);
    assert.match(text, /max_batch_size: 16/);
    assert.match(text, /max_queue_delay_microseconds: 2000/);
    assert.match(text, /preferred_batch_size: 8\s+preferred_batch_size: 16/);
    assert.match(text, /priority_levels: 2/, 'the batcher keeps its other fields');
    assert.match(text, /count: 3/);
    assert.match(text, /intra_op_thread_count/);
    assert.match(text, /inferbench.batch_buckets[\s\S]*string_value: "1,8,16"/);
    // The load API's JSON: proto field names, numbers for 64-bit integers (as Triton writes them).
    const json = JSON.parse(configJsonText(c));
    assert.equal(json.max_batch_size, 16);
    assert.equal(json.dynamic_batching.max_queue_delay_microseconds, 2000);
    assert.deepEqual(json.dynamic_batching.preferred_batch_size, [8, 16]);
    // The base is untouched.
    assert.equal(BASE.maxBatchSize, 8);
  });
  it('dynamic batching off removes the batcher', () => {
    const c = applyCandidate(BASE, { ...baseSettingsOf(BASE), dynamicBatching: false, maxQueueDelayUs: 0 });
    assert.equal(c.schedulingChoice.case, undefined);
    assert.doesNotMatch(configPbtxt(c), /dynamic_batching/);
  });
  it('refuses ensembles, and dynamic batching on a sequence model', () => {
    const ensemble = fromText(ModelConfigSchema, 'name: "e" platform: "ensemble" ensemble_scheduling { }');
    assert.match(schedulingConflict(ensemble, false) ?? '', /is an ensemble/);
    const sequence = fromText(ModelConfigSchema, 'name: "s" sequence_batching { }');
    assert.equal(schedulingConflict(sequence, false), undefined);
    assert.match(schedulingConflict(sequence, true) ?? '', /sequence batcher/);
  });
});

function trial(
  index: number,
  key: string,
  throughput: number,
  p95: number,
  outcome: ConfigTrial['outcome'] = 'measured',
): ConfigTrial {
  return {
    index,
    key,
    candidate: {
      maxBatchSize: index,
      dynamicBatching: true,
      maxQueueDelayUs: 0,
      preferredBatchSize: [],
      instanceCount: 1,
      instanceKind: 'KIND_CPU',
    },
    outcome,
    ...(outcome === 'load_failed' ? { error: 'refused, "really"' } : {}),
    levels:
      outcome === 'measured'
        ? [
            {
              mode: 'concurrency',
              value: 4,
              status: 'stable',
              figures: { throughput, p95_latency: p95, p99_latency: p95 * 2 },
            },
          ]
        : [],
    elapsedMs: 1,
  };
}

describe('reports', () => {
  const trials = [
    trial(1, 'A', 100, 5000),
    trial(2, 'B', 300, 30_000),
    trial(3, 'C', 200, 8000),
    trial(4, 'D', 0, 0, 'load_failed'),
  ];
  const objectives = [(parseObjective('throughput') as { value: never }).value];
  const constraints = [(parseConstraint('p95_latency<=10ms') as { value: never }).value];
  const ranked = rankTrials(trials, objectives, constraints);
  const record: AnalyzeRecord = {
    kind: 'inferbench-analyze',
    version: 1,
    tool: { name: 'inferbench', version: 'test' },
    startedAtWallMs: 0,
    finishedAtWallMs: 0,
    model: 'm',
    server: 'embedded',
    mode: 'brute',
    objectives: ['throughput'],
    constraints: ['p95_latency<=10ms'],
    loads: [{ mode: 'concurrency', value: 4 }],
    baseConfig: '',
    spaceConfigs: 4,
    measurements: 3,
    reused: 0,
    complete: true,
    trials,
    ranking: rankingEntries(ranked),
    best: { key: 'C', config: 'max_batch_size: 3' },
  };
  it('ranks feasible configs by the objective, then the closest miss, then refused configs', () => {
    assert.deepEqual(
      record.ranking.map((e) => e.key),
      ['C', 'A', 'B', 'D'],
    );
  });
  it('the text table and the CSV say it', () => {
    const table = renderAnalyzeTable(record);
    assert.match(table, /^1 +C +concurrency 4 +200\.0 infer\/s +8\.00 ms +16\.00 ms +meets constraints$/m);
    assert.match(table, /^3 +B .*p95_latency 30\.00 ms breaks <= 10\.00 ms$/m);
    assert.match(table, /^4 +D +- .*server refused the config: refused, "really"$/m);
    assert.match(table, /Best config: C/);
    const csv = renderAnalyzeCsv(record).split('\n');
    assert.equal(csv.length, 6);
    assert.match(csv[1] as string, /^1,C,3,on,0,,1,KIND_CPU,,measured,yes,concurrency,4,200,8000,16000,1,$/);
    assert.match(csv[4] as string, /,"server refused the config: refused, ""really"""$/);
  });
  it('the HTML report draws every level, the frontier and the best config, escaped', () => {
    const html = renderAnalyzeHtml({ ...record, model: '<m>' });
    assert.equal((html.match(/<circle /g) ?? []).length, 3 + 1, 'three levels and the ring around the best');
    assert.match(html, /<polyline points=/);
    assert.match(html, /&lt;m&gt;/);
    assert.doesNotMatch(html, /<m>/);
    assert.match(html, /p95 limit/);
  });
});

describe('the analyze: section of a config file', () => {
  it('is read, and flags override it', () => {
    const config = parseBenchConfig(
      `model: simple
analyze:
  mode: brute
  constraints: ['p95_latency<=20ms']
  searchSpace: { maxBatchSize: [1, 8], preferredBatchSize: [[], [4, 8], max] }
  concurrency: [1, 2]
`,
      'a.yaml',
    );
    const settings = resolveAnalyzeSettings({ mode: 'quick' }, config.analyze);
    assert.equal(settings.mode, 'quick');
    assert.deepEqual(settings.spec.maxBatchSize, [1, 8]);
    assert.deepEqual(settings.spec.preferredBatchSize, [{ sizes: [] }, { sizes: [4, 8] }, 'max']);
    assert.deepEqual(
      settings.loads?.map((l) => l.value),
      [1, 2],
    );
    assert.equal(settings.constraints[0]?.limit, 20_000);
  });
  it('hostile values are refused with the line', () => {
    assert.throws(
      () => parseBenchConfig('analyze:\n  constraints: ["p95<=fast"]\n', 'a.yaml'),
      /a\.yaml:2:.*invalid constraint/,
    );
    assert.throws(
      () => parseBenchConfig('analyze:\n  searchSpace: { instanceCount: [0] }\n', 'a.yaml'),
      /a\.yaml:2:.*instanceCount/,
    );
    assert.throws(
      () => parseBenchConfig('analyze:\n  searchSpace: { maxBatchSize: [] }\n', 'a.yaml'),
      /at least one value/,
    );
    assert.throws(() => parseBenchConfig('analyze:\n  bogus: 1\n', 'a.yaml'), /bogus/);
  });
});
