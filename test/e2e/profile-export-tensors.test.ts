/**
 * --profile-export-file's tensors end to end, against the reference server (in-process, identity models):
 * every request's `request_inputs` is the --input-data step that was sent, and its `response_outputs` is what
 * the identity model returned (the same values), over HTTP (binary and JSON outputs), gRPC, gRPC streaming and
 * worker-thread shards; BYTES (several elements) and FP16 are rendered as strings and numbers. A small
 * --profile-export-max-output-bytes keeps the outputs of the first requests only and counts the rest.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../embedded-server/src/index.ts';
import { identityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { main } from '../../src/cli/main.ts';
import { memoryFiles } from '../client/cli/harness.ts';
import { type TempRepository, tempRepository } from '../helpers/real-server.ts';
import { parseExport } from '../helpers/run-profile.ts';

const identityConfig = (name: string, type: string): string => `
name: "${name}"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: ${type} dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: ${type} dims: [ -1 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
`;

type Value = unknown;

interface ExportedRequest {
  timestamp: bigint;
  request_inputs?: Record<string, Value>;
  response_timestamps: bigint[];
  response_outputs?: Record<string, Value>[];
}

interface Exported {
  experiments: {
    requests: ExportedRequest[];
    response_outputs_omitted?: number;
    response_outputs_undecodable?: number;
  }[];
}

/** FP32 steps: what the export must show (0.1 as the float it becomes). */
const FP32_STEPS = [
  { sent: [1.5, -2, 0.1, 3], shown: [1.5, -2, Math.fround(0.1), 3] },
  { sent: [4, 5, 6, 7], shown: [4, 5, 6, 7] },
  { sent: [8], shown: 8 },
];

/** BYTES steps: one element is a string, several an array of strings. */
const BYTES_STEPS = [
  { sent: ['héllo', 'wörld', ''], shown: ['héllo', 'wörld', ''] },
  { sent: ['x'], shown: 'x' },
];

/** FP16 bits and the numbers they stand for (1, −2, the float16 nearest 1/3, the smallest subnormal). */
const FP16_BITS = [0x3c00, 0xc000, 0x3555, 0x0001];
const FP16_SHOWN = [1, -2, 0.333251953125, 2 ** -24];

const COUNT = 30;

