/**
 * Triton's local response cache (`--cache-config local,size=<bytes>`): one server-wide, byte-bounded LRU
 * shared by every model with `response_cache { enable: true }`. The scheduler looks a request up before it
 * queues (a hit is answered at once, never executed) and inserts the outputs of every successful executed
 * request; failed responses are never inserted.
 *
 * The key is SHA-256 (node:crypto) over model name, version and, for each input sorted by name: name,
 * datatype, shape and data bytes, every variable-length field length-prefixed. Why SHA-256 and not
 * Triton's 64-bit hash: the key decides which response a client gets back, so a collision is a wrong
 * answer, not a slow one; SHA-256 makes that impossible in practice (also against crafted inputs), and the
 * native implementation hashes at GB/s, far below the cost of the execution a hit saves. Unlike Triton,
 * datatype and shape are part of the key (Triton's own docs say they should be; same bytes with another
 * shape is another request).
 *
 * Cached entries hold all model outputs of the request (own copies, not views into a batch buffer), so a
 * later request asking for a different subset of outputs is still served correctly.
 */
import { createHash } from 'node:crypto';
import type { Tensor } from '../../../src/protocol/tensor.ts';

/** Error of `--cache-config` parsing (`code` is stable for the CLI to map). */
export class CacheConfigError extends Error {
  readonly code = 'ERR_CACHE_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'CacheConfigError';
  }
}

export interface CacheConfig {
  readonly kind: 'local';
  readonly sizeBytes: number;
}

/**
 * Parses Triton's `--cache-config` value `local,size=<bytes>` (the only cache implementation here).
 * Throws CacheConfigError with a message naming the problem.
 */
export function parseCacheConfig(spec: string): CacheConfig {
  const comma = spec.indexOf(',');
  const kind = (comma < 0 ? spec : spec.slice(0, comma)).trim();
  if (kind === '')
    throw new CacheConfigError(`invalid --cache-config '${spec}': expected 'local,size=<bytes>'`);
  if (kind !== 'local') {
    throw new CacheConfigError(
      `unsupported cache '${kind}' in --cache-config '${spec}': only 'local' is available`,
    );
  }
  let sizeBytes: number | undefined;
  const settings = comma < 0 ? [] : spec.slice(comma + 1).split(',');
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    if (eq < 0)
      throw new CacheConfigError(
        `invalid setting '${setting}' in --cache-config '${spec}': expected key=value`,
      );
    const key = setting.slice(0, eq).trim();
    const value = setting.slice(eq + 1).trim();
    if (key !== 'size') {
      throw new CacheConfigError(`unknown setting '${key}' for cache 'local' in --cache-config '${spec}'`);
    }
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new CacheConfigError(
        `invalid size '${value}' in --cache-config '${spec}': expected a number of bytes`,
      );
    }
    sizeBytes = Number(value);
  }
  if (sizeBytes === undefined) {
    throw new CacheConfigError(`missing size in --cache-config '${spec}': expected 'local,size=<bytes>'`);
  }
  return { kind: 'local', sizeBytes };
}

/** Bookkeeping bytes charged per tensor on top of its data (name, shape, object headers). */
const TENSOR_OVERHEAD_BYTES = 64;

interface Entry {
  readonly outputs: readonly Tensor[];
  readonly sizeBytes: number;
}

function entrySize(key: string, outputs: readonly Tensor[]): number {
  let n = key.length;
  for (const t of outputs)
    n += t.data.byteLength + t.name.length + 8 * t.shape.length + TENSOR_OVERHEAD_BYTES;
  return n;
}

function lengthPrefixed(hash: ReturnType<typeof createHash>, bytes: Uint8Array): void {
  const len = Buffer.allocUnsafe(8);
  len.writeBigUInt64LE(BigInt(bytes.byteLength));
  hash.update(len);
  hash.update(bytes);
}

/** A byte-bounded LRU of responses, shared by every caching model of the server. */
export class ResponseCache {
  readonly capacityBytes: number;
  private readonly entries = new Map<string, Entry>();
  private usedBytes = 0;
  private hitCount = 0;
  private missCount = 0;
  private evictionCount = 0;

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes;
  }

  /** The request identity: model, version and every input (name, datatype, shape, bytes) sorted by name. */
  static key(modelName: string, version: string, inputs: readonly Tensor[]): string {
    const hash = createHash('sha256');
    lengthPrefixed(hash, Buffer.from(modelName));
    lengthPrefixed(hash, Buffer.from(version));
    const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const t of sorted) {
      lengthPrefixed(hash, Buffer.from(t.name));
      lengthPrefixed(hash, Buffer.from(t.datatype));
      const shape = Buffer.allocUnsafe(8 * t.shape.length);
      t.shape.forEach((d, i) => {
        shape.writeBigInt64LE(BigInt(d), 8 * i);
      });
      lengthPrefixed(hash, shape);
      lengthPrefixed(hash, t.data);
    }
    return hash.digest('hex');
  }

  /** The cached outputs (all model outputs) and a hit, or undefined and a miss. Refreshes recency. */
  lookup(key: string): readonly Tensor[] | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      this.missCount += 1;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hitCount += 1;
    return entry.outputs;
  }

  /**
   * Copies `outputs` in, evicting least-recently-used entries until it fits. Returns false (and caches
   * nothing) when the entry alone is larger than the cache, or the key is already present.
   */
  insert(key: string, outputs: readonly Tensor[]): boolean {
    if (this.entries.has(key)) return false;
    const sizeBytes = entrySize(key, outputs);
    if (sizeBytes > this.capacityBytes) return false;
    while (this.usedBytes + sizeBytes > this.capacityBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.evict(oldest.value);
    }
    const copies = outputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: [...t.shape],
      data: t.data.slice(),
    }));
    this.entries.set(key, { outputs: copies, sizeBytes });
    this.usedBytes += sizeBytes;
    return true;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Snapshot for metrics and tests. */
  stats(): { entries: number; usedBytes: number; hits: number; misses: number; evictions: number } {
    return {
      entries: this.entries.size,
      usedBytes: this.usedBytes,
      hits: this.hitCount,
      misses: this.missCount,
      evictions: this.evictionCount,
    };
  }

  private evict(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.usedBytes -= entry.sizeBytes;
    this.evictionCount += 1;
  }
}
