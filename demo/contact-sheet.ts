// A grid of pictures as one JPEG, each scaled to fit a square cell and
// centred, on white: the gallery's "photo, then each checkpoint" rows and the
// recipe comparison's "photo, then each recipe" rows.
import sharp from "sharp";

export interface SheetTile {
  /** An encoded image (JPEG, PNG…). */
  image: Buffer;
  width: number;
  height: number;
}

export interface SheetLayout {
  /** Side of a cell in pixels. */
  cell?: number;
  /** White space between cells. */
  gap?: number;
}

/** Rows of tiles as one JPEG; rows may differ in length (the sheet is as wide as the longest). */
export async function contactSheet(rows: readonly SheetTile[][], layout: SheetLayout = {}): Promise<Buffer> {
  const cell = layout.cell ?? 200;
  const gap = layout.gap ?? 4;
  const composites: sharp.OverlayOptions[] = [];
  for (const [r, row] of rows.entries())
    for (const [c, tile] of row.entries()) {
      const scale = Math.min(cell / tile.width, cell / tile.height);
      const w = Math.round(tile.width * scale);
      const h = Math.round(tile.height * scale);
      composites.push({
        input: await sharp(tile.image).resize(w, h).toBuffer(),
        left: c * (cell + gap) + Math.floor((cell - w) / 2),
        top: r * (cell + gap) + Math.floor((cell - h) / 2),
      });
    }
  const columns = Math.max(...rows.map((row) => row.length));
  return sharp({
    create: {
      width: columns * (cell + gap) - gap,
      height: rows.length * (cell + gap) - gap,
      channels: 3,
      background: "#ffffff",
    },
  })
    .composite(composites)
    .jpeg({ quality: 85 })
    .toBuffer();
}
