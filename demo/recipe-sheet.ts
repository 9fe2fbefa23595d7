// The recipe comparison as one picture: a row per held-out photo, the photo
// then each run's stylisation of it, in the order the runs are given (the
// folders demo/gallery.ts wrote, `<photo>-step<N>.jpg`, newest step of each).
//
//   npx tsx demo/recipe-sheet.ts --photos free-photos/ --runs base=/tmp/eval/base,size256=/tmp/eval/size256 \
//     --out docs/gallery/recipe-comparison.jpg
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeRgb } from "../common/images/codec.js";
import { contactSheet, type SheetTile } from "./contact-sheet.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    photos: { type: "string" },
    runs: { type: "string" },
    out: { type: "string" },
    "max-side": { type: "string", default: "256" },
  },
});
for (const k of ["photos", "runs", "out"] as const)
  if (values[k] === undefined) throw new Error(`--${k} is required`);
const runs = values.runs!.split(",").map((r) => {
  const [name, dir] = r.split("=");
  if (!name || !dir) throw new Error(`--runs: "${r}" is not name=folder`);
  return { name, dir };
});

async function tile(file: string, maxSide: number): Promise<SheetTile> {
  const image = await readFile(file);
  const { width, height } = await decodeRgb(image, { maxSide });
  return { image, width, height };
}

/** The newest step's stylisation of `stem` in a folder demo/gallery.ts wrote. */
async function newestStylisation(dir: string, stem: string): Promise<string> {
  const steps = (await readdir(dir))
    .map((f) => ({ f, m: new RegExp(`^${stem.replace(/[^a-z0-9_]/gi, "\\$&")}-step(\\d+)\\.jpg$`).exec(f) }))
    .filter((x) => x.m !== null)
    .sort((a, b) => Number(b.m![1]) - Number(a.m![1]));
  if (steps.length === 0) throw new Error(`${dir}: no ${stem}-step<N>.jpg`);
  return join(dir, steps[0]!.f);
}

const maxSide = Number(values["max-side"]);
const photos = (await readdir(values.photos!)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
const rows: SheetTile[][] = [];
for (const photo of photos) {
  const stem = photo.replace(/\.[^.]+$/, "");
  rows.push([
    await tile(join(values.photos!, photo), maxSide),
    ...(await Promise.all(runs.map(async (r) => tile(await newestStylisation(r.dir, stem), maxSide)))),
  ]);
}
await writeFile(values.out!, await contactSheet(rows));
console.log(`${values.out}: ${photos.length} photos × (original, ${runs.map((r) => r.name).join(", ")})`);
