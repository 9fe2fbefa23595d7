// Small generated photo folders for the data tests: sharp encodes raw pixels,
// so no fixture files are checked in.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { ObjectStore } from "../../../common/storage/index.js";

/** A w×h JPEG whose pixels depend on `seed` (so images differ). */
export async function makeJpeg(seed: number, width = 40, height = 30): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 5 + seed * 37) & 255;
      raw[i + 1] = (y * 7 + seed * 11) & 255;
      raw[i + 2] = (seed * 53) & 255;
    }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export interface PhotoFolder {
  dir: string;
  /** Names (relative) of the good images. */
  good: string[];
  /** Names that must be skipped. */
  bad: string[];
}

/**
 * `n` good images (JPEG and PNG, some in a subfolder, mixed aspect ratios)
 * plus, when asked, a truncated JPEG and a text file.
 */
export async function makePhotoFolder(n: number, opts: { withBad?: boolean } = {}): Promise<PhotoFolder> {
  const dir = await mkdtemp(join(tmpdir(), "sk-photos-"));
  await mkdir(join(dir, "sub"), { recursive: true });
  const good: string[] = [];
  for (let i = 0; i < n; i++) {
    const name =
      i % 5 === 4 ? `sub/img-${String(i).padStart(4, "0")}.png` : `img-${String(i).padStart(4, "0")}.jpg`;
    const jpeg = await makeJpeg(i, 32 + (i % 3) * 16, 24 + (i % 4) * 8);
    const bytes = name.endsWith(".png") ? await sharp(jpeg).png().toBuffer() : jpeg;
    await writeFile(join(dir, name), bytes);
    good.push(name);
  }
  const bad: string[] = [];
  if (opts.withBad) {
    const jpeg = await makeJpeg(999, 64, 64);
    await writeFile(join(dir, "img-0003-corrupt.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    await writeFile(join(dir, "notes.txt"), "not a photo\n");
    bad.push("img-0003-corrupt.jpg", "notes.txt");
  }
  await writeFile(join(dir, ".DS_Store"), "hidden files are ignored");
  return { dir, good, bad };
}

/** A minimal zip (stored, no compression) of `files`, so zip input is tested without a zip tool. */
export function makeZip(files: { name: string; bytes: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, "utf8");
    const crc = crc32(f.bytes);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(f.bytes.length, 18);
    local.writeUInt32LE(f.bytes.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(f.bytes.length, 20);
    central.writeUInt32LE(f.bytes.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, f.bytes);
    centrals.push(central, name);
    offset += local.length + name.length + f.bytes.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface StoreEvent {
  op: "put-start" | "put-done" | "delete" | "deletePrefix";
  name: string;
}

/**
 * Wraps a real store: records writes (as names relative to `root`) and, when
 * `failPut` says so, fails a put — the way a crash or a network cut stops a
 * pack halfway.
 */
export function recordingStore(
  inner: ObjectStore,
  root: string,
  failPut?: (name: string) => boolean,
): { store: ObjectStore; events: StoreEvent[] } {
  const events: StoreEvent[] = [];
  const rel = (uri: string): string => (uri.startsWith(root) ? uri.slice(root.length) : uri);
  const store: ObjectStore = {
    schemes: inner.schemes,
    get: (uri, o) => inner.get(uri, o),
    getBytes: (uri, o) => inner.getBytes(uri, o),
    stat: (uri) => inner.stat(uri),
    exists: (uri) => inner.exists(uri),
    list: (prefix) => inner.list(prefix),
    close: () => inner.close(),
    async put(uri, body, o) {
      events.push({ op: "put-start", name: rel(uri) });
      if (failPut?.(rel(uri))) throw new Error(`injected failure writing ${rel(uri)}`);
      const r = await inner.put(uri, body, o);
      events.push({ op: "put-done", name: rel(uri) });
      return r;
    },
    async delete(uri) {
      events.push({ op: "delete", name: rel(uri) });
      return inner.delete(uri);
    },
    async deletePrefix(prefix) {
      events.push({ op: "deletePrefix", name: rel(prefix) });
      return inner.deletePrefix(prefix);
    },
  };
  return { store, events };
}
