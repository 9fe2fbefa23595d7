// A held-out photo as the bench evaluates it: resized so its longer side is
// the bench's size (photo-size.ts), with the hash of its file, which keys
// its Gatys baseline (a renamed or edited photo is a different photo).
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { imageTensor } from "../../trainer/gatys/loss-problem.js";
import { fitLongerSide } from "./photo-size.js";

export interface BenchPhoto {
  name: string;
  sha256: string;
  width: number;
  height: number;
  /** RGB in [0, 255], [1, height, width, 3]. */
  content: tf.Tensor4D;
}

/** Width and height as displayed (EXIF orientations 5–8 swap them). */
async function displayedSize(bytes: Uint8Array, name: string): Promise<{ width: number; height: number }> {
  const { width, height, orientation } = await sharp(bytes).metadata();
  if (width === undefined || height === undefined) throw new Error(`${name}: not an image sharp can read`);
  return orientation !== undefined && orientation >= 5 ? { width: height, height: width } : { width, height };
}

export async function loadPhoto(dir: string, name: string, size: number): Promise<BenchPhoto> {
  const path = join(dir, name);
  const bytes = await readFile(path);
  const original = await displayedSize(bytes, name);
  const fitted = fitLongerSide(original.width, original.height, size);
  const content = await imageTensor(path, { fill: fitted });
  return { name, sha256: createHash("sha256").update(bytes).digest("hex"), ...fitted, content };
}
