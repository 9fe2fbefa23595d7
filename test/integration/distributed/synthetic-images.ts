// Deterministic synthetic images: every process of a test agrees on image `id`.
import { mulberry32 } from "../../../common/mulberry32.js";

export function syntheticImage(id: number, size: number): Float32Array {
  const rand = mulberry32(Math.imul(id + 1, 0x9e3779b1) ^ 0x5bd1e995);
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < out.length; i++) out[i] = rand() * 255;
  return out;
}
