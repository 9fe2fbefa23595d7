// Seeded randomness for data order. Every shuffle is derived from a string
// key (seed, epoch, rank, window…) through sha256, so the order depends only
// on those numbers — not on call order, timing or Math.random — and a
// resumed attempt can recompute exactly the permutation it was in.
import { createHash } from "node:crypto";

/** sfc32: small, fast, 128-bit state, integer-only (identical on every platform). */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(...key: (string | number)[]) {
    const h = createHash("sha256").update(key.join("/")).digest();
    this.#a = h.readUInt32LE(0);
    this.#b = h.readUInt32LE(4);
    this.#c = h.readUInt32LE(8);
    this.#d = h.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, n) without modulo bias (rejection sampling). */
  below(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`below(${n})`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

/** Fisher–Yates permutation of 0…n-1. */
export function permutation(n: number, rng: Prng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
