// ∂L/∂W of y = Conv(x, W) (stride s, pads p): for every output channel m,
// input channel c and tap (a, b), Σ_{n,i,j} dy[n,m,i,j]·x_pad[n,c,i·s+a,j·s+b].
// Which formulation is fastest depends on the layer; each choice below was
// timed in ONNX Runtime's CPU provider (docs/onnx-training.md):
//
// - stride-1 3×3 kernels (the residual blocks and the upsampling convs): one
//   GEMM per tap over a contiguous run of x (contiguousTaps below), summed
//   over the batch; 1.1–1.6× faster than one GEMM over a stacked im2col,
//   whose strided copies cost as much as the GEMMs;
// - strided 3×3 kernels (the downsampling convs): one GEMM over an im2col of
//   x's strided views;
// - large stride-1 kernels with fewer output than input channels (the last
//   9×9 conv, 32 → 3): an im2col of dy's 3 channels instead of x's 32;
// - other large kernels (the first 9×9 conv): a convolution of x with dy as
//   the filter, batch and channels swapped.
import type { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";

/** Kernels up to this many taps get their filter gradient from GEMMs over their taps. */
export const IM2COL_MAX_TAPS = 9;

export function convFilterGradient(
  g: GraphBuilder,
  x: string,
  dy: string,
  kernel: [number, number],
  strides: [number, number],
  pads: [number, number, number, number],
): string {
  const stride1 = strides[0] === 1 && strides[1] === 1;
  if (kernel[0] * kernel[1] <= IM2COL_MAX_TAPS) {
    return stride1
      ? perTapFilterGradient(g, x, dy, kernel, pads)
      : im2colFilterGradient(g, x, dy, kernel, strides, pads);
  }
  const [, c] = g.staticShape(x);
  const [, m] = g.staticShape(dy);
  const padsFit = pads.every((p, i) => p < kernel[i % 2]!);
  return stride1 && padsFit && m! < c!
    ? outputIm2colFilterGradient(g, x, dy, kernel, pads)
    : convolutionFilterGradient(g, x, dy, kernel, strides, pads);
}

/**
 * The taps of a stride-1 kernel over `source` [N, C, ·, ·] zero-padded by
 * `pads` (to [N, C, Hs, Ws]) as contiguous runs. Flattened row by row, what tap (a, b) sees at
 * output pixel (i, j) is element (i + a)·Ws + j + b: over the output's rows
 * read at the source's width (`rows` × Ws positions, of which the last
 * kw − 1 of each row are outside the output and must meet zeros on the other
 * side of the product), tap (a, b) is one contiguous run starting at
 * a·Ws + b. A plain copy each, where a 2-D view is a strided one. One extra
 * zero row keeps the last tap's run inside the buffer.
 */
function contiguousTaps(
  g: GraphBuilder,
  source: string,
  [pt, pl, pb, pr]: [number, number, number, number],
  rows: number,
): { tap: (a: number, b: number) => string; rowLength: number; positions: number } {
  const padded = ops.padZeros(g, source, [0, 0, pt, pl], [0, 0, pb + 1, pr]);
  const [n, c, hs, ws] = g.staticShape(padded);
  const flat = ops.reshape(g, padded, [n!, c!, hs! * ws!]);
  const positions = rows * ws!;
  return {
    tap: (a, b) => ops.slice(g, flat, [2], [a * ws! + b], [a * ws! + b + positions]),
    rowLength: ws!,
    positions,
  };
}

/** `t` [N, M, H, W] widened with zero columns to `width` and flattened to [N, M, H·width]. */
function widenedRows(g: GraphBuilder, t: string, width: number): string {
  const [n, m, h, w] = g.staticShape(t);
  const wide = width > w! ? ops.padZeros(g, t, [0, 0, 0, 0], [0, 0, 0, width - w!]) : t;
  return ops.reshape(g, wide, [n!, m!, h! * width]);
}

/**
 * Stride 1, small kernels: for each tap (a, b), dy (widened to x_pad's row
 * length, zeros in the extra columns) times that tap's contiguous run of
 * x_pad transposed, [N, M, K] × [N, K, C], summed over the batch; the k²
 * results [M, C] stacked in OIHW order.
 */
function perTapFilterGradient(
  g: GraphBuilder,
  x: string,
  dy: string,
  [kh, kw]: [number, number],
  [pt, pl, pb, pr]: [number, number, number, number],
): string {
  const [, c] = g.staticShape(x);
  const [, m, h] = g.staticShape(dy);
  const { tap, rowLength } = contiguousTaps(g, x, [pt, pl, pb, pr], h!);
  const dyWide = widenedRows(g, dy, rowLength);
  const perTap: string[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const product = gemmSummedOverBatch(g, dyWide, ops.transpose(g, tap(a, b), [0, 2, 1]));
      perTap.push(ops.reshape(g, product, [m!, c!, 1]));
    }
  }
  return ops.reshape(g, ops.concat(g, perTap, 2), [m!, c!, kh, kw]);
}

