/**
 * The sequence batcher at concurrency 16 (issue 15): `accumulate` under the `direct` and the `oldest` strategy
 * (16 open sequences of 20 ± 20 % requests, one CPU instance with 16 slots), and as a baseline the same client
 * on a stateless INT32 identity model with dynamic batching (max_batch_size 16), measured side by side in one
 * run: alternating rounds, medians per variant. The server (in this process) and the load client (a child
 * process, sequence-load-client.ts) do not share an event loop. Any failed request aborts the bench (the running
 * sums themselves are checked by the e2e tests). Also the bundled decoupled model `repeat` over the gRPC stream at
 * the same concurrency (4 responses per request, no delay): requests/s and responses/s (gRPC runs only).
 *
 *   npm run bench:sequence [-- --seconds 5 --rounds 3 --protocol grpc|http]
 *
 * Writes bench-results/sequence-accumulate.{json,md} (the run it replaces goes to bench-results/history/).
 */

import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startServer } from '../../embedded-server/src/index.ts';
import { accumulateModel } from '../../embedded-server/src/onnx/stateful-models.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { packageInfo } from '../../src/protocol/package-info.ts';
import { tempRepository } from '../helpers/real-server.ts';
import { currentResultBase, writeBenchResults } from './bench-results.ts';
import type {
  SequenceClientConfig,
  SequenceClientResult,
  SequenceVariant,
  VariantRun,
} from './sequence-load-client.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    protocol: { type: 'string', default: 'grpc' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
if (!(SECONDS > 0 && SECONDS <= 600) || !(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 20)) {
  console.error('bench:sequence: --seconds must be in (0, 600] and --rounds an integer in [1, 20]');
  process.exit(3);
}
const PROTOCOL = values.protocol === 'http' ? 'http' : 'grpc';
const CONCURRENCY = 16;
const SEQUENCE_LENGTH = 20;
const CLIENT = fileURLToPath(new URL('./sequence-load-client.ts', import.meta.url));

const COMMON = `max_batch_size: 16
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }`;

function sequenceConfig(name: string, strategy: string): string {
  return `name: "${name}"
platform: "onnxruntime_onnx"
${COMMON}
input [ { name: "INPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "OUTPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
sequence_batching {
  max_sequence_idle_microseconds: 5000000
  ${strategy}
  control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] } ]
  state [ { input_name: "STATE_IN" output_name: "STATE_OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
}
`;
}

const VARIANTS: SequenceVariant[] = [
  { name: 'stateless baseline', kind: 'plain', model: 'identity_int32', input: 'INPUT0' },
  { name: 'direct', kind: 'sequence', model: 'accumulate_direct', input: 'INPUT' },
  { name: 'oldest', kind: 'sequence', model: 'accumulate_oldest', input: 'INPUT' },
  { name: 'repeat (decoupled)', kind: 'decoupled', model: 'repeat', input: 'IN' },
];
const RESPONSES_PER_REQUEST = 4;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

function runClient(config: SequenceClientConfig): Promise<SequenceClientResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CLIENT, [JSON.stringify(config)], { execArgv: ['--import', 'tsx'] });
    let result: SequenceClientResult | undefined;
    child.on('message', (m) => {
      result = m as SequenceClientResult;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      result ? resolve(result) : reject(new Error(`load client exited with ${code} and no result`)),
    );
  });
}

