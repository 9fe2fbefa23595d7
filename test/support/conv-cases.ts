// Convolution shapes that exercise every path of a conv gradient kernel
// (strides 1–3, every padding mode, 1×1 … 9×9 filters, odd sizes), and
// deterministic tensors that are the same whichever backend creates them.
// Shared by the cross-engine test and the kernel tests.
import * as tf from "@tensorflow/tfjs-core";

export type ConvPad = "same" | "valid" | number;

export interface ConvCase {
  /** Input shape, NHWC. */
  x: [number, number, number, number];
  /** Filter shape [kh, kw, in, out]. */
  f: [number, number, number, number];
  s: number;
  pad: ConvPad;
}

export const CONV_CASES: readonly ConvCase[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 5], s: 1, pad: "same" },
  { x: [1, 9, 8, 4], f: [3, 3, 4, 6], s: 2, pad: "valid" },
  { x: [1, 14, 12, 3], f: [9, 9, 3, 8], s: 1, pad: "valid" },
  { x: [1, 10, 10, 2], f: [9, 9, 2, 3], s: 1, pad: 4 },
  { x: [3, 7, 7, 3], f: [2, 2, 3, 2], s: 2, pad: "same" },
  { x: [2, 8, 8, 32], f: [3, 3, 32, 16], s: 2, pad: "same" },
  { x: [1, 12, 10, 40], f: [3, 3, 40, 7], s: 1, pad: "valid" },
  { x: [1, 11, 13, 5], f: [5, 5, 5, 9], s: 3, pad: "same" },
  { x: [2, 6, 6, 8], f: [1, 1, 8, 4], s: 1, pad: "valid" },
];

/** Deterministic values (a sine sweep) in the given shape, identical on every backend. */
export function det(shape: readonly number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7311 + seed * 1.37)),
    [...shape],
    "float32",
  );
}
