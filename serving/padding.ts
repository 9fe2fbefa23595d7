// The network needs H and W to be multiples of 4 (two stride-2 downsamplings)
// and at least MIN_SIDE: its convs reflection-pad their input (4 pixels for
// the 9×9 convs, 1 pixel at quarter resolution), which needs more pixels than
// the padding. Any other image is padded up by repeating its edge pixels,
// stylised, and cropped back, so the client gets its own size back.

/** Smallest side that survives every reflection pad of the network (quarter resolution ≥ 2, full ≥ 5), rounded up. */
export const MIN_SIDE = 8;
export const SIDE_MULTIPLE = 4;

export function paddedSide(side: number): number {
  return Math.max(MIN_SIDE, Math.ceil(side / SIDE_MULTIPLE) * SIDE_MULTIPLE);
}

/**
 * Interleaved RGB bytes (width×height) → float32 RGB in [0, 255] of size
 * paddedSide(width)×paddedSide(height), the image in the top-left corner and
 * its last row/column repeated into the padding.
 */
export function padToNetworkInput(
  rgb: Uint8Array,
  width: number,
  height: number,
): { data: Float32Array; width: number; height: number } {
  if (width < 1 || height < 1) throw new RangeError(`image must have pixels, got ${width}×${height}`);
  if (rgb.length !== width * height * 3) {
    throw new RangeError(
      `expected ${width * height * 3} RGB bytes for ${width}×${height}, got ${rgb.length}`,
    );
  }
  const pw = paddedSide(width);
  const ph = paddedSide(height);
  const out = new Float32Array(pw * ph * 3);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < pw; x++) {
      const sx = Math.min(x, width - 1);
      const s = (sy * width + sx) * 3;
      const d = (y * pw + x) * 3;
      out[d] = rgb[s]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s + 2]!;
    }
  }
  return { data: out, width: pw, height: ph };
}

/** The top-left width×height of a padded float RGB image, rounded and clamped to bytes. */
export function cropToRgb(
  values: ArrayLike<number>,
  paddedWidth: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * paddedWidth + x) * 3;
      const d = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = Math.round(values[s + c] ?? 0);
        out[d + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}
