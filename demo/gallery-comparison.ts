// The demo's held-out photo through the gallery's model of the same painting
// (docs/gallery/, trained for hours on this machine's CPUs), written beside
// the demo's own output and next to it in one picture: a newcomer sees what
// the demo's few minutes of training give and what longer training gives.
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { decodeRgb, encodeRgb, type RgbImage } from "../common/images/codec.js";
import { stylizeImageWithModel, type NetworkStylization } from "../cli/stylize.js";
import { REPO_ROOT } from "../test/env/env-file.js";
import { composeSideBySide } from "./side-by-side.js";

/** The gallery's exported model of a style (docs/gallery.md); a retrained model replaces the files, not the path. */
export function galleryModelDir(style: string): string {
  return resolve(REPO_ROOT, "docs/gallery", style, "model");
}

// The gallery's models are committed without model.onnx (kept small), so
// they run on a tfjs engine; wasm is also `stylekube stylize`'s default.
const GALLERY_ENGINE = "wasm";

/** One image through a gallery model, in this process, by the model server's inference code. */
export function stylizeWithGalleryModel(model: string, image: RgbImage): Promise<NetworkStylization> {
  return stylizeImageWithModel(model, image, GALLERY_ENGINE);
}

export interface GalleryComparisonInput {
  /** The gallery model's folder (galleryModelDir). */
  model: string;
  /** The photo both networks stylised (the one the demo sent to its model server). */
  photo: string;
  /** The demo's network's output for it. */
  demoOutput: string;
  /** What to call the demo's network under its picture. */
  demoCaption: string;
  /** Written: <dir>/<name>-gallery.jpg and <dir>/<name>-side-by-side.jpg. */
  dir: string;
  name: string;
}

export interface GalleryComparison {
  galleryOutput: string;
  sideBySide: string;
  /** From the gallery model's model.json. */
  trainedSteps: number;
  imageSize: number;
  inferenceMs: number;
  /** The captions, left to right. */
  captions: string[];
}

/** Stylises the photo with the gallery model and writes that and the three-picture comparison. */
export async function compareWithGallery(input: GalleryComparisonInput): Promise<GalleryComparison> {
  const photoBytes = await readFile(input.photo);
  const photo = await decodeRgb(photoBytes);
  const gallery = await stylizeWithGalleryModel(input.model, photo);
  const { trainedSteps, imageSize } = gallery.description;
  const galleryOutput = join(input.dir, `${input.name}-gallery.jpg`);
  await writeFile(galleryOutput, await encodeRgb(gallery.image, "jpeg", 92));
  const captions = ["held-out photo", input.demoCaption, `gallery model: ${trainedSteps} steps`];
  const row = await composeSideBySide(
    [
      { image: photoBytes, caption: captions[0]! },
      { image: await readFile(input.demoOutput), caption: captions[1]! },
      { image: gallery.image, caption: captions[2]! },
    ],
    { height: photo.height },
  );
  const sideBySide = join(input.dir, `${input.name}-side-by-side.jpg`);
  await writeFile(sideBySide, await encodeRgb(row, "jpeg", 92));
  return { galleryOutput, sideBySide, trainedSteps, imageSize, inferenceMs: gallery.inferenceMs, captions };
}
