import type { NamedArray } from "../model/parameters.js";

/**
 * Permutes the axes of a row-major array, as numpy's and ONNX's Transpose:
 * output axis k is input axis perm[k]. Weight files store conv kernels in
 * several layouts (OIHW for PyTorch and ONNX, HWIO for Keras and tfjs); this
 * is the one place that reorders them.
 */
export function transposeArray(src: NamedArray, perm: readonly number[]): NamedArray {
  const rank = src.shape.length;
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new Error(`transpose: perm [${perm.join(",")}] is not a permutation of the ${rank} axes`);
  }
  const shape = perm.map((p) => src.shape[p] ?? 0);
  const srcStrides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) srcStrides[a] = (srcStrides[a + 1] ?? 1) * (src.shape[a + 1] ?? 1);
  // How far the source offset moves when output axis k advances by one.
  const step = perm.map((p) => srcStrides[p] ?? 0);
  const out = new Float32Array(src.data.length);
  if (rank === 4) {
    transpose4(src.data, out, shape, step);
    return { shape, data: out };
  }
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let to = 0; to < out.length; to++) {
    out[to] = src.data[from] ?? 0;
    // Odometer over the output index, innermost axis fastest.
    for (let k = rank - 1; k >= 0; k--) {
      const i = (index[k] ?? 0) + 1;
      if (i < (shape[k] ?? 0)) {
        index[k] = i;
        from += step[k] ?? 0;
        break;
      }
      index[k] = 0;
      from -= (i - 1) * (step[k] ?? 0);
    }
  }
  return { shape, data: out };
}

/** The 4-D case (every conv kernel) as plain nested loops: ~10× faster than the odometer. */
function transpose4(
  src: Float32Array,
  out: Float32Array,
  shape: readonly number[],
  step: readonly number[],
): void {
  const [n0 = 0, n1 = 0, n2 = 0, n3 = 0] = shape;
  const [s0 = 0, s1 = 0, s2 = 0, s3 = 0] = step;
  let to = 0;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        let from = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < n3; d++, from += s3) out[to++] = src[from] as number;
      }
    }
  }
}

/** OIHW (PyTorch's and ONNX's conv weight layout) → HWIO (tfjs's and Keras's). */
export function oihwToHwio(src: NamedArray): NamedArray {
  if (src.shape.length !== 4)
    throw new Error(`expected a 4-D OIHW kernel, got shape [${src.shape.join(",")}]`);
  return transposeArray(src, [2, 3, 1, 0]);
}

/** HWIO → OIHW. */
export function hwioToOihw(src: NamedArray): NamedArray {
  if (src.shape.length !== 4)
    throw new Error(`expected a 4-D HWIO kernel, got shape [${src.shape.join(",")}]`);
  return transposeArray(src, [3, 2, 0, 1]);
}
