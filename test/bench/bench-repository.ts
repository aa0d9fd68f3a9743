/**
 * The model repositories the batching benchmark compares: the embedded config.pbtxt of one model, edited
 * programmatically into `plain` (default scheduler), `batched` (dynamic batcher), `batched_2inst`
 * (dynamic batcher, 2 instances) and `batched_gather` / `batched_nogather` (the gather thread forced on / off), each in its own temporary directory with a hard link to (or a copy of)
 * the embedded model.onnx. Editing the shipped config (rather than writing a new one) keeps everything else — tensor
 * names, dims, optimisation settings — exactly what users get.
 */

import { copyFile, link, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { configToPbtxt, parseModelConfigText } from '../../embedded-server/src/repository/model-config.ts';
import { GATHER_THREAD_PARAMETER } from '../../embedded-server/src/runtime/gather-thread-parameter.ts';
import {
  type ModelConfig,
  ModelDynamicBatchingSchema,
  ModelInstanceGroup_Kind,
  ModelInstanceGroupSchema,
  ModelParameterSchema,
} from '../../src/protocol/gen/model_config_pb.ts';

export type BenchConfigName = 'plain' | 'batched' | 'batched_2inst' | 'batched_gather' | 'batched_nogather';
/** The configurations measured by default. */
export const BENCH_CONFIG_NAMES: readonly BenchConfigName[] = ['plain', 'batched', 'batched_2inst'];
/**
 * Every name `--configs` takes: also `batched` with the instance's gather thread forced on or off (model
 * parameter inferbench.gather_thread; `batched` leaves the server's default for the device), to compare
 * them side by side in one run.
 */
export const BENCH_CONFIG_CHOICES: readonly BenchConfigName[] = [
  ...BENCH_CONFIG_NAMES,
  'batched_gather',
  'batched_nogather',
];

export type BenchDevice = 'cpu' | 'gpu';

export interface BenchConfigSpec {
  name: BenchConfigName;
  dynamicBatching: boolean;
  instanceCount: number;
  /** Forces the gather thread on or off; undefined = the server's default for the instance kind. */
  gatherThread?: boolean;
}

/** What each named configuration changes in the shipped config. */
export function benchConfigSpec(name: BenchConfigName): BenchConfigSpec {
  switch (name) {
    case 'plain':
      return { name, dynamicBatching: false, instanceCount: 1 };
    case 'batched':
      return { name, dynamicBatching: true, instanceCount: 1 };
    case 'batched_2inst':
      return { name, dynamicBatching: true, instanceCount: 2 };
    case 'batched_gather':
      return { name, dynamicBatching: true, instanceCount: 1, gatherThread: true };
    case 'batched_nogather':
      return { name, dynamicBatching: true, instanceCount: 1, gatherThread: false };
  }
}

export interface EditOptions {
  device: BenchDevice;
  /** Config max_batch_size (the batcher's upper bound). */
  maxBatchSize: number;
  /** Dynamic batcher `max_queue_delay_microseconds`. */
  maxQueueDelayUs: number;
  /** CPU: ORT intra-op threads per instance (instances × threads should not exceed the cores). 0 = leave as shipped. */
  intraOpThreads: number;
  /** CPU: ORT `session.intra_op.allow_spinning`; undefined = leave as shipped (ORT spins by default). */
  intraOpSpinning?: boolean;
  /**
   * The size the load sends for the config's variable input dims (text_recognition's width). Fixing it in
   * the config lets GPU batch-bucket sessions warm at load, as a user serving one crop width would.
   */
  variableDimSize?: number;
}

/**
 * The shipped config edited for one benchmark configuration. Pure: the input is not modified. Any
 * `dynamic_batching` block of the shipped config is replaced, so `plain` really is the default scheduler.
 */
export function editBenchConfig(
  shipped: ModelConfig,
  spec: BenchConfigSpec,
  options: EditOptions,
): ModelConfig {
  const config = parseModelConfigText(configToPbtxt(shipped), 'shipped config');
  config.maxBatchSize = options.maxBatchSize;
  config.schedulingChoice = spec.dynamicBatching
    ? {
        case: 'dynamicBatching',
        value: create(ModelDynamicBatchingSchema, {
          maxQueueDelayMicroseconds: BigInt(options.maxQueueDelayUs),
        }),
      }
    : { case: undefined };
  const kind = options.device === 'gpu' ? ModelInstanceGroup_Kind.GPU : ModelInstanceGroup_Kind.CPU;
  config.instanceGroup = [
    create(ModelInstanceGroupSchema, {
      count: spec.instanceCount,
      kind,
      ...(options.device === 'gpu' ? { gpus: [0] } : {}),
    }),
  ];
  if (options.variableDimSize !== undefined) {
    const size = BigInt(options.variableDimSize);
    for (const input of config.input) input.dims = input.dims.map((d) => (d < 0n ? size : d));
  }
  if (options.device === 'cpu' && options.intraOpThreads > 0) {
    config.parameters.intra_op_thread_count = create(ModelParameterSchema, {
      stringValue: String(options.intraOpThreads),
    });
  }
  if (options.device === 'cpu' && options.intraOpSpinning !== undefined) {
    config.parameters['session.intra_op.allow_spinning'] = create(ModelParameterSchema, {
      stringValue: options.intraOpSpinning ? '1' : '0',
    });
  }
  if (spec.gatherThread !== undefined) {
    config.parameters[GATHER_THREAD_PARAMETER] = create(ModelParameterSchema, {
      stringValue: String(spec.gatherThread),
    });
  }
  return config;
}

export interface BenchRepository {
  dir: string;
  config: ModelConfig;
  configText: string;
  /** The real path of the embedded model file this repository's model.onnx was linked or copied from. */
  modelPath: string;
  remove(): Promise<void>;
}

/**
 * Writes `<tmp>/inferbench-bench-<config>-XXXX/<model>/{config.pbtxt,1/model.onnx}` from the materialised
 * embedded repository `embeddedDir`. `remove()` deletes the directory.
 */
export async function writeBenchRepository(
  embeddedDir: string,
  model: string,
  spec: BenchConfigSpec,
  options: EditOptions,
): Promise<BenchRepository> {
  const shippedText = await readFile(join(embeddedDir, model, 'config.pbtxt'), 'utf8');
  const config = editBenchConfig(parseModelConfigText(shippedText, model), spec, options);
  const configText = configToPbtxt(config);
  const modelPath = await realpath(join(embeddedDir, model, '1', 'model.onnx'));
  const dir = await mkdtemp(join(tmpdir(), `inferbench-bench-${spec.name}-`));
  try {
    await mkdir(join(dir, model, '1'), { recursive: true });
    await writeFile(join(dir, model, 'config.pbtxt'), configText);
    // A hard link (a copy across file systems), not a symlink: the server refuses model files that resolve
    // outside their model directory.
    const target = join(dir, model, '1', 'model.onnx');
    await link(modelPath, target).catch(() => copyFile(modelPath, target));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, config, configText, modelPath, remove: () => rm(dir, { recursive: true, force: true }) };
}
