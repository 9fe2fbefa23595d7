// The preview layout: the trainer writes these paths and the dashboard parses
// them back, so every name must survive the round trip.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  parsePreviewKey,
  PREVIEW_PHOTO_NAME,
  previewOriginalUri,
  previewPhotoName,
  previewsPrefix,
  previewStepPrefix,
  previewUri,
} from "../../../common/storage/training-layout.js";

describe("preview layout", () => {
  it("names photos by their place and file name, within the allowed characters", () => {
    assert.equal(previewPhotoName(0, "s3://b/held-out/chelsea.png"), "00-chelsea");
    assert.equal(previewPhotoName(3, "file:///p/Sunset by Aitzol.JPG"), "03-sunset-by-aitzol");
    assert.equal(previewPhotoName(12, "https://h/%%%.webp"), "12-photo");
    const long = previewPhotoName(1, `s3://b/${"x".repeat(200)}.jpg`);
    assert.match(long, PREVIEW_PHOTO_NAME);
    assert.equal(long.length, 3 + 48);
  });

  it("writes paths under the output that parse back to the same step and photo", () => {
    const output = "s3://bkt/models/starry/";
    assert.equal(previewsPrefix(output), "s3://bkt/models/starry/previews/");
    assert.equal(previewStepPrefix(output, 1200), "s3://bkt/models/starry/previews/step-00001200/");
    const stylised = previewUri(output, 1200, "00-chelsea");
    assert.equal(stylised, "s3://bkt/models/starry/previews/step-00001200/00-chelsea.jpg");
    assert.deepEqual(parsePreviewKey(stylised.slice(previewsPrefix(output).length)), {
      kind: "stylised",
      step: 1200,
      photo: "00-chelsea",
    });
    const original = previewOriginalUri("file:///data/out", "01-sea");
    assert.equal(original, "file:///data/out/previews/photos/01-sea.jpg");
    assert.deepEqual(parsePreviewKey("photos/01-sea.jpg"), { kind: "original", photo: "01-sea" });
  });

  it("ignores anything else under the prefix", () => {
    for (const key of [
      "step-00000100.jpg", // the single-image layout before held-out photos
      "step-100/00-cat.jpg",
      "step-00000100/cat.jpg",
      "step-00000100/00-cat.png",
      "step-00000100/sub/00-cat.jpg",
      "photos/../00-cat.jpg",
      "other/00-cat.jpg",
    ]) {
      assert.equal(parsePreviewKey(key), undefined, key);
    }
  });
});
