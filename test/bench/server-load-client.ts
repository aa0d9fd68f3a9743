/**
 * The load side of `server.bench.ts`, run as a child process so that the server's event loop shares no
 * thread with the client. Started with `fork()` and one JSON argument ({@link LoadClientConfig}); then
 * answers IPC messages: `{ cmd: 'run', ms }` → a closed loop of `concurrency` async loops for `ms`
 * milliseconds, replied with a {@link LoadRunResult}; `{ cmd: 'close' }` → closes the connections and exits.
 */
import { systemClock } from '../../src/protocol/clock.ts';
import { createTransport } from '../../src/transport/create.ts';

export interface LoadClientConfig {
  protocol: 'http' | 'grpc';
  url: string;
  binary: boolean;
  concurrency: number;
  model: string;
}

export type LoadClientCommand = { cmd: 'run'; ms: number } | { cmd: 'close' };

export interface LoadRunResult {
  ok: number;
  errors: number;
  firstError?: string;
  seconds: number;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as LoadClientConfig;
  const { client, api } = createTransport(config.protocol, {
    url: config.url,
    clock: systemClock,
    connections: config.concurrency,
    headers: {},
  });
  const prepared = client.prepare({
    modelName: config.model,
    modelVersion: '',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: new Uint8Array(64) }],
    outputs: [],
    binaryInputs: config.binary,
    binaryOutputs: config.binary,
    parameters: {},
  });

  const runFor = async (ms: number): Promise<LoadRunResult> => {
    let ok = 0;
    let errors = 0;
    let firstError: string | undefined;
    const t0 = performance.now();
    const deadline = t0 + ms;
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (performance.now() < deadline) {
          const o = await client.infer(prepared, 0);
          if (o.ok) ok++;
          else {
            errors++;
            firstError ??= `${o.errorKind ?? 'error'}: ${o.errorMessage ?? ''}`;
          }
        }
      }),
    );
    return { ok, errors, ...(firstError ? { firstError } : {}), seconds: (performance.now() - t0) / 1000 };
  };

  const send = (m: unknown): Promise<void> =>
    new Promise((resolve, reject) => process.send?.(m, undefined, {}, (e) => (e ? reject(e) : resolve())));

  process.on('message', (m: LoadClientCommand) => {
    if (m.cmd === 'run') {
      runFor(m.ms).then(send, (e: unknown) => send({ fatal: String(e) }));
    } else {
      void (async () => {
        await client.close();
        await api.close();
        process.disconnect?.();
      })();
    }
  });
  await send({ ready: true });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
  process.disconnect?.();
});
