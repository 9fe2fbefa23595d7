import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import type { RgbImage } from "../../../common/images/codec.js";
import { composeSideBySide, sideBySideLayout } from "../../../demo/side-by-side.js";

function solidPng(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

function solidRgb(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rgb[i % 3]!;
  return { data, width, height };
}

function pixel(image: RgbImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return [...image.data.subarray(i, i + 3)];
}

/** The darkest channel value in a rectangle (255: all white). */
function darkest(image: RgbImage, x0: number, x1: number, y0: number, y1: number): number {
  let min = 255;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) min = Math.min(min, ...pixel(image, x, y));
  return min;
}

const RED: [number, number, number] = [220, 20, 20];
const GREEN: [number, number, number] = [20, 200, 40];
const BLUE: [number, number, number] = [30, 40, 210];

describe("side-by-side picture (demo/side-by-side.ts)", () => {
  it("scales every picture to the height, keeping its aspect ratio, left to right with gaps", () => {
    const layout = sideBySideLayout(
      [
        { width: 40, height: 20 },
        { width: 30, height: 30 },
        { width: 20, height: 40 },
      ],
      { height: 20, gap: 6, captionHeight: 18 },
    );
    // 40×20 → 40×20, 30×30 → 20×20, 20×40 → 10×20.
    assert.deepEqual(layout.cells, [
      { left: 0, width: 40 },
      { left: 46, width: 20 },
      { left: 72, width: 10 },
    ]);
    assert.equal(layout.width, 82);
    assert.equal(layout.height, 38);
  });

  it("refuses no pictures and a height that is not a whole number ≥ 1", () => {
    assert.throws(() => sideBySideLayout([], { height: 10 }), /at least one picture/);
    assert.throws(() => sideBySideLayout([{ width: 4, height: 4 }], { height: 0 }), /height must be/);
  });

  it("puts encoded and decoded pictures in the given order, on white, captions below each", async () => {
    const row = await composeSideBySide(
      [
        { image: await solidPng(40, 20, RED), caption: "photo" },
        { image: await solidPng(30, 30, GREEN), caption: "demo" },
        { image: solidRgb(20, 40, BLUE), caption: "gallery" },
      ],
      { height: 40, gap: 8, captionHeight: 16 },
    );
    // 80 + 8 + 40 + 8 + 20 wide, 40 + 16 high.
    assert.equal(row.width, 156);
    assert.equal(row.height, 56);
    assert.deepEqual(pixel(row, 40, 20), RED);
    assert.deepEqual(pixel(row, 84, 20), [255, 255, 255], "gap");
    assert.deepEqual(pixel(row, 108, 20), GREEN);
    assert.deepEqual(pixel(row, 146, 20), BLUE);
    // Each caption is drawn (dark text) under its own picture.
    assert.ok(darkest(row, 0, 80, 40, 56) < 128, "caption under the first picture");
    assert.ok(darkest(row, 88, 128, 40, 56) < 128, "caption under the second picture");
    assert.ok(darkest(row, 136, 156, 40, 56) < 128, "caption under the third picture");
  });

  it("leaves the strip out when the caption height is 0", async () => {
    const row = await composeSideBySide(
      [
        { image: solidRgb(8, 8, RED), caption: "a" },
        { image: solidRgb(8, 8, BLUE), caption: "b" },
      ],
      { height: 8, gap: 2, captionHeight: 0 },
    );
    assert.equal(row.width, 18);
    assert.equal(row.height, 8);
    assert.deepEqual(pixel(row, 0, 7), RED);
    assert.deepEqual(pixel(row, 17, 7), BLUE);
  });
});