/**
 * Strided small kernels: the k² strided views of x_pad that each tap sees,
 * stacked to [N, C·k², H'·W'], times dyᵀ gives [N, M, C·k²], already in OIHW
 * order once summed over the batch.
 */
function im2colFilterGradient(
  g: GraphBuilder,
  x: string,
  dy: string,
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  [pt, pl, pb, pr]: [number, number, number, number],
): string {
  const padded = pt + pl + pb + pr > 0 ? ops.padZeros(g, x, [0, 0, pt, pl], [0, 0, pb, pr]) : x;
  const [n, c] = g.staticShape(padded);
  const [, m, h, w] = g.staticShape(dy);
  const positions = h! * w!;
  const taps: string[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      // What tap (a, b) multiplies at every output position: x_pad[:, :, a + s·i, b + s·j].
      const view = ops.slice(
        g,
        padded,
        [2, 3],
        [a, b],
        [a + sh * (h! - 1) + 1, b + sw * (w! - 1) + 1],
        [sh, sw],
      );
      taps.push(ops.reshape(g, view, [n!, c!, 1, positions]));
    }
  }
  const columns = ops.reshape(g, ops.concat(g, taps, 2), [n!, c! * kh * kw, positions]);
  const summed = gemmSummedOverBatch(
    g,
    ops.reshape(g, dy, [n!, m!, positions]),
    ops.transpose(g, columns, [0, 2, 1]),
  );
  return ops.reshape(g, summed, [m!, c!, kh, kw]);
}

/** Σ_n a[n]·b[n]: one GEMM per image, summed over the batch. */
function gemmSummedOverBatch(g: GraphBuilder, a: string, b: string): string {
  const perImage = ops.matMul(g, a, b);
  const [n] = g.staticShape(a);
  const summed = n! > 1 ? ops.reduce(g, "ReduceSum", perImage, [0], false) : perImage;
  const [, rows, cols] = g.staticShape(perImage);
  return ops.reshape(g, summed, [rows!, cols!]);
}

/**
 * The filter gradient of a stride-1 conv with an im2col of dy instead of x,
 * for a large kernel whose output has fewer channels than its input (the
 * network's last 9×9 conv, 32 → 3): k² views of 3 channels instead of 32.
 * Substituting u = i + a in Σ_{i,j} dy[m,i,j]·x_pad[c,i+a,j+b] gives
 * Σ_{u,v} x[c,u,v]·dy[m, u + p_top − a, v + p_left − b]: tap (a, b) sees dy
 * shifted by (a, b), zero outside, at every pixel of x; with dy padded by
 * k − 1 − p that is the run of tap (k − 1 − a, k − 1 − b), read at the
 * padded width (x widened with zero columns to match). One GEMM per image,
 * [M·k², K] × [K, C].
 */
function outputIm2colFilterGradient(
  g: GraphBuilder,
  x: string,
  dy: string,
  [kh, kw]: [number, number],
  [pt, pl, pb, pr]: [number, number, number, number],
): string {
  const [n, c, h] = g.staticShape(x);
  const [, m] = g.staticShape(dy);
  const dyPads: [number, number, number, number] = [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr];
  const { tap, rowLength, positions } = contiguousTaps(g, dy, dyPads, h!);
  const taps: string[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      taps.push(ops.reshape(g, tap(kh - 1 - a, kw - 1 - b), [n!, m!, 1, positions]));
    }
  }
  const columns = ops.reshape(g, ops.concat(g, taps, 2), [n!, m! * kh * kw, positions]);
  const summed = gemmSummedOverBatch(g, columns, ops.transpose(g, widenedRows(g, x, rowLength), [0, 2, 1]));
  return ops.transpose(g, ops.reshape(g, summed, [m!, kh, kw, c!]), [0, 3, 1, 2]);
}

function convolutionFilterGradient(
  g: GraphBuilder,
  x: string,
  dy: string,
  kernel: [number, number],
  strides: [number, number],
  pads: [number, number, number, number],
): string {
  const xT = ops.transpose(g, x, [1, 0, 2, 3]);
  const dyT = ops.transpose(g, dy, [1, 0, 2, 3]);
  let r = ops.conv(g, xT, dyT, undefined, { pads, dilations: strides });
  const [, , rh, rw] = g.staticShape(r);
  if (rh !== kernel[0] || rw !== kernel[1]) r = ops.slice(g, r, [2, 3], [0, 0], kernel);
  return ops.transpose(g, r, [1, 0, 2, 3]);
}
