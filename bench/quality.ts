// `npm run bench -- quality --model <dir|URI> --style <painting> --photos <dir> [options]`
// (options: bench/quality/options.ts; the whole story: docs/quality-bench.md)
//
// The paper's yardstick (Johnson et al. 2016, Fig. 5): on held-out photos
// (never in the model's training set), the trained network's loss against
// the loss Gatys et al.'s optimisation of the image itself reaches after 50,
// 100, 200 and 500 iterations, with the same VGG-16, layers, λs and engine,
// and the wall time of each. Given the held-out folder it runs on a fixed
// subset of 24 photos (quality/subset.ts) at 256 px on the longer side.
//
// Gatys runs first, once per photo to the largest count (quality/gatys-baseline.ts),
// each result saved to a baselines file as soon as it is done and read back
// by later runs (quality/baselines.ts): the baselines do not depend on the
// network. Then the network, read from the model URI at that point, runs on
// every photo and is scored by the same loss.
//
// Prints the loss terms per photo, per-style mean ratios network / Gatys-N
// for the total, content and style terms, matchesIterations (the largest N
// where the network's total AND content term are at or below Gatys-N's,
// quality/summary.ts), wall times, and one JSON line.
import { readdirSync } from "node:fs";
import { basename } from "node:path";
import { normalizeUri, type ObjectStore, openStore } from "../common/storage/index.js";
import { loadModel, type ModelDescription } from "../model/model-export.js";
import { initEngine } from "../trainer/engine/engines.js";
import {
  defaultLossSettings,
  type LossProblem,
  loadLossProblem,
  vggWeightsOrDefault,
} from "../trainer/gatys/loss-problem.js";
import { onnxOptionsOf } from "../trainer/onnx/image-loss.js";
import type { OnnxTrainerOptions } from "../trainer/onnx/onnx-trainer.js";
import { parseLossFlags, type ParsedLossFlags } from "../cli/loss-flags.js";
import { defaultBaselinesPath, readBaselines, saveBaselines, sha256Of } from "./quality/baseline-file.js";
import { type BaselineEntry, type BaselineKey, checkpointAt, findBaseline } from "./quality/baselines.js";
import { runGatysBaseline } from "./quality/gatys-baseline.js";
import { networkStylizer } from "./quality/network.js";
import { parseQualityArgs, type QualityOptions, USAGE } from "./quality/options.js";
import { photoLoss } from "./quality/photo-loss.js";
import { type BenchPhoto, loadPhoto } from "./quality/photos.js";
import { printPhoto, printSummary, verdict, weightedTerms } from "./quality/report.js";
import { selectPhotos } from "./quality/subset.js";
import {
  matches,
  matchesIterations,
  matchesIterationsOnTotal,
  networkMean,
  type PhotoScores,
  summarize,
} from "./quality/summary.js";

function fail(message: string): never {
  console.error(`bench quality: ${message}\nusage: ${USAGE}`);
  process.exit(2);
}

/** Everything both phases share. */
interface Setup {
  options: QualityOptions;
  onnx: OnnxTrainerOptions | undefined;
  engine: string;
  threads: number;
  store: ObjectStore;
  modelUri: string;
  description: ModelDescription;
  loss: ParsedLossFlags;
  problem: LossProblem;
  /** The key of a photo's baseline, less the photo's own fields. */
  keyBase: Omit<BaselineKey, "photo" | "width" | "height">;
  baselinesPath: string;
}

async function setUp(options: QualityOptions): Promise<Setup> {
  const engineInfo = await initEngine(options.engine, { wasmThreads: options.threads });
  const onnx = onnxOptionsOf(engineInfo);
  const store = openStore();
  const modelUri = normalizeUri(options.model.endsWith("/") ? options.model : `${options.model}/`, {
    allowPlainPaths: true,
  });
  const model = await loadModel(store, modelUri);
  model.net.dispose();
  const loss = parseLossFlags(
    // Training reads the style image with its longer side at max(imageSize, 512) (trainer/worker.ts).
    {
      ...options.loss,
      "style-size": options.loss["style-size"] ?? String(Math.max(model.description.imageSize, 512)),
    },
    defaultLossSettings(),
  );
  const vggWeights = vggWeightsOrDefault(loss.vggWeights);
  const problem = await loadLossProblem({ ...loss, vggWeights, onnx });
  const [styleSha, vggSha] = await Promise.all([sha256Of(loss.style), sha256Of(vggWeights)]);
  const engine = onnx === undefined ? engineInfo.engine : `onnxruntime/${onnx.provider}`;
  return {
    options,
    onnx,
    engine,
    threads: onnx?.threads ?? engineInfo.threads ?? 1,
    store,
    modelUri,
    description: model.description,
    loss,
    problem,
    keyBase: {
      style: { sha256: styleSha, size: loss.styleSize },
      weights: loss.weights,
      layers: { content: loss.layers.content, style: [...loss.layers.style] },
      vggSha256: vggSha,
      engine,
      method: options.method,
      init: "noise",
      seed: 0,
    },
    baselinesPath: options.baselines ?? defaultBaselinesPath(loss.style, options.size),
  };
}

function choosePhotos(options: QualityOptions): { names: string[]; subset: boolean } {
  const available = readdirSync(options.photos).filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
  const selection = selectPhotos(available, { all: options.allPhotos, limit: options.limit });
  if (selection.warning !== undefined) console.warn(`bench quality: warning: ${selection.warning}`);
  if (selection.photos.length === 0) fail(`no .jpg, .png or .webp in ${options.photos}`);
  return { names: selection.photos, subset: selection.subset };
}

interface Baseline {
  photo: BenchPhoto;
  entry: BaselineEntry;
  cached: boolean;
}

