/**
 * One reference server in its own process for `server-c1.bench.ts`, started from the sources under a given
 * root: this checkout, or a baseline copy of an earlier commit (`git archive`), so two versions of the
 * server can be measured side by side in one run. Started with `fork`; speaks over IPC:
 *   → { ready, httpUrl, grpcUrl }      once listening
 *   ← { cmd: 'stats' }                 → the model's statistics (InferenceCore.modelStatistics)
 *   ← { cmd: 'stop' }                  → stops the server and exits
 * argv[2]: JSON {@link ServerHostConfig}.
 */
import { pathToFileURL } from 'node:url';

export interface ServerHostConfig {
  /** Directory holding `embedded-server/src/index.ts` (this checkout or a baseline copy). */
  root: string;
  modelRepository: string;
  model: string;
  /** The server's --http-thread-count (0 = its event loop only). */
  httpThreadCount: number;
}

export type ServerHostCommand = { cmd: 'stats' } | { cmd: 'stop' };

interface Server {
  httpUrl: string;
  grpcUrl: string;
  core: { modelStatistics(name: string, version: string): unknown[] };
  stop(o: { timeoutMs: number }): Promise<void>;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as ServerHostConfig;
  const entry = pathToFileURL(`${config.root}/embedded-server/src/index.ts`).href;
  const { startServer } = (await import(entry)) as {
    startServer(o: Record<string, unknown>): Promise<Server>;
  };
  const server = await startServer({
    modelRepository: config.modelRepository,
    host: '127.0.0.1',
    httpThreadCount: config.httpThreadCount,
  });
  const send = (m: unknown): void => {
    process.send?.(m);
  };
  process.on('message', (m: ServerHostCommand) => {
    if (m.cmd === 'stats') {
      send({ stats: server.core.modelStatistics(config.model, '')[0] });
      return;
    }
    void server.stop({ timeoutMs: 5000 }).finally(() => process.disconnect?.());
  });
  send({ ready: true, httpUrl: server.httpUrl, grpcUrl: server.grpcUrl });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
  process.disconnect?.();
});
