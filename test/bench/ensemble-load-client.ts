/**
 * The load side of `ensemble.bench.ts`, run as a child process (the server's event loop shares no thread with
 * it). Started with `fork()` and one JSON argument ({@link EnsembleClientConfig}); answers IPC messages
 * `{ cmd: 'run', ms }` with an {@link EnsembleRunResult} and `{ cmd: 'close' }` by exiting.
 *
 * Two modes, both over HTTP with the binary tensor extension and the same undici pool:
 * - `ensemble`: one request to `text_recognition_pipeline` asking only for `char_indices` (so the server prunes
 *   the text_direction branch and runs exactly ocr_preprocess → text_recognition → ocr_ctc_argmax);
 * - `chained`: the client calls those three models itself, sending each step's binary output to the next.
 */
import { Pool } from 'undici';

export interface EnsembleClientConfig {
  url: string;
  mode: 'ensemble' | 'chained';
  concurrency: number;
}

export type EnsembleClientCommand = { cmd: 'run'; ms: number } | { cmd: 'close' };

export interface EnsembleRunResult {
  ok: number;
  errors: number;
  firstError?: string;
  seconds: number;
  /** Client-side latency of each end-to-end request, µs, sorted. */
  latenciesUs: number[];
}

const H = 48;
const W = 192;

function image(): Uint8Array {
  const out = new Uint8Array(H * W * 3);
  for (let i = 0; i < out.length; i++) out[i] = (i * 31) % 251;
  return out;
}

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: Uint8Array;
}

/** One binary-extension request: JSON header then the raw input bytes; returns the binary outputs. */
async function infer(pool: Pool, model: string, inputs: Tensor[], outputs: string[]): Promise<Tensor[]> {
  const header = Buffer.from(
    JSON.stringify({
      inputs: inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: t.data.byteLength },
      })),
      outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
    }),
  );
  const res = await pool.request({
    path: `/v2/models/${model}/infer`,
    method: 'POST',
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.byteLength),
    },
    body: Buffer.concat([header, ...inputs.map((t) => t.data)]),
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) throw new Error(`${model}: HTTP ${res.statusCode} ${body.toString()}`);
  const jsonLength = Number(res.headers['inference-header-content-length'] ?? body.byteLength);
  const meta = JSON.parse(body.subarray(0, jsonLength).toString()) as {
    outputs: {
      name: string;
      datatype: string;
      shape: number[];
      parameters?: { binary_data_size?: number };
    }[];
  };
  let offset = jsonLength;
  return meta.outputs.map((o) => {
    const size = o.parameters?.binary_data_size ?? 0;
    const data = body.subarray(offset, offset + size);
    offset += size;
    return { name: o.name, datatype: o.datatype, shape: o.shape, data };
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as EnsembleClientConfig;
  const pool = new Pool(config.url, { connections: config.concurrency, pipelining: 1 });
  const crop: Tensor = { name: 'image', datatype: 'UINT8', shape: [1, H, W, 3], data: image() };

  const once = async (): Promise<void> => {
    if (config.mode === 'ensemble') {
      await infer(pool, 'text_recognition_pipeline', [crop], ['char_indices']);
      return;
    }
    const [x] = await infer(pool, 'ocr_preprocess', [crop], ['x']);
    const [probs] = await infer(
      pool,
      'text_recognition',
      [{ ...(x as Tensor), name: 'x' }],
      ['softmax_11.tmp_0'],
    );
    await infer(pool, 'ocr_ctc_argmax', [{ ...(probs as Tensor), name: 'probs' }], ['indices']);
  };

  const runFor = async (ms: number): Promise<EnsembleRunResult> => {
    let ok = 0;
    let errors = 0;
    let firstError: string | undefined;
    const latenciesUs: number[] = [];
    const t0 = performance.now();
    const deadline = t0 + ms;
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (performance.now() < deadline) {
          const start = performance.now();
          try {
            await once();
            ok++;
            latenciesUs.push((performance.now() - start) * 1000);
          } catch (e) {
            errors++;
            firstError ??= String(e);
          }
        }
      }),
    );
    latenciesUs.sort((a, b) => a - b);
    return {
      ok,
      errors,
      ...(firstError ? { firstError } : {}),
      seconds: (performance.now() - t0) / 1000,
      latenciesUs,
    };
  };

  const send = (m: unknown): Promise<void> =>
    new Promise((resolve, reject) => process.send?.(m, undefined, {}, (e) => (e ? reject(e) : resolve())));
  process.on('message', (m: EnsembleClientCommand) => {
    if (m.cmd === 'run') {
      runFor(m.ms).then(send, (e: unknown) => send({ fatal: String(e) }));
    } else {
      void pool.close().then(() => process.disconnect?.());
    }
  });
  await send({ ready: true });
}

void main();
