import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelInferResponseSchema } from '../../../src/protocol/gen/grpc_service_pb.ts';
import { encodeHttpInferResponse } from '../../../src/protocol/http-infer-codec.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { profileExportChunks, renderProfileExport } from '../../../src/report/profile-export.ts';
import type { RequestTrace } from '../../../src/report/request-trace.ts';
import type { KeptResponse } from '../../../src/transport/kept-response.ts';
import { concurrencySweep, requestRateRun } from './fixtures.ts';

const int32 = (name: string, values: number[]): Tensor => ({
  name,
  datatype: 'INT32',
  shape: [1, values.length],
  data: new Uint8Array(Int32Array.from(values).buffer),
});

/** An HTTP response body as the server writes it: binary outputs (with the header length) or JSON. */
function httpResponse(outputs: Tensor[], binary: boolean): KeptResponse {
  const encoded = encodeHttpInferResponse(
    { id: '', modelName: 'm', modelVersion: '1', outputs },
    () => binary,
  );
  const bytes = new Uint8Array(Buffer.concat(encoded.chunks));
  return encoded.headerLength === undefined
    ? { encoding: 'http', bytes }
    : { encoding: 'http', bytes, headerLength: encoded.headerLength };
}

function grpcResponse(outputs: Tensor[]): KeptResponse {
  const message = create(ModelInferResponseSchema, {
    modelName: 'm',
    modelVersion: '1',
    outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    rawOutputContents: outputs.map((t) => t.data),
  });
  return { encoding: 'grpc', bytes: toBinary(ModelInferResponseSchema, message) };
}

