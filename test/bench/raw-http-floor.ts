/**
 * The floor of the client-overhead measure: one plain keep-alive socket that writes ready request bytes and
 * waits for the response (framing read by Http1ResponseParser), in a bare loop at concurrency 1, with nothing
 * else (no profiler, no windows, no promises per slot). Its "client latency − server request latency" is what
 * the kernel, the loopback and the server's own HTTP handling outside its statistics cost on this machine: no
 * Node client can measure less. A reference for the client benchmark, not a load generator.
 */
import net from 'node:net';
import { Http1ResponseParser } from '../../src/transport/http1-response-parser.ts';

export interface RawFloorRun {
  ratePerSec: number;
  meanUs: number;
  cpuUsPerRequest: number;
  /** Responses that were not 2xx (the run is invalid when > 0). */
  non2xx: number;
}

/** Runs requests back to back on one connection for `seconds` (after `warmupSeconds`) and returns what it saw. */
export async function runRawFloor(
  origin: string,
  requestBytes: Uint8Array,
  seconds: number,
  warmupSeconds: number,
  between?: { before(): Promise<void> },
): Promise<RawFloorRun> {
  const url = new URL(origin);
  const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let done: ((status: number) => void) | undefined;
  let status = 0;
  const parser = new Http1ResponseParser({
    onHead: (h) => {
      status = h.statusCode;
    },
    onBody: () => undefined,
    onComplete: () => done?.(status),
  });
  socket.on('data', (d: Buffer) => parser.execute(d));
  const one = (): Promise<number> =>
    new Promise((resolve) => {
      done = resolve;
      parser.expectResponse();
      socket.write(requestBytes);
    });
  try {
    return await timeBareLoop(one, (code) => code >= 200 && code < 300, seconds, warmupSeconds, between);
  } finally {
    socket.destroy();
  }
}

/**
 * The timed part both floors share: `one()` back to back for `warmupSeconds`, then `between.before()`, then for
 * `seconds` with the process's CPU time measured around it. `ok` tells a good answer from a failed one (kept
 * out of `one` so that the floor pays no extra promise per call).
 */
export async function timeBareLoop<T>(
  one: () => Promise<T>,
  ok: (answer: T) => boolean,
  seconds: number,
  warmupSeconds: number,
  between?: { before(): Promise<void> },
): Promise<RawFloorRun> {
  const loop = async (ms: number): Promise<{ count: number; sumNs: number; failed: number; ms: number }> => {
    let count = 0;
    let sumNs = 0;
    let failed = 0;
    const t0 = performance.now();
    const end = t0 + ms;
    while (performance.now() < end) {
      const start = process.hrtime.bigint();
      const answer = await one();
      sumNs += Number(process.hrtime.bigint() - start);
      count++;
      if (!ok(answer)) failed++;
    }
    return { count, sumNs, failed, ms: performance.now() - t0 };
  };
  await loop(warmupSeconds * 1000);
  await between?.before();
  const cpu0 = process.cpuUsage();
  const r = await loop(seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  return {
    ratePerSec: r.count / (r.ms / 1000),
    meanUs: r.count > 0 ? r.sumNs / r.count / 1000 : Number.NaN,
    cpuUsPerRequest: r.count > 0 ? (cpu.user + cpu.system) / r.count : Number.NaN,
    non2xx: r.failed,
  };
}
