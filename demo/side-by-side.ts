// Pictures in a row, left to right in the order given, each scaled to one
// height (aspect ratio kept) with a small caption under it: the demo's
// "photo | its network | the gallery's network" comparison.
import sharp from "sharp";
import type { RgbImage } from "../common/images/codec.js";
import { escapeXml } from "./loss-curve.js";

export interface Panel {
  /** Encoded (JPEG, PNG, WebP) or decoded RGB. */
  image: Buffer | RgbImage;
  caption: string;
}

export interface SideBySideOptions {
  /** Height of every picture in pixels (the caption strip comes below). */
  height: number;
  /** White space between pictures. */
  gap?: number;
  /** Height of the caption strip (0: no captions). */
  captionHeight?: number;
}

export interface Cell {
  left: number;
  width: number;
}

export interface SideBySideLayout {
  width: number;
  height: number;
  cells: Cell[];
}

const DEFAULT_GAP = 6;
const DEFAULT_CAPTION_HEIGHT = 18;

/** Where each picture of the given sizes goes when scaled to `height`. */
export function sideBySideLayout(
  sizes: readonly { width: number; height: number }[],
  options: SideBySideOptions,
): SideBySideLayout {
  const { height } = options;
  const gap = options.gap ?? DEFAULT_GAP;
  if (sizes.length === 0) throw new Error("side by side: give at least one picture");
  if (!Number.isInteger(height) || height < 1)
    throw new Error(`side by side: height must be a whole number ≥ 1, got ${height}`);
  let left = 0;
  const cells = sizes.map((size) => {
    const cell = { left, width: Math.max(1, Math.round((size.width * height) / size.height)) };
    left += cell.width + gap;
    return cell;
  });
  return { width: left - gap, height: height + (options.captionHeight ?? DEFAULT_CAPTION_HEIGHT), cells };
}

function sharpOf(image: Buffer | RgbImage): sharp.Sharp {
  if (Buffer.isBuffer(image)) return sharp(image);
  const { data, width, height } = image;
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
    raw: { width, height, channels: 3 },
  });
}

function captionsSvg(layout: SideBySideLayout, captions: string[], top: number): Buffer {
  const size = Math.max(1, layout.height - top - 6);
  const texts = layout.cells.map(
    (cell, i) =>
      `<text x="${cell.left + cell.width / 2}" y="${top + size + 1}" text-anchor="middle" ` +
      `font-family="sans-serif" font-size="${size}" fill="#222222">${escapeXml(captions[i] ?? "")}</text>`,
  );
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">${texts.join("")}</svg>`,
  );
}

/** The panels in a row on white, captions underneath; returned as RGB. */
export async function composeSideBySide(panels: Panel[], options: SideBySideOptions): Promise<RgbImage> {
  const sizes = await Promise.all(
    panels.map(async ({ image }) => {
      if (!Buffer.isBuffer(image)) return image;
      const meta = await sharp(image).metadata();
      return { width: meta.width, height: meta.height };
    }),
  );
  const layout = sideBySideLayout(sizes, options);
  const overlays: sharp.OverlayOptions[] = await Promise.all(
    panels.map(async ({ image }, i) => ({
      input: await sharpOf(image)
        .resize(layout.cells[i]!.width, options.height, { fit: "fill" })
        .png()
        .toBuffer(),
      left: layout.cells[i]!.left,
      top: 0,
    })),
  );
  if (layout.height > options.height)
    overlays.push({
      input: captionsSvg(
        layout,
        panels.map((p) => p.caption),
        options.height,
      ),
      left: 0,
      top: 0,
    });
  const { data, info } = await sharp({
    create: { width: layout.width, height: layout.height, channels: 3, background: "#ffffff" },
  })
    .composite(overlays)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}
