/**
 * Client ↔ server accounting for one level: the requests the client saw complete vs the server's success
 * count (statistics extension) over the same windows. The window deltas telescope, so only the two outer
 * edges can differ honestly: requests in flight there, and requests completed while the statistics were
 * being fetched. A larger difference means requests lost or counted twice — by the client or the server.
 */

import { z } from 'zod';
import { nsToS } from '../protocol/units.ts';

export interface ServerAccounting {
  /** Successful requests the client counted in the level's windows. */
  clientCompleted: number;
  /** The server's success count over the same windows (Σ of the window deltas). */
  serverSuccess: number;
  /** The largest honest difference: in flight at the two edges + completions during the statistics fetches. */
  allowedDifference: number;
  /** True when |client − server| > allowedDifference. */
  flagged: boolean;
}

export const serverAccountingSchema = z.object({
  clientCompleted: z.number(),
  serverSuccess: z.number(),
  allowedDifference: z.number(),
  flagged: z.boolean(),
});

/** The accounting of a level from its windows (undefined when no window has server statistics). */
export function accountLevel(
  windows: readonly { requestCount: number; server?: { success: { count: number } } }[],
  edge: { inFlightBound: number; throughputPerSec: number; statsFetchNs: number },
): ServerAccounting | undefined {
  if (windows.length === 0 || windows.some((w) => w.server === undefined)) return undefined;
  const clientCompleted = windows.reduce((s, w) => s + w.requestCount, 0);
  const serverSuccess = windows.reduce((s, w) => s + (w.server?.success.count ?? 0), 0);
  const allowedDifference =
    2 * Math.ceil(edge.inFlightBound) + Math.ceil(nsToS(edge.throughputPerSec * edge.statsFetchNs));
  return {
    clientCompleted,
    serverSuccess,
    allowedDifference,
    flagged: Math.abs(clientCompleted - serverSuccess) > allowedDifference,
  };
}

/** The text line under a level: `  Accounting: client 5000 completed, server 5001 successes (±8 at the edges): ok`. */
export function accountingLine(a: ServerAccounting): string {
  const diff = a.clientCompleted - a.serverSuccess;
  return (
    `  Accounting: client ${a.clientCompleted} completed, server ${a.serverSuccess} successes ` +
    `(difference ${diff >= 0 ? '+' : ''}${diff}, up to ${a.allowedDifference} in flight at the edges): ` +
    (a.flagged ? 'MISMATCH (requests lost or double-counted)' : 'ok')
  );
}