describe('--profile-export-file: request_inputs and response_outputs', () => {
  let repo: TempRepository;
  let server: RunningServer;
  let dir: string;
  const dataFile: Record<string, string> = {};

  before(async () => {
    repo = await tempRepository({
      identity_fp32: { config: identityConfig('identity_fp32', 'TYPE_FP32'), onnx: identityModel('FP32') },
      identity_bytes: {
        config: identityConfig('identity_bytes', 'TYPE_STRING'),
        onnx: identityModel('BYTES'),
      },
      identity_fp16: { config: identityConfig('identity_fp16', 'TYPE_FP16'), onnx: identityModel('FP16') },
    });
    server = await startServer({ modelRepository: repo.dir });
    dir = mkdtempSync(join(tmpdir(), 'inferbench-export-tensors-'));
    const files = {
      fp32: { data: FP32_STEPS.map((s) => ({ INPUT0: { content: s.sent, shape: [s.sent.length] } })) },
      bytes: { data: BYTES_STEPS.map((s) => ({ INPUT0: { content: s.sent, shape: [s.sent.length] } })) },
      fp16: {
        data: [
          {
            INPUT0: {
              content: { b64: Buffer.from(Uint16Array.from(FP16_BITS).buffer).toString('base64') },
              shape: [FP16_BITS.length],
            },
          },
        ],
      },
    };
    for (const [name, content] of Object.entries(files)) {
      dataFile[name] = join(dir, `${name}.json`);
      writeFileSync(dataFile[name], JSON.stringify(content));
    }
  });

  after(async () => {
    await server?.stop({ timeoutMs: 5000 });
    await repo?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the CLI in-process with --request-count COUNT and the export; the data file exists on disk. */
  async function exportOf(
    protocol: 'http' | 'grpc',
    model: string,
    data: string,
    flags: string[] = [],
  ): Promise<{ doc: Exported; stderr: string }> {
    const path = dataFile[data]!;
    const { files, stored } = memoryFiles({ [path]: '' });
    let stderr = '';
    const code = await main(
      [
        '-m',
        model,
        '-u',
        protocol === 'grpc' ? server.grpcUrl : server.httpUrl.replace('http://', ''),
        '-i',
        protocol,
        '--input-data',
        path,
        '--concurrency-range',
        '2',
        '--request-count',
        String(COUNT),
        '--profile-export-file',
        'export.json',
        '--no-progress',
        '--quiet',
        ...flags,
      ],
      { stdout: { write: () => undefined }, stderr: { write: (t: string) => (stderr += t), isTTY: false } },
      { files },
    );
    assert.equal(code, 0, stderr);
    const text = stored.get('export.json');
    assert.ok(text, 'the export was written');
    return { doc: parseExport(text) as unknown as Exported, stderr };
  }

  /** Every request: its inputs are one of the steps, its one response's outputs equal them (identity). */
  function checkIdentity(doc: Exported, shown: readonly Value[]): ExportedRequest[] {
    const requests = doc.experiments[0]!.requests;
    assert.equal(requests.length, COUNT, 'one record per request');
    const seen = new Map<string, number>();
    for (const r of requests) {
      assert.ok(r.request_inputs, 'request_inputs present');
      assert.deepEqual(Object.keys(r.request_inputs), ['INPUT0']);
      const input = r.request_inputs.INPUT0;
      const step = shown.findIndex((s) => JSON.stringify(s) === JSON.stringify(input));
      assert.ok(step >= 0, `inputs ${JSON.stringify(input)} are one of the data steps`);
      seen.set(String(step), (seen.get(String(step)) ?? 0) + 1);
      assert.ok(r.response_outputs, 'response_outputs present');
      assert.equal(r.response_outputs.length, 1, 'one object per response');
      assert.deepEqual(r.response_outputs[0], { OUTPUT0: input }, 'identity: output = input');
    }
    // Round robin over the steps: each step is sent COUNT / steps times.
    assert.deepEqual(
      [...seen.entries()].sort(),
      shown.map((_s, i) => [String(i), COUNT / shown.length]),
    );
    assert.equal(doc.experiments[0]!.response_outputs_omitted, undefined);
    return requests;
  }

  const FP32_SHOWN = FP32_STEPS.map((s) => s.shown);

  for (const mode of [
    { name: 'HTTP, binary outputs', protocol: 'http', flags: [] },
    { name: 'HTTP, JSON outputs', protocol: 'http', flags: ['--output-tensor-format', 'json'] },
    { name: 'gRPC', protocol: 'grpc', flags: [] },
    { name: 'gRPC streaming', protocol: 'grpc', flags: ['--streaming'] },
    { name: 'HTTP, 2 worker threads', protocol: 'http', flags: ['--worker-threads', '2'] },
    { name: 'gRPC, 2 worker threads', protocol: 'grpc', flags: ['--worker-threads', '2'] },
  ] as const) {
    it(`FP32 identity, ${mode.name}: inputs sent and outputs returned`, async () => {
      const { doc, stderr } = await exportOf(mode.protocol, 'identity_fp32', 'fp32', [...mode.flags]);
      checkIdentity(doc, FP32_SHOWN);
      assert.doesNotMatch(stderr, /response outputs/);
    });
  }

  for (const protocol of ['http', 'grpc'] as const) {
    it(`BYTES identity over ${protocol}: one element a string, several an array of strings`, async () => {
      const { doc } = await exportOf(protocol, 'identity_bytes', 'bytes');
      checkIdentity(
        doc,
        BYTES_STEPS.map((s) => s.shown),
      );
    });
  }

  it('FP16 identity over gRPC: decoded to numbers', async () => {
    const { doc } = await exportOf('grpc', 'identity_fp16', 'fp16');
    checkIdentity(doc, [FP16_SHOWN]);
  });

  it('a small output budget: the first requests have their outputs, the rest are listed and counted', async () => {
    // One HTTP binary response here is ≈ 130–160 bytes (JSON header + 4–16 bytes of data): 1000 bytes keep a few.
    const { doc, stderr } = await exportOf('http', 'identity_fp32', 'fp32', [
      '--profile-export-max-output-bytes',
      '1000',
    ]);
    const e = doc.experiments[0]!;
    assert.equal(e.requests.length, COUNT, 'every request is still listed');
    const withOutputs = e.requests.filter((r) => r.response_outputs !== undefined).length;
    assert.ok(withOutputs > 0 && withOutputs < COUNT, `${withOutputs} requests with outputs`);
    assert.equal(e.response_outputs_omitted, COUNT - withOutputs);
    for (const r of e.requests) {
      assert.ok(r.request_inputs, 'inputs are never omitted');
      assert.equal(r.response_timestamps.length, 1);
    }
    assert.match(
      stderr,
      new RegExp(
        `response outputs of ${withOutputs} requests; ${COUNT - withOutputs} more are listed without them`,
      ),
    );

    const none = await exportOf('grpc', 'identity_fp32', 'fp32', ['--profile-export-max-output-bytes', '0']);
    const n = none.doc.experiments[0]!;
    assert.equal(n.requests.filter((r) => r.response_outputs !== undefined).length, 0);
    assert.equal(n.response_outputs_omitted, COUNT);
  });
});
