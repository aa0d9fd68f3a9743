/**
 * Deterministic pseudo-random numbers, bytes and strings (generated input data, schedules, bootstrap).
 * For input data perf_analyzer uses an unseeded libc `rand()` (same bytes every run) and a `random_device`-seeded engine for strings (different every run);
 * we seed both from `--seed` so a run can be repeated exactly and two runs with different seeds differ.
 */

/** perf_analyzer's character set for random BYTES elements: letters, digits, space, '.', '?', '!'. */
export const RANDOM_STRING_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .?!';

/**
 * The one seeded PRNG of the project (mulberry32): 32-bit state, period 2^32. Ample for filler data,
 * Poisson gaps and bootstrap resampling (repeatable from a printed seed, which perf_analyzer's
 * default-seeded engines only are by accident); not for cryptography.
 * Returns a generator of uniform unsigned 32-bit integers determined entirely by `seed` (any integer).
 */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same generator as uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  const next = createRandom(seed);
  return () => next() / 4294967296;
}

/** `byteLength` pseudo-random bytes. */
export function randomBytes(next: () => number, byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  let i = 0;
  for (; i + 4 <= byteLength; i += 4) {
    const v = next();
    out[i] = v & 0xff;
    out[i + 1] = (v >>> 8) & 0xff;
    out[i + 2] = (v >>> 16) & 0xff;
    out[i + 3] = v >>> 24;
  }
  if (i < byteLength) {
    const v = next();
    for (let k = 0; i < byteLength; i++, k++) out[i] = (v >>> (8 * k)) & 0xff;
  }
  return out;
}

/** A random string of `length` characters from RANDOM_STRING_ALPHABET. */
export function randomString(next: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += RANDOM_STRING_ALPHABET[next() % RANDOM_STRING_ALPHABET.length];
  return s;
}
