/**
 * `InferClient.keepResponses` on the HTTP client: off by default (outcomes carry no response), on: a successful
 * response's body is in the outcome, in a buffer of its own, whatever its framing (Content-Length with the
 * binary extension's header length, chunked, Connection: close); failed requests keep nothing.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../../src/protocol/clock.ts';
import type { InferClient, RequestSpec } from '../../../src/transport/client.ts';
import { createHttpClient } from '../../../src/transport/http-client.ts';

const HEADER =
  '{"model_name":"m","outputs":[{"name":"O","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":3}}]}';
const BODY = Buffer.concat([Buffer.from(HEADER), Buffer.from([7, 8, 9])]);

const spec = (model: string): RequestSpec => ({
  modelName: model,
  modelVersion: '',
  inputs: [{ name: 'I', datatype: 'UINT8', shape: [1], data: Uint8Array.of(1) }],
  outputs: [],
  binaryOutputs: true,
  binaryInputs: true,
  parameters: {},
});

describe('HTTP client: keepResponses', () => {
  let server: Server;
  let client: InferClient;

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const model = req.url?.split('/')[3];
        if (model === 'length') {
          res
            .writeHead(200, {
              'content-type': 'application/octet-stream',
              'Inference-Header-Content-Length': String(HEADER.length),
              'content-length': String(BODY.length),
            })
            .end(BODY);
        } else if (model === 'chunked') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.write(BODY.subarray(0, 10));
          setImmediate(() => res.end(BODY.subarray(10)));
        } else if (model === 'close') {
          res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
          res.end(HEADER);
        } else {
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = createHttpClient({ url: `127.0.0.1:${port}`, clock: systemClock, connections: 2, headers: {} });
  });

  after(async () => {
    await client?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('keeps nothing by default', async () => {
    const outcome = await client.infer(client.prepare(spec('length')), 0);
    assert.equal(outcome.ok, true);
    assert.equal(outcome.response, undefined);
    assert.equal(outcome.responseBytes, BODY.length);
  });

  it('keeps the body of each framing in a buffer of its own, with the JSON header length', async () => {
    client.keepResponses?.(true);
    try {
      for (const model of ['length', 'chunked']) {
        const outcome = await client.infer(client.prepare(spec(model)), 0);
        assert.equal(outcome.ok, true, model);
        const kept = outcome.response!;
        assert.equal(kept.encoding, 'http');
        assert.deepEqual(Buffer.from(kept.bytes), BODY, model);
        assert.equal(kept.bytes.byteOffset, 0);
        assert.equal(kept.bytes.buffer.byteLength, BODY.length, `${model}: the buffer is its own`);
        assert.equal(kept.headerLength, model === 'length' ? HEADER.length : undefined);
      }
      const closed = await client.infer(client.prepare(spec('close')), 0);
      assert.equal(Buffer.from(closed.response!.bytes).toString(), HEADER);
      assert.equal(closed.response!.headerLength, undefined);
      const failed = await client.infer(client.prepare(spec('busy')), 0);
      assert.equal(failed.ok, false);
      assert.equal(failed.response, undefined, 'a failed request keeps nothing');
    } finally {
      client.keepResponses?.(false);
    }
    const off = await client.infer(client.prepare(spec('chunked')), 0);
    assert.equal(off.response, undefined, 'off again');
  });
});
