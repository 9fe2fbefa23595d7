// `npm run bench -- quality --model <dir|URI> --style <painting> --photos <dir>
//   [--size N] [--iterations 50,100,200,500] [--method lbfgs|adam] [--style-size N]
//   [--vgg-weights PATH] [--content-weight X] [--style-weight X] [--tv-weight X] [--quick]`
//
// The paper's yardstick (Johnson et al. 2016, Fig. 5): on held-out photos
// (never in the model's training set), the trained network's loss per image
// against the loss Gatys et al.'s optimisation of the image itself reaches
// after 50, 100, 200 and 500 iterations, with the same VGG-16, layers and
// λs, and the wall time of each. The paper reports its networks match 50–100
// iterations. Gatys runs once per photo to the largest count; the loss at
// each smaller count is read on the way (an L-BFGS trajectory does not depend
// on where it will stop). The model is read once for its settings and again
// when the network is evaluated, after the (slow) optimisations.
//
// Prints a table per photo, the means, and one JSON line:
//   {"bench":"quality","style":…,"networkLoss":…,"gatys":[{"iterations":…,"loss":…,"seconds":…}],"matchesIterations":…}
// matchesIterations: the largest iteration count after which Gatys's mean loss
// is still at or above the network's (the network is at least as good as that
// many iterations); null when the network is worse than the smallest count.
// --quick: one photo, 64 px, iterations 10,20 (checks the plumbing, not the claim).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { normalizeUri, openStore } from "../common/storage/index.js";
import { initEngine, type EngineName } from "../trainer/engine/engines.js";
import * as ort from "onnxruntime-node";
import { loadModel, type ModelDescription, onnxModelFile } from "../model/model-export.js";
import { ONNX_INPUT, ONNX_OUTPUT } from "../model/onnx/export.js";
import type { NamedArray } from "../model/parameters.js";
import type { TransformerNet } from "../model/transformer-net.js";
import type { OnnxTrainerOptions } from "../trainer/onnx/onnx-trainer.js";
import {
  defaultLossSettings,
  imageLoss,
  imageTensor,
  loadLossProblem,
} from "../trainer/gatys/loss-problem.js";
import { type GatysMethod, optimizeImage } from "../trainer/gatys/optimize-image.js";
import { OnnxImageLoss, onnxOptionsOf } from "../trainer/onnx/image-loss.js";
import { lossFlags, parseLossFlags } from "../cli/loss-flags.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    model: { type: "string" },
    photos: { type: "string" },
    size: { type: "string" },
    iterations: { type: "string", default: "50,100,200,500" },
    method: { type: "string", default: "lbfgs" },
    engine: { type: "string", default: "wasm" },
    quick: { type: "boolean", default: false },
    ...lossFlags.options,
  },
});

function fail(message: string): never {
  console.error(`bench quality: ${message}`);
  process.exit(2);
}

if (values.model === undefined) fail("--model <model dir or URI> is required (a trained model/ folder)");
if (values.photos === undefined) fail("--photos <dir> is required (held-out photos, never trained on)");
if (values.method !== "lbfgs" && values.method !== "adam")
  fail(`--method must be lbfgs or adam, got ${values.method}`);
const method: GatysMethod = values.method;
const counts = (values.quick ? "10,20" : values.iterations)
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
if (counts.some((n) => !Number.isInteger(n) || n < 1))
  fail(`--iterations must be whole numbers ≥ 1, got ${values.iterations}`);
const maxIterations = counts.at(-1)!;

const onnx = onnxOptionsOf(await initEngine(values.engine as EngineName, { wasmThreads: 16 }));
const store = openStore();
const modelUri = normalizeUri(values.model.endsWith("/") ? values.model : `${values.model}/`, {
  allowPlainPaths: true,
});
const { net, description } = await loadModel(store, modelUri);
const size = values.quick ? 64 : values.size !== undefined ? Number(values.size) : description.imageSize;
if (!Number.isInteger(size) || size < 16 || size % 4 !== 0)
  fail(`--size must be a multiple of 4 ≥ 16, got ${values.size}`);
const loss = parseLossFlags(
  // Training reads the style image with its longer side at max(imageSize, 512) (trainer/worker.ts).
  { ...values, "style-size": values["style-size"] ?? String(Math.max(description.imageSize, 512)) },
  defaultLossSettings(),
);
const problem = await loadLossProblem({ ...loss, onnx });
let photos = readdirSync(values.photos)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
  .sort();
if (values.quick) photos = photos.slice(0, 1);
if (photos.length === 0) fail(`no .jpg, .png or .webp in ${values.photos}`);

console.log(
  `quality: model ${modelUri} (${description.trainedSteps} steps, ${description.upsampling}), style ${loss.style}, ` +
    `${photos.length} held-out photo(s) at ${size}×${size}; Gatys by ${method === "lbfgs" ? "projected L-BFGS" : "Adam"}; ` +
    `λc ${loss.weights.content}, λs ${loss.weights.style}, λTV ${loss.weights.tv}, style image ${loss.styleSize} px`,
);

