// A deterministic photo-like HWC RGB image in [0, 255]: smooth gradients plus
// noise, so there is structure at every scale, as in a photo.
import { mulberry32 } from "../../common/mulberry32.js";

export function syntheticPhoto(height: number, width: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const out = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        out[(y * width + x) * 3 + c] = Math.min(255, ((x * (c + 1) + y * 2) % 256) * 0.7 + random() * 76);
  return out;
}
