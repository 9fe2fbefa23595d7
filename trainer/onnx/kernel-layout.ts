// Kernel layouts between the tfjs network and the ONNX training graph, as
// plain loops in JavaScript. The network keeps its kernels in tfjs's layouts
// (conv HWIO [k, k, in, out], transposed conv [k, k, out, in]); ONNX's Conv
// takes OIHW [out, in, k, k] and ConvTranspose [in, out, k, k]: both are the
// permutation [3, 2, 0, 1] of the tfjs layout. Inside the graph that
// permutation was a general 4-D Transpose, which ONNX Runtime's CPU provider
// runs element by element (≈1 ms per 128×128×3×3 kernel, and again for the
// gradient and for the flipped kernel of each input gradient: ≈40 ms of a
// 128² step); here it is ≈10 ms for all kernels of the network.

/** The 4-D shape [kh, kw, a, b] of a tfjs kernel, checked. */
function dims(shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`kernel layout: expected a 4-D kernel, got [${shape.join(", ")}]`);
  return shape as [number, number, number, number];
}

/** The ONNX shape [b, a, kh, kw] of a tfjs kernel [kh, kw, a, b]. */
export function onnxKernelShape(tfjsShape: readonly number[]): [number, number, number, number] {
  const [kh, kw, a, b] = dims(tfjsShape);
  return [b, a, kh, kw];
}

/**
 * tfjs [kh, kw, a, b] → ONNX [b, a, kh, kw] into `out`; `reverseA` reverses
 * the order of axis a (VGG-16's caffe weights, BGR, fed RGB).
 */
export function toOnnxKernel(
  src: Float32Array,
  tfjsShape: readonly number[],
  out: Float32Array,
  reverseA = false,
): Float32Array {
  const [kh, kw, a, b] = dims(tfjsShape);
  const taps = kh * kw;
  let s = 0;
  for (let t = 0; t < taps; t++)
    for (let i = 0; i < a; i++) {
      const ai = reverseA ? a - 1 - i : i;
      for (let o = 0; o < b; o++) out[(o * a + ai) * taps + t] = src[s++]!;
    }
  return out;
}

/**
 * The kernel a stride-1 conv's input gradient convolves dy with: W flipped
 * in space with its in/out channels swapped, [a, b, kh, kw] from tfjs
 * [kh, kw, a, b]: out[i, o, y, x] = W[kh − 1 − y, kw − 1 − x, i, o].
 */
export function toFlippedOnnxKernel(
  src: Float32Array,
  tfjsShape: readonly number[],
  out: Float32Array,
): Float32Array {
  const [kh, kw, a, b] = dims(tfjsShape);
  const taps = kh * kw;
  let s = 0;
  for (let t = 0; t < taps; t++) {
    const flipped = taps - 1 - t;
    for (let i = 0; i < a; i++) for (let o = 0; o < b; o++) out[(i * b + o) * taps + flipped] = src[s++]!;
  }
  return out;
}

/** ONNX [b, a, kh, kw] → tfjs [kh, kw, a, b], written into `out` from `offset`. */
export function fromOnnxKernel(
  src: Float32Array,
  tfjsShape: readonly number[],
  out: Float32Array,
  offset: number,
): void {
  const [kh, kw, a, b] = dims(tfjsShape);
  const taps = kh * kw;
  let d = offset;
  for (let t = 0; t < taps; t++)
    for (let i = 0; i < a; i++) for (let o = 0; o < b; o++) out[d++] = src[(o * a + i) * taps + t]!;
}
