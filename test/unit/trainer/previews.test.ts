// Rank 0's previews without servers (file:// storage): which photos
// spec.previews stands for, how they are sized for the network, and that
// the stylised JPEGs land where the dashboard looks for them.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, describe, it } from "node:test";
import sharp from "sharp";
import { PreviewsSchema } from "../../../common/api/index.js";
import { decodeRgb } from "../../../common/images/codec.js";
import { createLogger } from "../../../common/log/logger.js";
import { FileStore } from "../../../common/storage/index.js";
import { previewOriginalUri, previewUri } from "../../../common/storage/training-layout.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import {
  cropToMultipleOf4,
  loadPreviewPhotos,
  previewSourceUri,
} from "../../../trainer/previews/preview-photos.js";
import { writeCheckpointPreviews, writePreviewOriginals } from "../../../trainer/previews/write-previews.js";

const store = new FileStore({ durable: false });
const log = createLogger("previews-test");
const readUri = (uri: string) => store.getBytes(uri);

async function photo(path: string, width: number, height: number, r: number): Promise<void> {
  await sharp({ create: { width, height, channels: 3, background: { r, g: 120, b: 60 } } })
    .png()
    .toFile(path);
}

describe("preview photos", () => {
  let root: string;
  let dataset: string;

  before(async () => {
    await initEngine("cpu");
    root = mkdtempSync(join(tmpdir(), "stylekube-previews-"));
    mkdirSync(join(root, "dataset", "held-out"), { recursive: true });
    mkdirSync(join(root, "elsewhere"));
    dataset = `${pathToFileURL(join(root, "dataset")).href}/`;
    await photo(join(root, "dataset", "held-out", "b-sea.png"), 300, 201, 10);
    await photo(join(root, "dataset", "held-out", "a-cat.png"), 90, 130, 200);
    writeFileSync(join(root, "dataset", "held-out", "notes.txt"), "not a photo");
    await photo(join(root, "elsewhere", "dog.png"), 64, 64, 90);
    writeFileSync(join(root, "elsewhere", "broken.jpg"), "not really a JPEG");
  });

  it("takes relative entries under the dataset and URIs as they are", () => {
    assert.equal(previewSourceUri("s3://bkt/coco256/", "held-out/"), "s3://bkt/coco256/held-out/");
    assert.equal(
      previewSourceUri("s3://bkt/coco256", "held-out/cat.jpg"),
      "s3://bkt/coco256/held-out/cat.jpg",
    );
    assert.equal(previewSourceUri("s3://bkt/coco256/", "s3://other/cat.jpg"), "s3://other/cat.jpg");
  });

  it("by default stylises the images under held-out/ beside the dataset, in name order, sized for the network", async () => {
    const photos = await loadPreviewPhotos({
      store,
      previews: PreviewsSchema.parse({ size: 128 }),
      dataset,
      readUri,
      log,
    });
    assert.deepEqual(
      photos.map((p) => p.name),
      ["00-a-cat", "01-b-sea"],
    );
    // 90×130 fits under 128 after scaling to 89×128 → cut to 88×128; 300×201 → 128×86 → 128×84.
    assert.deepEqual(
      photos.map((p) => [p.rgb.width, p.rgb.height]),
      [
        [88, 128],
        [128, 84],
      ],
    );
    assert.equal(photos[0]!.rgb.data[0], 200, "the cat's red channel");
  });

  it("leaves out what cannot be read, keeps the rest, and stops at maxPhotos", async () => {
    const elsewhere = pathToFileURL(join(root, "elsewhere")).href;
    const previews = PreviewsSchema.parse({
      photos: [`${elsewhere}/broken.jpg`, `${elsewhere}/missing.png`, `${elsewhere}/dog.png`, "held-out/"],
      maxPhotos: 3,
      size: 64,
    });
    const photos = await loadPreviewPhotos({ store, previews, dataset, readUri, log });
    // maxPhotos bounds the sources (broken, missing, dog; held-out/ is never reached) and only dog decodes.
    assert.deepEqual(
      photos.map((p) => p.name),
      ["00-dog"],
    );
    const none = await loadPreviewPhotos({
      store,
      previews: PreviewsSchema.parse({ photos: ["no-such-folder/"] }),
      dataset,
      readUri,
      log,
    });
    assert.deepEqual(none, []);
  });

  it("cuts an image to multiples of 4 around its centre", () => {
    const data = new Uint8Array(6 * 5 * 3);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) data[(y * 6 + x) * 3] = y * 10 + x;
    const out = cropToMultipleOf4({ data, width: 6, height: 5 });
    assert.equal(out.width, 4);
    assert.equal(out.height, 4);
    // x from 1, y from 0 (floor of half the excess).
    assert.equal(out.data[0], 1);
    assert.equal(out.data[(3 * 4 + 3) * 3], 34);
  });

  it("writes the photos and each checkpoint's stylised versions where the dashboard reads them", async () => {
    const output = `${pathToFileURL(join(root, "out")).href}/`;
    const photos = await loadPreviewPhotos({
      store,
      previews: PreviewsSchema.parse({ size: 32 }),
      dataset,
      readUri,
      log,
    });
    const net = new TransformerNet({ seed: 3 });
    await writePreviewOriginals(store, output, photos);
    const announced = await writeCheckpointPreviews(store, output, net, photos, 20);
    assert.deepEqual(announced, {
      uri: `${output}previews/step-00000020/`,
      step: 20,
      photos: ["00-a-cat", "01-b-sea"],
    });
    for (const p of photos) {
      const original = await decodeRgb(await store.getBytes(previewOriginalUri(output, p.name)));
      const stylised = await decodeRgb(await store.getBytes(previewUri(output, 20, p.name)));
      assert.deepEqual([stylised.width, stylised.height], [p.rgb.width, p.rgb.height]);
      assert.deepEqual([original.width, original.height], [p.rgb.width, p.rgb.height]);
      const diff =
        stylised.data.reduce((s, v, i) => s + Math.abs(v - original.data[i]!), 0) / stylised.data.length;
      assert.ok(diff > 5, `the network changed the photo (mean difference ${diff.toFixed(1)})`);
    }
    net.dispose();
  });
});