const loadBefore = loadavg();
const repo = await tempRepository({
  identity_int32: {
    config: `name: "identity_int32"
platform: "onnxruntime_onnx"
${COMMON}
input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 1 ] } ]
dynamic_batching { }
`,
    onnx: identityModel('INT32'),
  },
  accumulate_direct: { config: sequenceConfig('accumulate_direct', 'direct { }'), onnx: accumulateModel() },
  accumulate_oldest: {
    config: sequenceConfig('accumulate_oldest', 'oldest { max_candidate_sequences: 16 }'),
    onnx: accumulateModel(),
  },
});
await repo.addModel('repeat', {
  config: await readFile(
    join(packageInfo().root, 'embedded-server', 'models', 'repeat', 'config.pbtxt'),
    'utf8',
  ),
  onnx: new Uint8Array(0),
});
const server = await startServer({ modelRepository: repo.dir });
let result: SequenceClientResult;
try {
  result = await runClient({
    url: PROTOCOL === 'http' ? server.httpUrl : server.grpcUrl,
    protocol: PROTOCOL,
    concurrency: CONCURRENCY,
    sequenceLength: SEQUENCE_LENGTH,
    seconds: SECONDS,
    rounds: ROUNDS,
    warmupMs: 1000,
    maxWarmupMs: 30_000,
    variants: VARIANTS,
    responsesPerRequest: RESPONSES_PER_REQUEST,
  });
} finally {
  await server.stop({ timeoutMs: 10_000 });
  await repo.remove();
}
if (result.fatal) {
  console.error(`bench:sequence failed: ${result.fatal}`);
  process.exit(1);
}
const loadAfter = loadavg();
const summary = Object.fromEntries(
  VARIANTS.filter((v) => result.runs[v.name]).map((v) => {
    const rs = result.runs[v.name] as VariantRun[];
    return [
      v.name,
      {
        medianInferPerSec: median(rs.map((r) => r.inferPerSec)),
        medianResponsesPerSec: median(rs.map((r) => r.responsesPerSec)),
        medianSequencesPerSec: median(rs.map((r) => r.sequencesPerSec)),
        medianP50Us: median(rs.map((r) => r.p50Us)),
        medianP99Us: median(rs.map((r) => r.p99Us)),
        runs: rs,
      },
    ];
  }),
);
const baseline = summary['stateless baseline']?.medianInferPerSec ?? Number.NaN;
const conditions = {
  command: `npm run bench:sequence -- --seconds ${SECONDS} --rounds ${ROUNDS} --protocol ${PROTOCOL}`,
  protocol: PROTOCOL,
  concurrency: CONCURRENCY,
  sequenceLength: `${SEQUENCE_LENGTH} ± 20 %`,
  secondsPerRun: SECONDS,
  rounds: ROUNDS,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim(),
  node: process.version,
  loadAverageBefore: loadBefore,
  loadAverageAfter: loadAfter,
  date: new Date().toISOString(),
};
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const md = [
  '# Sequence batcher (accumulate) and a decoupled model (repeat) at concurrency 16 (npm run bench:sequence)',
  '',
  `Command: \`${conditions.command}\` · ${conditions.date} · Node ${process.version} · ${conditions.cpus} CPUs (${conditions.cpuModel}) · load average (1/5/15 min) ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after.`,
  '',
  `${PROTOCOL}, ${CONCURRENCY} open sequences of ${SEQUENCE_LENGTH} ± 20 % requests (the load generator's own sequence loop), one CPU instance with 16 slots; the server in the bench process, the load client in a child process. ${ROUNDS} alternating rounds of ${SECONDS} s after a warm-up that lasts until every slot has ended a sequence; medians per variant. The stateless baseline is the same client at the same concurrency on an INT32 identity model with dynamic batching, so the sequence figures can be read against what this machine gives at that moment.`,
  '',
  `The decoupled variant: the bundled \`repeat\` model (built-in backend, one instance) over the gRPC stream, ${CONCURRENCY} closed-loop workers, IN of ${RESPONSES_PER_REQUEST} elements with no delay and WAIT 0: ${RESPONSES_PER_REQUEST} responses per request, counted by the client; its latency is to the last response.`,
  '',
  '| variant | median infer/s | vs baseline | median responses/s | median sequences/s | p50 ms | p99 ms |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...Object.entries(summary).map(
    ([name, s]) =>
      `| ${name} | ${f1(s.medianInferPerSec)} | ${(s.medianInferPerSec / baseline).toFixed(2)}× | ${f1(s.medianResponsesPerSec)} | ${['direct', 'oldest'].includes(name) ? s.medianSequencesPerSec.toFixed(2) : '–'} | ${f1(s.medianP50Us / 1000)} | ${f1(s.medianP99Us / 1000)} |`,
  ),
  '',
].join('\n');
writeBenchResults(currentResultBase('sequence-accumulate'), { json: { conditions, summary }, markdown: md });
console.log(md);