describe('profile export (--profile-export-file)', () => {
  it("has perf_analyzer's shape: experiments with mode/value, empty requests, window boundaries", () => {
    const doc = JSON.parse(renderProfileExport(concurrencySweep())) as {
      experiments: {
        experiment: { mode: string; value: number };
        requests: unknown[];
        window_boundaries: number[];
      }[];
      version: string;
      service_kind: string;
      endpoint: string;
    };
    assert.equal(doc.service_kind, 'triton');
    assert.equal(doc.endpoint, '');
    assert.equal(doc.version, 'inferbench 0.1.0');
    assert.deepEqual(
      doc.experiments.map((e) => e.experiment),
      [1, 2, 3].map((value) => ({ mode: 'concurrency', value })),
    );
    assert.deepEqual(doc.experiments[0]!.requests, []);
    assert.equal(
      doc.experiments[0]!.window_boundaries.length,
      4,
      '3 consecutive windows share edges: 4 boundaries',
    );
  });

  it('writes exact nanosecond timestamps beyond 2^53 as JSON integers', () => {
    const text = renderProfileExport(concurrencySweep());
    // Level 1 starts at 1_700_000_000_000 ms; windows of 5 s each.
    assert.match(
      text,
      /"window_boundaries":\[1700000000000000000,1700000005000000000,1700000010000000000,1700000015000000000\]/,
    );
  });

  it('exports request-rate levels as mode request_rate with per-window aggregates', () => {
    const doc = JSON.parse(renderProfileExport(requestRateRun())) as {
      experiments: { experiment: { mode: string; value: number }; windows: { request_count: number }[] }[];
    };
    assert.deepEqual(doc.experiments[1]!.experiment, { mode: 'request_rate', value: 200 });
    assert.equal(doc.experiments[1]!.windows[0]!.request_count, 983);
  });

  it('writes each request of a trace as exact epoch ns, sorted by send time, through the first window start', () => {
    const run = concurrencySweep();
    // Level 1 starts at 1_700_000_000_000 ms = Clock 5_000_000 ns here; windows of 5 s.
    const startNs = 5_000_000;
    const trace: RequestTrace = {
      levels: [
        {
          startNs,
          windows: [
            // Completion order: the second request was sent before the first (sorted on output).
            {
              sendNs: Float64Array.of(startNs + 2_000, startNs - 1_500),
              responseNs: Float64Array.of(startNs + 9_000, startNs + 3_000),
              omitted: 0,
            },
            {
              sendNs: Float64Array.of(startNs + 5_000_000_123),
              responseNs: Float64Array.of(startNs + 5_000_400_123),
              omitted: 0,
            },
            { sendNs: new Float64Array(0), responseNs: new Float64Array(0), omitted: 7 },
          ],
        },
      ],
    };
    const text = renderProfileExport(run, trace);
    assert.ok(
      text.includes(
        '"requests":[' +
          '{"timestamp":1699999999999998500,"response_timestamps":[1700000000000003000]},' +
          '{"timestamp":1700000000000002000,"response_timestamps":[1700000000000009000]},' +
          '{"timestamp":1700000005000000123,"response_timestamps":[1700000005000400123]}' +
          '],"requests_omitted":7,',
      ),
      text.slice(0, 400),
    );
    // Levels without a trace entry keep an empty list.
    const doc = JSON.parse(text) as { experiments: { requests: unknown[] }[] };
    assert.equal(doc.experiments[0]!.requests.length, 3);
    assert.deepEqual(doc.experiments[1]!.requests, []);
  });

  it('writes request_inputs and response_outputs in perf_analyzer key order, and counts what was left out', () => {
    const run = concurrencySweep();
    const startNs = 5_000_000;
    const inputs = [
      [int32('INPUT0', [1, 2]), int32('INPUT1', [3])],
      [int32('INPUT0', [4, 5]), int32('INPUT1', [6])],
    ];
    const trace: RequestTrace = {
      requestInputs: inputs,
      levels: [
        {
          startNs,
          windows: [
            {
              sendNs: Float64Array.of(startNs + 1_000, startNs + 2_000, startNs + 3_000, startNs + 4_000),
              responseNs: Float64Array.of(
                startNs + 11_000,
                startNs + 12_000,
                startNs + 13_000,
                startNs + 14_000,
              ),
              omitted: 0,
              requestIndex: Int32Array.of(0, 1, 0, -1),
              responses: [
                httpResponse([int32('OUTPUT0', [3, 7])], true),
                grpcResponse([int32('OUTPUT0', [9]), int32('OUTPUT1', [-1, -2])]),
                { encoding: 'http', bytes: new TextEncoder().encode('not json') },
              ],
              responsesOmitted: 1,
            },
            {
              sendNs: Float64Array.of(startNs + 5_000_000_000),
              responseNs: Float64Array.of(startNs + 5_000_000_500),
              omitted: 0,
              requestIndex: Int32Array.of(1),
              responses: [httpResponse([int32('OUTPUT0', [5])], false)],
            },
          ],
        },
      ],
    };
    const text = renderProfileExport(run, trace);
    assert.ok(
      text.includes(
        '"requests":[' +
          '{"timestamp":1700000000000001000,"request_inputs":{"INPUT0":[1,2],"INPUT1":3},' +
          '"response_timestamps":[1700000000000011000],"response_outputs":[{"OUTPUT0":[3,7]}]},' +
          '{"timestamp":1700000000000002000,"request_inputs":{"INPUT0":[4,5],"INPUT1":6},' +
          '"response_timestamps":[1700000000000012000],"response_outputs":[{"OUTPUT0":9,"OUTPUT1":[-1,-2]}]},' +
          // Undecodable: listed without outputs.
          '{"timestamp":1700000000000003000,"request_inputs":{"INPUT0":[1,2],"INPUT1":3},' +
          '"response_timestamps":[1700000000000013000]},' +
          // Unknown request index, outputs omitted for the budget.
          '{"timestamp":1700000000000004000,"response_timestamps":[1700000000000014000]},' +
          '{"timestamp":1700000005000000000,"request_inputs":{"INPUT0":[4,5],"INPUT1":6},' +
          '"response_timestamps":[1700000005000000500],"response_outputs":[{"OUTPUT0":5}]}' +
          '],"response_outputs_omitted":1,"response_outputs_undecodable":1,"window_boundaries":',
      ),
      text.slice(0, 1200),
    );
    assert.ok(JSON.parse(text), 'valid JSON');
  });

  it('yields the document in chunks of about a MB whose concatenation is the rendered text', () => {
    const run = concurrencySweep();
    const startNs = 5_000_000;
    const count = 20_000;
    const sendNs = new Float64Array(count).map((_v, i) => startNs + i * 1_000);
    const trace: RequestTrace = {
      // ≈ 100 characters of inputs per request: ≈ 2.5 MB of requests.
      requestInputs: [
        [
          int32(
            'INPUT0',
            Array.from({ length: 25 }, (_v, i) => 1000 + i),
          ),
        ],
      ],
      levels: [
        {
          startNs,
          windows: [
            {
              sendNs,
              responseNs: sendNs.map((t) => t + 500),
              omitted: 0,
              requestIndex: new Int32Array(count),
            },
          ],
        },
      ],
    };
    const chunks = [...profileExportChunks(run, trace)];
    const text = chunks.join('');
    assert.equal(text, renderProfileExport(run, trace));
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    assert.ok(Math.max(...chunks.map((c) => c.length)) < 1.1 * 2 ** 20, 'no chunk much over a MB');
    const doc = JSON.parse(text) as {
      experiments: { requests: { request_inputs: { INPUT0: number[] } }[] }[];
    };
    assert.equal(doc.experiments[0]!.requests.length, count);
    assert.equal(doc.experiments[0]!.requests[count - 1]!.request_inputs.INPUT0[24], 1024);
    assert.ok(text.endsWith('"endpoint":""}\n'));
  });
});
