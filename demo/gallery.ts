// Builds one style's entry of docs/gallery/ from a finished (or stopped)
// training: the model exported from a chosen checkpoint, held-out photos
// stylised by several checkpoints (through the model server's inference
// code, as `stylekube stylize` runs it), and the loss curve as a PNG.
//
//   npx tsx demo/gallery.ts --output file:///runs/starry/ --log train.log \
//     --photos held-out/ --steps 100,300,500 --model-step 500 --dir docs/gallery/starry-night
//
// --log is the `stylekube train --local` output (its progress lines carry the
// loss terms; without it no loss.png is drawn); --upsampling/--normalization
// must match the training spec.
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { decodeRgb, encodeRgb } from "../common/images/codec.js";
import { createLogger } from "../common/log/logger.js";
import { openStore } from "../common/storage/index.js";
import { checkpointPrefix } from "../common/storage/training-layout.js";
import { loadCheckpoint } from "../trainer/checkpoint/checkpoints.js";
import { initEngine } from "../trainer/engine/engines.js";
import { exportModel } from "../model/model-export.js";
import { TransformerNet } from "../model/transformer-net.js";
import { Adam } from "../trainer/optimizer/adam.js";
import { InferencePool } from "../serving/inference-pool.js";
import { contactSheet } from "./contact-sheet.js";
import { lossCurveSvg, parseProgressLog } from "./loss-curve.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    output: { type: "string" },
    log: { type: "string" },
    photos: { type: "string" },
    steps: { type: "string" },
    "model-step": { type: "string" },
    dir: { type: "string" },
    title: { type: "string", default: "" },
    "max-side": { type: "string", default: "256" },
    upsampling: { type: "string", default: "upsample-conv" },
    normalization: { type: "string", default: "instance" },
    style: { type: "string", default: "" },
    "image-size": { type: "string", default: "128" },
  },
});
for (const k of ["output", "photos", "steps", "model-step", "dir"] as const)
  if (values[k] === undefined) throw new Error(`--${k} is required`);
const output = values.output!;
const dir = resolve(values.dir!);
const steps = values.steps!.split(",").map(Number);
const modelStep = Number(values["model-step"]);
const maxSide = Number(values["max-side"]);
const netOptions = {
  upsampling: values.upsampling as "upsample-conv" | "transpose",
  normalization: values.normalization as "instance" | "batch",
};
// The main thread only moves checkpoint weights into exported models.
await initEngine("cpu");
const store = openStore();
await mkdir(dir, { recursive: true });
const scratch = await mkdtemp(join(tmpdir(), "stylekube-gallery-"));

/** A checkpoint's weights exported as a model under `target` (a file:// prefix). */
async function exportCheckpoint(step: number, target: string): Promise<string> {
  const net = new TransformerNet(netOptions);
  const state = await loadCheckpoint(store, checkpointPrefix(output, step), net.params, new Adam());
  // Without model.onnx: the committed models stay under 8 MB (`stylekube export --onnx` adds it).
  const uri = await exportModel(
    store,
    target,
    net,
    { trainedSteps: state.step, style: values.style ?? "", imageSize: Number(values["image-size"]) },
    { onnx: false },
  );
  net.dispose();
  return uri;
}

const photos = (await readdir(values.photos!)).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
const inputs = await Promise.all(
  photos.map(async (f) => decodeRgb(readFileSync(join(values.photos!, f)), { maxSide })),
);
const pool = await InferencePool.start({ engine: "wasm", threads: 1, log: createLogger("gallery", "warn") });
const tiles: Buffer[][] = inputs.map(() => []);
try {
  for (const step of steps) {
    const tmp = pathToFileURL(join(scratch, `step-${step}`)).href + "/";
    const uri = await exportCheckpoint(step, tmp);
    const { modelId } = await pool.load(uri);
    for (const [i, image] of inputs.entries()) {
      const result = await pool.run(modelId, image);
      const jpeg = await encodeRgb(result.image, "jpeg", 85);
      await writeFile(join(dir, `${photos[i]!.replace(/\.[^.]+$/, "")}-step${step}.jpg`), jpeg);
      tiles[i]!.push(jpeg);
      console.log(
        `step ${step}: ${photos[i]} (${image.width}×${image.height}) in ${result.inferenceMs.toFixed(0)} ms`,
      );
    }
    pool.unload(modelId);
  }
} finally {
  await pool.close();
  await rm(scratch, { recursive: true, force: true });
}
const model = await exportCheckpoint(modelStep, pathToFileURL(dir).href + "/");
console.log(`model (step ${modelStep}) → ${model}`);

// Contact sheet: one row per photo, the photo then each checkpoint.
const originals = await Promise.all(inputs.map((image) => encodeRgb(image, "jpeg", 85)));
const rows = inputs.map((image, i) =>
  [originals[i]!, ...tiles[i]!].map((b) => ({ image: b, width: image.width, height: image.height })),
);
await writeFile(join(dir, "checkpoints.jpg"), await contactSheet(rows));
console.log(`${dir}: checkpoints.jpg (${photos.length} photos × ${steps.length} checkpoints)`);

if (values.log !== undefined) {
  const points = parseProgressLog(readFileSync(values.log, "utf8"));
  await sharp(Buffer.from(lossCurveSvg(points, values.title ?? "")))
    .png()
    .toFile(join(dir, "loss.png"));
  console.log(`${dir}: loss.png (${points.length} points)`);
}
