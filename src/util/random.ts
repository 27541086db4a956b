/**
 * A small seeded random number generator, for anything in fgvis (and its
 * tests and scripts) that must be reproducible without tfjs's generators.
 *
 * @packageDocumentation
 */

/** mulberry32: a tiny seeded generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` standard normal values (Box-Muller) from {@link seededRandom}: the same
 * values on every backend and machine for the same seed (tfjs's own random
 * ops treat a seed of 0 as no seed at all).
 */
export function seededNormal(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rnd()));
    const a = 2 * Math.PI * rnd();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}
