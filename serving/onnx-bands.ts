// Large images on the onnxruntime engine: ONNX Runtime runs the whole graph
// at once, so its memory grows with the image (≈1.4 GiB of a replica's 2 GiB
// at 1024², docs/benchmarks.md). A batch-norm model's image above the
// engine's pixel limit runs instead in horizontal bands of at most that many
// pixels, full width, overlapping; the network is fully convolutional, so
// each band is a valid input of its own.
//
// Each band carries HALO rows of context beyond the rows it contributes:
// an output pixel depends on input rows up to 55 away (back from the output:
// 9×9 conv 4, up2 conv +1 → 5, ×2 upsampling → 3, up1 conv +1 → 4, ×2 → 2,
// ten 3×3 convs at quarter resolution +10 → 12, the stride-2 convs
// 2·12 + 1 → 25 and 2·25 + 1 → 51, 9×9 conv +4 → 55), so a contributed row
// never sees the band's own reflection
// padding, and with batch norm's fixed statistics it is the whole image's
// row exactly. Adjacent bands overlap by BLEND rows, cross-faded (weights
// summing to 1): a convex mix of equal values, so exact too.
//
// Not for instance norm: each band would be normalised by its own
// statistics, and on a trained model that changes the picture, not just at
// the seams (measured: mean |Δ| 28.6 of 255 at 1024² in 256-row bands,
// docs/onnx.md). Instance-norm images above the limit get 413 naming it;
// the tfjs engines serve them whole-image exact (model/strip-inference.ts).

/** Rows of context each side of a band's contribution; ≥ the receptive field (55), a multiple of 4. */
export const HALO = 64;
/** Rows over which two neighbouring bands are cross-faded. */
export const BLEND = 32;

export interface Band {
  /** Input rows [start, end) the band runs on (multiples of 4: the network's alignment). */
  start: number;
  end: number;
  /** Rows [from, to) it contributes, with a weight each (index y − from). */
  from: number;
  to: number;
  weights: Float32Array;
}

/** Rows a band may have at this width; the tallest multiple of 4 within maxPixels. */
const bandRows = (width: number, maxPixels: number) => Math.floor(maxPixels / width / 4) * 4;

/** Rows a band contributes beyond its overlap with the next (≥ 4 when bands can be planned). */
const strideRows = (width: number, maxPixels: number) =>
  Math.floor((bandRows(width, maxPixels) - BLEND - 2 * HALO - 8) / 4) * 4;

/** The widest image (a multiple of 4, as padded) bands of at most maxPixels can stylise; wider: 413. */
export function widestBanded(maxPixels: number): number {
  // A band needs at least 4 + BLEND + 2 HALO + 8 rows.
  return Math.floor(maxPixels / (4 + BLEND + 2 * HALO + 8) / 4) * 4;
}

/**
 * The bands of a height×width image (multiples of 4) for an engine that
 * runs at most maxPixels at once; throws when even the thinnest band is too
 * many pixels (the caller answers 413 before that: widestBanded).
 */
export function planBands(height: number, width: number, maxPixels: number): Band[] {
  const stride = strideRows(width, maxPixels);
  if (stride < 4) {
    throw new RangeError(
      `a ${width}-pixel-wide image needs bands of more than ${maxPixels} pixels (at most ${widestBanded(maxPixels)} wide)`,
    );
  }
  const bands: Band[] = [];
  for (let i = 0; ; i++) {
    const from = i * stride;
    const last = from + stride + BLEND >= height;
    const to = last ? height : from + stride + BLEND;
    const start = Math.max(0, Math.floor((from - HALO) / 4) * 4);
    const end = Math.min(height, Math.ceil((to + HALO) / 4) * 4);
    const weights = new Float32Array(to - from);
    for (let y = from; y < to; y++) {
      let w = 1;
      if (i > 0 && y < from + BLEND) w = (y - from + 0.5) / BLEND; // fading in over the previous band
      if (!last && y >= to - BLEND) w = (to - y - 0.5) / BLEND; // fading out under the next
      weights[y - from] = w;
    }
    bands.push({ start, end, from, to, weights });
    if (last) return bands;
  }
}

/**
 * Runs `run` (whole-image inference, NHWC float32 RGB) over the bands of
 * `nhwc` and cross-fades their rows into one image of the same size.
 */
export async function runInBands(
  nhwc: Float32Array,
  height: number,
  width: number,
  maxPixels: number,
  run: (band: Float32Array, height: number, width: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const out = new Float32Array(nhwc.length);
  const rowLength = width * 3;
  for (const band of planBands(height, width, maxPixels)) {
    const y = await run(
      nhwc.subarray(band.start * rowLength, band.end * rowLength),
      band.end - band.start,
      width,
    );
    for (let row = band.from; row < band.to; row++) {
      const w = band.weights[row - band.from]!;
      const src = (row - band.start) * rowLength;
      const dst = row * rowLength;
      for (let k = 0; k < rowLength; k++) out[dst + k]! += w * y[src + k]!;
    }
  }
  return out;
}

/**
 * Why the onnxruntime engine cannot stylise this image (the 413 message), or
 * undefined when it can: whole up to maxPixels, in bands above it for
 * batch-norm models narrow enough for a band.
 */
export function onnxRefusal(
  width: number,
  height: number,
  maxPixels: number,
  normalization: "instance" | "batch",
): string | undefined {
  if (width * height <= maxPixels) return undefined;
  const limit = `STYLEKUBE_ONNX_MAX_PIXELS=${maxPixels} pixels at once`;
  const side = Math.floor(Math.sqrt(maxPixels) / 4) * 4;
  if (normalization === "instance") {
    return `${width}×${height} (as padded) is more than this server's onnxruntime engine stylises for an instance-norm model: ${limit} (its memory grows with the image; splitting it would change the result); send ?maxSide=${side} or a smaller image, or use a replica on engine wasm, which stylises any size up to maxSide`;
  }
  const widest = widestBanded(maxPixels);
  if (width > widest) {
    return `${width}×${height} (as padded) is wider than this server's onnxruntime engine stylises: ${limit}, larger images in bands at least ${Math.ceil(maxPixels / widest)} rows tall, so at most ${widest} px wide; send ?maxSide=${widest} or a smaller image`;
  }
  return undefined;
}
