/**
 * The metrics endpoint on its own port, like Triton's `:8002`: `GET /metrics` (or `/metrics/`) answers the
 * text exposition, everything else 404. Kept apart from the inference HTTP server so scraping never queues
 * behind inference traffic and the port can be firewalled separately.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface RunningMetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

const METRICS_PATH = /^\/metrics\/?$/;

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/** Starts listening; resolves once bound (port 0 = any free port). */
export function startMetricsServer(options: {
  metrics: MetricsSource;
  host: string;
  port: number;
}): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || !METRICS_PATH.test(pathOf(req.url))) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found');
      return;
    }
    options.metrics.render().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': options.metrics.contentType }).end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(String(err));
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
