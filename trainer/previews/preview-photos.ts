// The held-out photos rank 0 stylises at every checkpoint (spec.previews).
// Each entry of spec.previews.photos is a URI or a path relative to the
// dataset; one ending in "/" stands for every image under it, in name order.
// A photo that cannot be read is logged (naming its field) and left out: a
// preview is worth a warning, never a failed training.
import type { Previews } from "../../common/api/index.js";
import { decodeRgb, type RgbImage } from "../../common/images/codec.js";
import type { Logger } from "../../common/log/logger.js";
import { previewPhotoName } from "../../common/storage/training-layout.js";
import { joinUri, type ObjectStore } from "../../common/storage/index.js";

export interface PreviewPhoto {
  /** `NN-<name>`, its name in the preview layout. */
  name: string;
  /** Where it was read from. */
  uri: string;
  /** RGB at most `size` on the longer side, both sides multiples of 4. */
  rgb: RgbImage;
}

const IMAGE_FILE = /\.(jpe?g|png|webp)$/i;
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//;

/** An entry of spec.previews.photos as a URI: relative paths are taken under the dataset prefix. */
export function previewSourceUri(dataset: string, entry: string): string {
  return HAS_SCHEME.test(entry) ? entry : joinUri(dataset.endsWith("/") ? dataset : `${dataset}/`, entry);
}

/** The photo URIs the entries stand for (prefixes listed), at most `maxPhotos`, each with the field it came from. */
export async function listPreviewSources(
  store: ObjectStore,
  previews: Previews,
  dataset: string,
  log: Logger,
): Promise<{ uri: string; field: string }[]> {
  const out: { uri: string; field: string }[] = [];
  for (const [i, entry] of previews.photos.entries()) {
    if (out.length >= previews.maxPhotos) break;
    const field = `spec.previews.photos[${i}]`;
    const uri = previewSourceUri(dataset, entry);
    if (!uri.endsWith("/")) {
      out.push({ uri, field });
      continue;
    }
    const found: string[] = [];
    try {
      for await (const e of store.list(uri)) if (IMAGE_FILE.test(e.relativeKey)) found.push(e.uri);
    } catch (err) {
      log.warn({ field, uri, err }, "cannot list preview photos");
      continue;
    }
    if (found.length === 0) {
      log.warn(
        { field, uri },
        `no images under ${uri} (${field}): put a few photos that are not in the training set there, or list them in spec.previews.photos`,
      );
    }
    for (const f of found.sort()) if (out.length < previews.maxPhotos) out.push({ uri: f, field });
  }
  return out;
}

/** The centre of an image cut down so both sides are multiples of 4 (the network downsamples twice by 2). */
export function cropToMultipleOf4(image: RgbImage): RgbImage {
  const width = image.width - (image.width % 4);
  const height = image.height - (image.height % 4);
  if (width === image.width && height === image.height) return image;
  const x0 = Math.floor((image.width - width) / 2);
  const y0 = Math.floor((image.height - height) / 2);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((y + y0) * image.width + x0) * 3;
    data.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { data, width, height };
}

/** Reads and decodes the preview photos of spec.previews; unreadable ones are logged and left out. */
export async function loadPreviewPhotos(args: {
  store: ObjectStore;
  previews: Previews;
  dataset: string;
  readUri: (uri: string) => Promise<Uint8Array>;
  log: Logger;
}): Promise<PreviewPhoto[]> {
  const { previews, log } = args;
  const sources = await listPreviewSources(args.store, previews, args.dataset, log);
  const photos: PreviewPhoto[] = [];
  for (const { uri, field } of sources) {
    try {
      const rgb = cropToMultipleOf4(await decodeRgb(await args.readUri(uri), { maxSide: previews.size }));
      if (rgb.width === 0 || rgb.height === 0) throw new Error("narrower than 4 pixels once resized");
      photos.push({ name: previewPhotoName(photos.length, uri), uri, rgb });
    } catch (err) {
      log.warn({ field, uri, err }, `preview photo ${uri} (${field}) left out`);
    }
  }
  return photos;
}