/** Phase 1: each photo's Gatys baseline, from the baselines file or run now and saved at once. */
async function baselines(setup: Setup, names: readonly string[]): Promise<Baseline[]> {
  const { options, problem, baselinesPath } = setup;
  let file = await readBaselines(baselinesPath);
  const out: Baseline[] = [];
  for (const name of names) {
    const photo = await loadPhoto(options.photos, name, options.size);
    const key: BaselineKey = {
      ...setup.keyBase,
      photo: { name, sha256: photo.sha256 },
      width: photo.width,
      height: photo.height,
    };
    const found = options.fresh ? undefined : findBaseline(file, key, options.iterations);
    if (found !== undefined) {
      out.push({ photo, entry: found, cached: true });
      continue;
    }
    const loss = await photoLoss(problem, photo.content, setup.onnx);
    const entry = await runGatysBaseline({
      problem,
      photo,
      loss,
      key,
      styleName: basename(setup.loss.style),
      counts: options.iterations,
      threads: setup.threads,
      onProgress: (iterations, seconds) =>
        console.error(
          `  ${name}: ${iterations}/${options.iterations.at(-1)} iterations, ${seconds.toFixed(0)} s (${(seconds / iterations).toFixed(2)} s each)`,
        ),
      onCheckpoint: (c) =>
        console.log(
          `  ${name} ${photo.width}×${photo.height}: Gatys ${c.iterations} iterations: ${c.loss.total.toExponential(4)} (${c.seconds.toFixed(1)} s)`,
        ),
    });
    await loss.dispose();
    file = await saveBaselines(baselinesPath, [entry]);
    out.push({ photo, entry, cached: false });
  }
  return out;
}

/** Phase 2: the network on every photo, read from the model URI now, scored by the same loss. */
async function networkScores(setup: Setup, done: readonly Baseline[]): Promise<PhotoScores[]> {
  const { net, description } = await loadModel(setup.store, setup.modelUri);
  const stylizer = await networkStylizer(net, description, setup.onnx);
  const scores: PhotoScores[] = [];
  for (const { photo, entry, cached } of done) {
    const loss = await photoLoss(setup.problem, photo.content, setup.onnx);
    const { output, seconds } = await stylizer.stylize(photo.content);
    const network = await loss.lossOf(output);
    output.dispose();
    await loss.dispose();
    const gatys = setup.options.iterations.map((iterations) => {
      const checkpoint = checkpointAt(entry, iterations)!;
      return { iterations, loss: checkpoint.loss, seconds: checkpoint.seconds };
    });
    const photoScores = { photo: photo.name, network, networkSeconds: seconds, gatys };
    printPhoto(photoScores, photo, setup.problem.weights, cached);
    scores.push(photoScores);
    photo.content.dispose();
  }
  await stylizer.dispose();
  net.dispose();
  return scores;
}

async function main(): Promise<void> {
  const started = performance.now();
  let options: QualityOptions;
  try {
    options = parseQualityArgs(process.argv.slice(2));
  } catch (err) {
    fail((err as Error).message);
  }
  const setup = await setUp(options);
  const { loss, description } = setup;
  const { names, subset } = choosePhotos(options);
  console.log(
    `quality: model ${setup.modelUri} (${description.trainedSteps} steps, ${description.upsampling}), style ${loss.style}, ` +
      `${names.length} held-out photo(s)${subset ? " of the fixed subset" : ""} at ${options.size} px on the longer side; ` +
      `Gatys by ${options.method === "lbfgs" ? "projected L-BFGS" : "Adam"} to ${options.iterations.join(", ")} iterations; ` +
      `engine ${setup.engine}, ${setup.threads} thread(s); λc ${loss.weights.content}, λs ${loss.weights.style}, ` +
      `λTV ${loss.weights.tv}, style image ${loss.styleSize} px; baselines ${setup.baselinesPath}`,
  );
  const baselinesStarted = performance.now();
  const done = await baselines(setup, names);
  const baselineSeconds = (performance.now() - baselinesStarted) / 1000;
  const scores = await networkScores(setup, done);
  const summaries = summarize(scores, options.iterations);
  const network = networkMean(scores);
  const networkSeconds = scores.reduce((a, s) => a + s.networkSeconds, 0) / scores.length;
  const matched = matchesIterations(summaries);
  const onTotal = matchesIterationsOnTotal(summaries);
  printSummary(network, networkSeconds, summaries, loss.weights, scores.length);
  console.log(verdict(summaries, matched, onTotal));
  const weighted = (l: typeof network) => weightedTerms(l, loss.weights);
  console.log(
    JSON.stringify({
      bench: "quality",
      style: basename(loss.style),
      model: setup.modelUri,
      trainedSteps: description.trainedSteps,
      size: options.size,
      photos: scores.length,
      subset,
      engine: setup.engine,
      threads: setup.threads,
      method: options.method,
      weights: loss.weights,
      styleSize: loss.styleSize,
      network: { loss: weighted(network), seconds: networkSeconds },
      gatys: summaries.map((s) => ({
        iterations: s.iterations,
        loss: weighted(s.gatys),
        seconds: s.seconds,
        ratio: s.ratio,
        matches: matches(s),
      })),
      matchesIterations: matched,
      matchesIterationsOnTotal: onTotal,
      perPhoto: scores.map((s) => ({ photo: s.photo, network: weighted(s.network) })),
      baselines: {
        path: setup.baselinesPath,
        cached: done.filter((d) => d.cached).length,
        computed: done.filter((d) => !d.cached).length,
      },
      baselineSeconds,
      wallSeconds: (performance.now() - started) / 1000,
    }),
  );
  setup.problem.dispose();
}

await main();
