import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cropToRgb, MIN_SIDE, paddedSide, padToNetworkInput } from "../../../serving/padding.js";

describe("padding to the network's input size", () => {
  it("rounds sides up to a multiple of 4, at least MIN_SIDE", () => {
    assert.deepEqual([1, 4, 7, 8, 9, 12, 13, 255, 256].map(paddedSide), [
      MIN_SIDE,
      MIN_SIDE,
      MIN_SIDE,
      8,
      12,
      12,
      16,
      256,
      256,
    ]);
  });

  it("keeps the image top-left and repeats its last row and column", () => {
    // 2×1: red, green
    const rgb = new Uint8Array([255, 0, 0, 0, 255, 0]);
    const p = padToNetworkInput(rgb, 2, 1);
    assert.deepEqual([p.width, p.height], [8, 8]);
    const px = (x: number, y: number) => [...p.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3)];
    assert.deepEqual(px(0, 0), [255, 0, 0]);
    assert.deepEqual(px(1, 0), [0, 255, 0]);
    assert.deepEqual(px(7, 0), [0, 255, 0], "last column repeated");
    assert.deepEqual(px(0, 7), [255, 0, 0], "last row repeated");
    assert.deepEqual(px(7, 7), [0, 255, 0]);
  });

  it("crops back to the original size, rounding and clamping", () => {
    const w = 5;
    const h = 3;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7) % 256);
    const p = padToNetworkInput(rgb, w, h);
    assert.deepEqual(cropToRgb(p.data, p.width, w, h), rgb, "pad then crop is the identity");
    const values = new Float32Array(p.width * p.height * 3).fill(300);
    values[0] = -5;
    values[1] = 12.6;
    const out = cropToRgb(values, p.width, 1, 1);
    assert.deepEqual([...out], [0, 13, 255]);
  });

  it("rejects sizes that do not match the data", () => {
    assert.throws(() => padToNetworkInput(new Uint8Array(5), 1, 2), RangeError);
    assert.throws(() => padToNetworkInput(new Uint8Array(0), 0, 0), RangeError);
  });
});
