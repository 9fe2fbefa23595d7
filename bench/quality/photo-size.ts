// The size a held-out photo is evaluated at: its longer side at the bench's
// size (the paper's 256, or 512), the aspect ratio kept up to rounding the
// shorter side to a multiple of 4 — the network halves the image twice and
// doubles it twice, so only then is its output the input's size. A photo
// smaller than the size is enlarged (Kodak's 500 px to 512).

/** Smallest side the bench accepts (the network's two stride-2 convolutions need a few pixels). */
export const MIN_SIDE = 16;

export function checkBenchSize(size: number, flag = "--size"): void {
  if (!Number.isInteger(size) || size < MIN_SIDE || size % 4 !== 0)
    throw new Error(`${flag} must be a multiple of 4 of at least ${MIN_SIDE} (e.g. 256 or 512), got ${size}`);
}

/** Width and height with the longer side `size` and the shorter one scaled alike, rounded to a multiple of 4. */
export function fitLongerSide(
  width: number,
  height: number,
  size: number,
): { width: number; height: number } {
  checkBenchSize(size);
  if (!(width > 0 && height > 0))
    throw new Error(`an image must have a positive size, got ${width}×${height}`);
  const shorter = Math.max(4, Math.round((Math.min(width, height) * size) / Math.max(width, height) / 4) * 4);
  return width >= height ? { width: size, height: shorter } : { width: shorter, height: size };
}
