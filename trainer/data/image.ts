// Per-sample image work, on sharp (libvips): packing turns any photo into a
// square JPEG (resize so the short side fits, centre crop); reading turns a
// packed JPEG back into RGB.
import sharp from "sharp";

/** Refuse inputs with more pixels than this: a decompression bomb must not take the packer's memory. */
export const MAX_INPUT_PIXELS = 100_000_000;

export class SkipImageError extends Error {
  override readonly name = "SkipImageError";
}

/**
 * Photo bytes → `size`×`size` sRGB JPEG. Throws SkipImageError with a short
 * human reason for anything that is not a decodable image.
 */
export async function prepareImage(bytes: Buffer, size: number, quality: number): Promise<Buffer> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new SkipImageError("not an image (unrecognised format)");
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w === 0 || h === 0) throw new SkipImageError("image has no pixels");
  if (w * h > MAX_INPUT_PIXELS) throw new SkipImageError(`too large: ${w}×${h} pixels`);
  try {
    // failOn "error" (not sharp's default "warning"): truncated and corrupt
    // files fail, while the harmless warnings some camera JPEGs carry (odd
    // EXIF, extraneous bytes) do not cost us a photo.
    return await sharp(bytes, { failOn: "error", limitInputPixels: MAX_INPUT_PIXELS })
      .rotate() // EXIF orientation, so portrait photos are not cropped sideways
      .resize(size, size, { fit: "cover", position: "centre", kernel: "lanczos3" })
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .jpeg({ quality, chromaSubsampling: "4:4:4" })
      .toBuffer();
  } catch {
    // Fixed reasons, not libvips' message: its error buffer is shared between
    // threads, so with concurrent decodes the text varies ("Unknown error" vs
    // "premature end of JPEG image") and the index would not be reproducible.
    throw new SkipImageError(`corrupt or truncated ${meta.format ?? "image"}`);
  }
}

/**
 * A packed JPEG → interleaved RGB bytes, `size`×`size`. When the training size
 * differs from the packed size it is resized here (cover + centre crop).
 */
export async function decodeSample(bytes: Buffer, size: number): Promise<Buffer> {
  const { data, info } = await sharp(bytes, { failOn: "error" })
    .resize(size, size, { fit: "cover", position: "centre" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`decoded ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`);
  }
  return data;
}
