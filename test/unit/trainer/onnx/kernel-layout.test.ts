// The JavaScript kernel layouts of the onnxruntime trainer (trainer/onnx/kernel-layout.ts),
// element by element against their definitions, on a kernel with every axis a different size.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fromOnnxKernel,
  onnxKernelShape,
  toFlippedOnnxKernel,
  toOnnxKernel,
} from "../../../../trainer/onnx/kernel-layout.js";

const SHAPE = [2, 3, 4, 5]; // tfjs [kh, kw, a, b]
const [KH, KW, A, B] = SHAPE as [number, number, number, number];
const tfjsIndex = (y: number, x: number, i: number, o: number) => ((y * KW + x) * A + i) * B + o;
const source = Float32Array.from({ length: KH * KW * A * B }, (_, k) => k + 1);

describe("kernel layouts between tfjs and ONNX", () => {
  it("ONNX layout is [b, a, kh, kw] with out[o, i, y, x] = W[y, x, i, o]", () => {
    assert.deepEqual(onnxKernelShape(SHAPE), [B, A, KH, KW]);
    const out = toOnnxKernel(source, SHAPE, new Float32Array(source.length));
    for (let o = 0; o < B; o++)
      for (let i = 0; i < A; i++)
        for (let y = 0; y < KH; y++)
          for (let x = 0; x < KW; x++)
            assert.equal(out[((o * A + i) * KH + y) * KW + x], source[tfjsIndex(y, x, i, o)]);
  });

  it("reverses axis a on request (caffe's BGR weights fed RGB)", () => {
    const out = toOnnxKernel(source, SHAPE, new Float32Array(source.length), true);
    for (let o = 0; o < B; o++)
      for (let i = 0; i < A; i++)
        for (let y = 0; y < KH; y++)
          for (let x = 0; x < KW; x++)
            assert.equal(out[((o * A + i) * KH + y) * KW + x], source[tfjsIndex(y, x, A - 1 - i, o)]);
  });

  it("flipped kernel is [a, b, kh, kw] with out[i, o, y, x] = W[kh − 1 − y, kw − 1 − x, i, o]", () => {
    const out = toFlippedOnnxKernel(source, SHAPE, new Float32Array(source.length));
    for (let i = 0; i < A; i++)
      for (let o = 0; o < B; o++)
        for (let y = 0; y < KH; y++)
          for (let x = 0; x < KW; x++)
            assert.equal(
              out[((i * B + o) * KH + y) * KW + x],
              source[tfjsIndex(KH - 1 - y, KW - 1 - x, i, o)],
            );
  });

  it("fromOnnxKernel inverts toOnnxKernel, at an offset in a larger buffer", () => {
    const onnx = toOnnxKernel(source, SHAPE, new Float32Array(source.length));
    const flat = new Float32Array(source.length + 7);
    fromOnnxKernel(onnx, SHAPE, flat, 7);
    assert.deepEqual(flat.subarray(7), source);
    assert.deepEqual([...flat.subarray(0, 7)], [0, 0, 0, 0, 0, 0, 0]);
  });

  it("refuses a kernel that is not 4-D, naming the shape", () => {
    assert.throws(() => onnxKernelShape([3, 3, 4]), /expected a 4-D kernel, got \[3, 3, 4\]/);
  });
});
