// `npm run bench -- onnx-bands --model <model dir or URI> --photo <image> [--size 1024] [--band-rows 256] [--out dir]`:
// how close the onnxruntime engine's banded inference (serving/onnx-bands.ts,
// for images above STYLEKUBE_ONNX_MAX_PIXELS) is to the whole image on a
// trained model. The photo is resized to size² and stylised whole and in
// bands of size × band-rows pixels (default 1024 × 256: the proportions of
// 2048² in the default 1 MPixel bands); prints the differences and writes
// whole.png, bands.png and diff.png (|difference| × 8) to look at. Ends
// with one JSON line {"bench":"onnx-bands",...}.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { FileStore } from "../common/storage/index.js";
import { initInferenceEngine } from "../model/engine/engines.js";
import { exportModel, loadModel } from "../model/model-export.js";
import { planBands, runInBands } from "../serving/onnx-bands.js";
import { loadOnnxModel } from "../serving/onnx-session.js";

const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const modelArg = flag("--model");
const photoArg = flag("--photo");
if (!modelArg || !photoArg) {
  console.error(
    "usage: npm run bench -- onnx-bands --model <model dir or URI> --photo <image> [--size 1024] [--band-rows 256] [--out dir]",
  );
  process.exit(2);
}
const size = Number(flag("--size") ?? 1024);
const bandRows = Number(flag("--band-rows") ?? 256);
const out = resolve(flag("--out") ?? "onnx-bands-out");
mkdirSync(out, { recursive: true });

const toUri = (p: string) => (/^[a-z0-9]+:\/\//.test(p) ? p : pathToFileURL(resolve(p)).href + "/");
const store = new FileStore({ durable: false });
await initInferenceEngine("cpu");
// Export again (ONNX included) to a temporary directory: the model may predate model.onnx.
const { net, description } = await loadModel(store, toUri(modelArg));
const dir = mkdtempSync(join(tmpdir(), "onnx-bands-"));
const uri = await exportModel(store, pathToFileURL(dir).href + "/", net, description);
net.dispose();

const { data } = await sharp(readFileSync(photoArg))
  .resize(size, size, { fit: "cover" })
  .removeAlpha()
  .raw()
  .toBuffer({ resolveWithObject: true });
const input = Float32Array.from(data);
const model = await loadOnnxModel(store, uri, { providers: ["cpu"], threads: 0, maxPixels: size * size });
let t = performance.now();
const whole = await model.run(input, size, size);
const wholeMs = performance.now() - t;
const maxPixels = size * bandRows;
t = performance.now();
const banded = await runInBands(input, size, size, maxPixels, model.run);
const bandsMs = performance.now() - t;
await model.dispose();
rmSync(dir, { recursive: true, force: true });

let max = 0;
let sum = 0;
let over8 = 0;
const diff = new Uint8Array(whole.length);
const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
for (let i = 0; i < whole.length; i++) {
  // Compared as the server sends them: rounded to 8 bits.
  const d = Math.abs(clamp(whole[i]!) - clamp(banded[i]!));
  max = Math.max(max, d);
  sum += d;
  if (d > 8) over8++;
  diff[i] = clamp(d * 8);
}
const png = (values: Uint8Array, name: string) =>
  sharp(values, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toFile(join(out, name));
await png(Uint8Array.from(whole, clamp), "whole.png");
await png(Uint8Array.from(banded, clamp), "bands.png");
await png(diff, "diff.png");
const bands = planBands(size, size, maxPixels).length;
const row = {
  size,
  bandRows,
  bands,
  normalization: description.normalization,
  meanAbs: Math.round((sum / whole.length) * 100) / 100,
  maxAbs: max,
  over8Percent: Math.round((over8 / whole.length) * 10000) / 100,
  wholeMs: Math.round(wholeMs),
  bandsMs: Math.round(bandsMs),
};
console.log(
  `${size}² in ${bands} bands of ≤ ${bandRows} rows vs whole (${description.normalization} norm): mean |Δ| ${row.meanAbs}, max ${max} of 255, ${row.over8Percent}% of values off by > 8; whole ${row.wholeMs} ms, bands ${row.bandsMs} ms; images in ${out}`,
);
console.log(JSON.stringify({ bench: "onnx-bands", ...row }));
