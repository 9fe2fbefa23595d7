// Rank 0's previews: the held-out photos written once as the network sees
// them, then stylised by the current weights at every checkpoint, as small
// JPEGs under the preview layout (common/storage/training-layout.ts).
import * as tf from "@tensorflow/tfjs-core";
import { encodeRgb, floatToRgb, rgbToFloat } from "../../common/images/codec.js";
import type { ProgressMessage } from "../../common/progress.js";
import { previewOriginalUri, previewStepPrefix, previewUri } from "../../common/storage/training-layout.js";
import type { ObjectStore } from "../../common/storage/index.js";
import type { TransformerNet } from "../../model/transformer-net.js";
import type { PreviewPhoto } from "./preview-photos.js";

const JPEG_QUALITY = 85;

async function putJpeg(store: ObjectStore, uri: string, image: PreviewPhoto["rgb"]): Promise<void> {
  await store.put(uri, await encodeRgb(image, "jpeg", JPEG_QUALITY), { contentType: "image/jpeg" });
}

/** The photos themselves, for the dashboard to show beside their stylised versions. */
export async function writePreviewOriginals(
  store: ObjectStore,
  output: string,
  photos: readonly PreviewPhoto[],
): Promise<void> {
  for (const p of photos) await putJpeg(store, previewOriginalUri(output, p.name), p.rgb);
}

/** One photo through the network (inference mode); read back asynchronously, as every engine allows. */
export async function stylisePreview(
  net: TransformerNet,
  rgb: PreviewPhoto["rgb"],
): Promise<PreviewPhoto["rgb"]> {
  const out = tf.tidy(() =>
    net.apply(tf.tensor4d(rgbToFloat(rgb), [1, rgb.height, rgb.width, 3]), { training: false }),
  );
  try {
    return floatToRgb((await out.data()) as Float32Array, rgb.width, rgb.height);
  } finally {
    out.dispose();
  }
}

/** How a photo is stylised by the current weights: tfjs (stylisePreview) unless the engine has a faster way. */
export type Styliser = (rgb: PreviewPhoto["rgb"]) => Promise<PreviewPhoto["rgb"]>;

/** Every photo stylised by the weights at `step`; returns what the progress message announces. */
export async function writeCheckpointPreviews(
  store: ObjectStore,
  output: string,
  net: TransformerNet,
  photos: readonly PreviewPhoto[],
  step: number,
  stylise: Styliser = (rgb) => stylisePreview(net, rgb),
): Promise<NonNullable<ProgressMessage["preview"]>> {
  for (const p of photos) await putJpeg(store, previewUri(output, step, p.name), await stylise(p.rgb));
  return { uri: previewStepPrefix(output, step), step, photos: photos.map((p) => p.name) };
}
