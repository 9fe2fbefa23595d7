// Image decoding and encoding for the trainer (style image, previews) and
// the server (requests, responses), on sharp (libvips). Decoding is bounded:
// libvips checks the pixel count from the header before it allocates, so a
// decompression bomb is refused without being expanded.
import sharp from "sharp";

export type ImageFormat = "jpeg" | "png" | "webp";

export class ImageDecodeError extends Error {
  override readonly name = "ImageDecodeError";
}

export class ImageTooLargeError extends Error {
  override readonly name = "ImageTooLargeError";
}

export interface RgbImage {
  /** Interleaved RGB, 8 bits per channel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 50 MP). */
  maxPixels?: number;
  /** Scale so the longer side is at most this many pixels. */
  maxSide?: number;
  /** Resize to exactly this size, centre-cropping to keep the aspect ratio. */
  cover?: { width: number; height: number };
}

const SUPPORTED = new Set(["jpeg", "png", "webp"]);

/** Decode JPEG, PNG or WebP bytes to RGB (alpha dropped onto white, EXIF rotation applied). */
export async function decodeRgb(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? 50_000_000;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(`not a readable image: ${(err as Error).message}`);
  }
  if (!meta.format || !SUPPORTED.has(meta.format)) {
    throw new ImageDecodeError(
      `unsupported image format ${meta.format ?? "unknown"}: send JPEG, PNG or WebP`,
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width === 0 || height === 0) throw new ImageDecodeError("image has no pixels (0×0)");
  if (width * height > maxPixels) {
    throw new ImageTooLargeError(
      `image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`,
    );
  }
  try {
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" }).rotate();
    if (options.cover) {
      pipeline = pipeline.resize(options.cover.width, options.cover.height, {
        fit: "cover",
        position: "centre",
      });
    } else if (options.maxSide && Math.max(width, height) > options.maxSide) {
      pipeline = pipeline.resize(options.maxSide, options.maxSide, { fit: "inside" });
    }
    const { data, info } = await pipeline
      .flatten({ background: "#ffffff" })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    throw new ImageDecodeError(`corrupt image: ${(err as Error).message}`);
  }
}

export async function encodeRgb(
  image: RgbImage,
  format: ImageFormat = "jpeg",
  quality = 90,
): Promise<Buffer> {
  const pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
  switch (format) {
    case "jpeg":
      return pipeline.jpeg({ quality, mozjpeg: false }).toBuffer();
    case "png":
      return pipeline.png().toBuffer();
    case "webp":
      return pipeline.webp({ quality }).toBuffer();
  }
}

/** RGB bytes → Float32 values in [0, 255] (the networks' input range). */
export function rgbToFloat(image: RgbImage): Float32Array {
  return Float32Array.from(image.data);
}

/** Float values in [0, 255] → RGB bytes, rounded and clamped. */
export function floatToRgb(values: ArrayLike<number>, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(values[i] ?? 0)));
  return { data, width, height };
}
