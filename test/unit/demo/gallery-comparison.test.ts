import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import sharp from "sharp";
import { decodeRgb, encodeRgb, type RgbImage } from "../../../common/images/codec.js";
import {
  compareWithGallery,
  galleryModelDir,
  stylizeWithGalleryModel,
} from "../../../demo/gallery-comparison.js";
import { sideBySideLayout } from "../../../demo/side-by-side.js";
import { syntheticPhoto } from "../../support/synthetic-photo.js";

const MODEL = galleryModelDir("starry-night");

function photo(width: number, height: number, seed: number): RgbImage {
  return { data: Uint8Array.from(syntheticPhoto(height, width, seed)), width, height };
}

/** Mean absolute difference between a picture and the `left…left+width` columns of a row. */
function differenceAt(row: RgbImage, left: number, image: RgbImage): number {
  let sum = 0;
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++)
      for (let c = 0; c < 3; c++)
        sum += Math.abs(
          row.data[(y * row.width + left + x) * 3 + c]! - image.data[(y * image.width + x) * 3 + c]!,
        );
  return sum / (image.width * image.height * 3);
}

async function trainedSteps(): Promise<number> {
  return (JSON.parse(await readFile(join(MODEL, "model.json"), "utf8")) as { trainedSteps: number })
    .trainedSteps;
}

describe("the demo's comparison with the gallery model (demo/gallery-comparison.ts)", () => {
  it("stylises a small image with the committed gallery model, keeping its size", async () => {
    // Not a multiple of the network's stride 4, as photos are not.
    const input = photo(30, 22, 7);
    const result = await stylizeWithGalleryModel(MODEL, input);
    assert.equal(result.image.width, 30);
    assert.equal(result.image.height, 22);
    assert.equal(result.image.data.length, 30 * 22 * 3);
    assert.equal(result.description.trainedSteps, await trainedSteps());
    const changed = result.image.data.reduce((n, v, i) => n + (Math.abs(v - input.data[i]!) > 8 ? 1 : 0), 0);
    assert.ok(changed > result.image.data.length / 2, `only ${changed} channel values changed: not stylised`);
  });

  it("writes the gallery model's output and the three pictures side by side", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stylekube-gallery-comparison-"));
    try {
      const photoPath = join(dir, "in.jpg");
      const demoPath = join(dir, "out.jpg");
      await writeFile(photoPath, await encodeRgb(photo(40, 24, 1), "jpeg"));
      await writeFile(demoPath, await encodeRgb(photo(40, 24, 2), "jpeg"));
      const result = await compareWithGallery({
        model: MODEL,
        photo: photoPath,
        demoOutput: demoPath,
        demoCaption: "this demo: 300 steps",
        dir,
        name: "cat",
      });
      assert.equal(result.galleryOutput, join(dir, "cat-gallery.jpg"));
      assert.equal(result.sideBySide, join(dir, "cat-side-by-side.jpg"));
      assert.equal(result.trainedSteps, await trainedSteps());
      const gallery = await sharp(await readFile(result.galleryOutput)).metadata();
      assert.deepEqual([gallery.width, gallery.height], [40, 24]);
      // Three 40×24 pictures at the photo's height, left to right: photo, demo, gallery.
      const row = await decodeRgb(await readFile(result.sideBySide));
      const layout = sideBySideLayout(Array(3).fill({ width: 40, height: 24 }), { height: 24 });
      assert.deepEqual([row.width, row.height], [layout.width, layout.height]);
      const sources = await Promise.all(
        [photoPath, demoPath, result.galleryOutput].map(async (p) => decodeRgb(await readFile(p))),
      );
      for (const [i, cell] of layout.cells.entries()) {
        const differences = sources.map((source) => differenceAt(row, cell.left, source));
        const closest = differences.indexOf(Math.min(...differences));
        assert.equal(closest, i, `picture ${i} looks most like source ${closest}: ${differences.join(", ")}`);
      }
      assert.deepEqual(result.captions, [
        "held-out photo",
        "this demo: 300 steps",
        `gallery model: ${result.trainedSteps} steps`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
