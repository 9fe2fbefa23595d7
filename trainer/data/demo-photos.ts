// A small, legally redistributable photo set for the demo, taken from the
// scikit-image wheel on PyPI (its `skimage/data` folder ships these images;
// licences are from the docstrings of `skimage.data`).
//
//   npx tsx trainer/data/demo-photos.ts <out-dir> [--wheel path/to/scikit_image-*.whl]
//
// Without --wheel the wheel is fetched once with pip (`pip download
// scikit-image --no-deps`, PyPI being reachable here) into
// ~/.cache/stylekube/demo-photos/ and reused. Only the photos below are
// copied; their licences are written to <out-dir>/.LICENSES.md (a hidden
// file, so `dataset pack` ignores it).
import { execFile } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openInputs } from "./inputs.js";

export const SKIMAGE_VERSION = "0.26.0";

export interface DemoPhoto {
  file: string;
  title: string;
  licence: string;
}

/** Colour or grey photographs with a clear public-domain or CC0 status (diagrams, textures of synthetic origin and the Middlebury stereo pair are left out). */
export const DEMO_PHOTOS: readonly DemoPhoto[] = [
  {
    file: "astronaut.png",
    title: "Astronaut Eileen Collins (NASA)",
    licence: "public domain (NASA Great Images; no known copyright restrictions)",
  },
  { file: "camera.png", title: "Cameraman (Lav Varshney)", licence: "CC0 by the photographer, Lav Varshney" },
  {
    file: "chelsea.png",
    title: "Chelsea the cat (Stefan van der Walt)",
    licence: "CC0 by the photographer, Stefan van der Walt",
  },
  {
    file: "coffee.png",
    title: "Coffee cup (Rachel Michetti)",
    licence: "CC0 by the photographer, Rachel Michetti",
  },
  {
    file: "rocket.jpg",
    title: "DSCOVR launch on Falcon 9 (SpaceX)",
    licence: "public domain (released by SpaceX)",
  },
  {
    file: "hubble_deep_field.jpg",
    title: "Hubble eXtreme Deep Field (NASA)",
    licence: "public domain (NASA media guidelines)",
  },
  { file: "brick.png", title: "Brick wall (CC0Textures Bricks25)", licence: "CC0 1.0" },
  { file: "grass.png", title: "Grass (CC0Textures)", licence: "CC0 1.0" },
  { file: "gravel.png", title: "Gravel (CC0Textures Gravel04)", licence: "CC0 1.0" },
  {
    file: "coins.png",
    title: "Greek coins (Pompeii hoard, Brooklyn Museum)",
    licence: "no known copyright restrictions",
  },
  { file: "ihc.png", title: "Immunohistochemistry sample", licence: "no known copyright restrictions" },
  { file: "retina.jpg", title: "Human retina (Häggström, Wikimedia)", licence: "CC0 1.0 Universal" },
];

const run = promisify(execFile);

async function findOrFetchWheel(cacheDir: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const cached = async (): Promise<string | undefined> =>
    (await readdir(cacheDir)).find(
      (f) => f.startsWith(`scikit_image-${SKIMAGE_VERSION}-`) && f.endsWith(".whl"),
    );
  let wheel = await cached();
  if (wheel === undefined) {
    const python = process.env.PYTHON ?? "python3";
    await run(
      python,
      [
        "-m",
        "pip",
        "download",
        `scikit-image==${SKIMAGE_VERSION}`,
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        cacheDir,
      ],
      { timeout: 300_000 },
    );
    wheel = await cached();
    if (wheel === undefined) throw new Error(`pip download left no scikit-image wheel in ${cacheDir}`);
  }
  return join(cacheDir, wheel);
}

/** Copy the demo photos into `outDir`; returns the files written. */
export async function collectDemoPhotos(
  outDir: string,
  options: { wheel?: string; cacheDir?: string } = {},
): Promise<string[]> {
  const wheel =
    options.wheel ??
    (await findOrFetchWheel(options.cacheDir ?? join(homedir(), ".cache", "stylekube", "demo-photos")));
  const wanted = new Map(DEMO_PHOTOS.map((p) => [`skimage/data/${p.file}`, p]));
  const inputs = await openInputs(wheel);
  const written: string[] = [];
  try {
    await mkdir(outDir, { recursive: true });
    for (const f of inputs.files) {
      const photo = wanted.get(f.name);
      if (!photo) continue;
      await writeFile(join(outDir, photo.file), await f.read());
      written.push(photo.file);
    }
  } finally {
    await inputs.close();
  }
  const missing = DEMO_PHOTOS.filter((p) => !written.includes(p.file)).map((p) => p.file);
  if (missing.length > 0) throw new Error(`${wheel} lacks ${missing.join(", ")}`);
  const licences = [
    `# Demo photos — from scikit-image ${SKIMAGE_VERSION} (skimage/data), PyPI`,
    "",
    ...DEMO_PHOTOS.map((p) => `- ${p.file}: ${p.title}. Licence: ${p.licence}.`),
    "",
  ].join("\n");
  await writeFile(join(outDir, ".LICENSES.md"), licences);
  return written.sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const w = args.indexOf("--wheel");
  const wheel = w >= 0 ? args[w + 1] : undefined;
  const out = args.find((_, i) => w < 0 || (i !== w && i !== w + 1));
  if (out === undefined) {
    console.error("usage: npx tsx trainer/data/demo-photos.ts <out-dir> [--wheel scikit_image-*.whl]");
    process.exit(2);
  }
  const files = await collectDemoPhotos(out, wheel !== undefined ? { wheel } : {});
  console.log(`${files.length} photos in ${out} (licences in ${join(out, ".LICENSES.md")})`);
}
