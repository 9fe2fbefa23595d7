// Deterministic synthetic images: every process of a test agrees on image `id`.
export function syntheticImage(id: number, size: number): Float32Array {
  let a = (Math.imul(id + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 255;
  }
  return out;
}