interface PhotoResult {
  photo: string;
  network: number;
  networkSeconds: number;
  gatys: { iterations: number; loss: number; seconds: number }[];
}
// Gatys first, for every photo (the slow part, printed as it goes), then the
// network, loaded again from the model URI when it is evaluated.
const contents = new Map<string, tf.Tensor4D>();
const gatysOf = new Map<string, PhotoResult["gatys"]>();
// onnxruntime: one session per photo (its content features are folded into
// it), also used for the network's output so both losses come from one graph.
const evaluators = new Map<string, OnnxImageLoss | undefined>();
for (const photo of photos) {
  const content = await imageTensor(join(values.photos, photo), { fill: { width: size, height: size } });
  contents.set(photo, content);
  const gatys: PhotoResult["gatys"] = [];
  const evaluator = onnx && (await OnnxImageLoss.forProblem(problem, content, onnx));
  evaluators.set(photo, evaluator);
  await optimizeImage({
    ...problem,
    content,
    evaluate: evaluator && ((image) => evaluator.evaluate(image)),
    method,
    iterations: maxIterations,
    onIteration: (iterations, l, seconds) => {
      if (!counts.includes(iterations)) return;
      gatys.push({ iterations, loss: l.total, seconds });
      console.log(
        `  ${photo}: Gatys ${iterations} iterations: ${l.total.toExponential(4)} (${seconds.toFixed(1)} s)`,
      );
    },
  });
  gatysOf.set(photo, gatys);
}
net.dispose();
const evaluated = await loadModel(store, modelUri);
console.log(`network: ${modelUri} (${evaluated.description.trainedSteps} steps)`);
// onnxruntime: the network runs as its exported ONNX model (what the model
// server runs), not on that engine's slow tfjs cpu backend.
const networkSession = onnx && (await onnxNetworkSession(evaluated.net, evaluated.description, onnx));
const results: PhotoResult[] = [];
for (const photo of photos) {
  const content = contents.get(photo)!;
  const t0 = performance.now();
  const output =
    networkSession === undefined
      ? tf.tidy(() => evaluated.net.apply(content, { training: false }))
      : await runOnnxNetwork(networkSession, content);
  await output.data();
  const networkSeconds = (performance.now() - t0) / 1000;
  const evaluator = evaluators.get(photo);
  const network =
    evaluator === undefined
      ? (await imageLoss(problem, output, content)).total
      : (await evaluator.evaluate((await output.data()) as Float32Array)).loss.total;
  await evaluator?.dispose();
  tf.dispose([output, content]);
  const gatys = gatysOf.get(photo)!;
  results.push({ photo, network, networkSeconds, gatys });
  console.log(`\n${photo}: network ${network.toExponential(4)} (${networkSeconds.toFixed(3)} s)`);
  console.log("  Gatys iterations   loss          seconds   vs network");
  for (const g of gatys)
    console.log(
      `  ${String(g.iterations).padStart(16)}   ${g.loss.toExponential(4)}   ${g.seconds.toFixed(1).padStart(7)}   ${(g.loss / network).toFixed(2)}×`,
    );
}

async function onnxNetworkSession(
  net: TransformerNet,
  description: ModelDescription,
  options: OnnxTrainerOptions,
): Promise<ort.InferenceSession> {
  const weights = new Map<string, NamedArray>();
  for (const [name, t] of [...net.params, ...net.buffers]) {
    weights.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
  }
  return ort.InferenceSession.create(onnxModelFile(description, weights).bytes, {
    executionProviders: [options.provider],
    intraOpNumThreads: options.threads,
  });
}

/** The network's output for NHWC content, through its ONNX model (NCHW in and out). */
async function runOnnxNetwork(session: ort.InferenceSession, content: tf.Tensor4D): Promise<tf.Tensor4D> {
  const nchw = tf.tidy(() => content.transpose([0, 3, 1, 2]));
  const results = await session.run({
    [ONNX_INPUT]: new ort.Tensor("float32", (await nchw.data()) as Float32Array, nchw.shape),
  });
  nchw.dispose();
  const out = results[ONNX_OUTPUT]!;
  const [n, c, h, w] = out.dims as number[];
  const nhwc = tf.tidy(() => tf.tensor4d(out.data as Float32Array, [n!, c!, h!, w!]).transpose([0, 2, 3, 1]));
  out.dispose();
  return nhwc as tf.Tensor4D;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const networkLoss = mean(results.map((r) => r.network));
const gatysMeans = counts
  .map((iterations) => {
    const at = results.map((r) => r.gatys.find((g) => g.iterations === iterations));
    // An L-BFGS run that converged early has no entry for larger counts: it is left out there.
    if (at.some((g) => g === undefined)) return undefined;
    return {
      iterations,
      loss: mean(at.map((g) => g!.loss)),
      seconds: mean(at.map((g) => g!.seconds)),
    };
  })
  .filter((g) => g !== undefined);
// The paper's sense of "matches N iterations": the network is at least as good as
// Gatys after N iterations. Largest such N, null when it is worse than even the smallest.
const matches = gatysMeans.filter((g) => g.loss >= networkLoss).at(-1)?.iterations ?? null;
console.log(
  `\nmean over ${results.length} photo(s): network ${networkLoss.toExponential(4)} ` +
    `(${mean(results.map((r) => r.networkSeconds)).toFixed(3)} s per image)`,
);
for (const g of gatysMeans)
  console.log(
    `  Gatys ${String(g.iterations).padStart(4)} iterations: ${g.loss.toExponential(4)} in ${g.seconds.toFixed(1)} s (${(g.loss / networkLoss).toFixed(2)}× the network)`,
  );
const better = gatysMeans.find((g) => g.loss < networkLoss);
console.log(
  matches === null
    ? `the network's loss is above Gatys et al.'s after ${counts[0]} iterations (the paper: its networks match 50–100)`
    : `the network is as good as Gatys et al. after ${matches} iterations` +
        (better
          ? `, not as good as after ${better.iterations}`
          : ` (and all counts up to ${maxIterations})`) +
        " (the paper: 50–100)",
);
console.log(
  JSON.stringify({
    bench: "quality",
    style: loss.style,
    networkLoss,
    gatys: gatysMeans,
    matchesIterations: matches,
    method,
    size,
    photos: results.length,
    model: modelUri,
    trainedSteps: evaluated.description.trainedSteps,
    weights: loss.weights,
  }),
);
problem.dispose();
await networkSession?.release();
evaluated.net.dispose();
