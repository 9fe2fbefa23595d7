/**
 * mulberry32: a tiny seeded PRNG returning uniform numbers in [0, 1). Same
 * seed, same sequence, in every process and on every backend; far faster
 * than tfjs's random ops for filling large arrays (VGG-16's 7.6 M random
 * weights took 6 s through tfjs's randomNormal on the cpu backend).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
