/**
 * A small seeded PRNG (mulberry32) so Poisson schedules are repeatable from a printed seed, which
 * perf_analyzer's default-seeded mt19937 only is by accident. 32-bit state, period 2^32: plenty for
 * inter-arrival gaps, not for cryptography.
 */

/** Returns a generator of uniform floats in [0, 1) determined entirely by `seed` (any integer). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
