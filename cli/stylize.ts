// `stylekube stylize`: one photo through a trained network, on this machine,
// by the model server's own inference path (serving/inference-pool.ts: the
// same worker thread, padding and model loader as POST /v1/styles/{name}:stylize),
// or with --optimize by Gatys et al.'s optimisation of the image itself.
//
//   stylekube stylize -m <model dir or URI> in.jpg -o out.jpg
//   stylekube stylize --optimize --style s.jpg in.jpg -o out.jpg [--method lbfgs|adam] [--iterations 500]
import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { decodeRgb, encodeRgb, floatToRgb, type ImageFormat, type RgbImage } from "../common/images/codec.js";
import { createLogger } from "../common/log/logger.js";
import { joinUri, normalizeUri, openStore } from "../common/storage/index.js";
import { initEngine, type EngineName } from "../trainer/engine/engines.js";
import {
  defaultLossSettings,
  imageTensor,
  loadLossProblem,
  readImageBytes,
} from "../trainer/gatys/loss-problem.js";
import {
  GATYS_DEFAULT_LEARNING_RATE,
  type GatysMethod,
  optimizeImage,
} from "../trainer/gatys/optimize-image.js";
import { InferencePool, type InferencePoolOptions } from "../serving/inference-pool.js";
import { ServerConfigSchema } from "../serving/config.js";
import { type ModelDescription, ModelDescriptionSchema } from "../model/model-export.js";
import type { OrtProvider } from "../model/onnx/providers.js";
import { ENGINE_FLAG_USAGE, type EngineFlag, engineFromFlag } from "./engine-flag.js";
import { lossFlags, parseLossFlags } from "./loss-flags.js";
import { OnnxImageLoss, onnxOptionsOf } from "../trainer/onnx/image-loss.js";

const USAGE = `Usage:
  stylekube stylize -m <model dir or URI> <in> -o <out> [--engine NAME]
      Stylise a photo of any size with a trained network (a model/ folder written by
      training: model.json, weights.bin), by the model server's inference code.
  stylekube stylize --optimize --style <painting> <in> -o <out> [options]
      Gatys et al.'s method: optimise the image itself against the same loss
      (VGG-16, layers and λs as training). Slow: the paper's baseline.
      --method lbfgs|adam    projected L-BFGS (default, the paper's) or Adam
      --iterations N         default 500
      --learning-rate X      default 1 (lbfgs) or 2 (adam, grey levels per step)
      --size N               longer side of the output (default 256)
      --init noise|content   start image (default noise)
${lossFlags.usage}
Common:
  -o, --output FILE          .jpg, .png or .webp
${ENGINE_FLAG_USAGE}
                             (a model without model.onnx: the fastest other one;
                             --optimize on onnxruntime: one ONNX Runtime session per
                             iteration, several times faster than wasm)
Images: local paths or file:// / s3:// URIs (S3 settings from STYLEKUBE_S3_*).`;

function formatOf(path: string): ImageFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".png") return "png";
  if (ext === ".webp") return "webp";
  if (ext === ".jpg" || ext === ".jpeg") return "jpeg";
  throw new Error(`-o ${path}: unknown image type "${ext}"; use .jpg, .png or .webp`);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, got ${value}`);
  return n;
}

/**
 * The engine of the network path: the one asked for, else the fastest that
 * works here and can run this model (onnxruntime needs the model.onnx that
 * models exported before ONNX export lack).
 */
async function networkEngine(uri: string, asked: string | undefined): Promise<EngineFlag> {
  const chosen = await engineFromFlag(asked);
  if (!chosen.defaulted || chosen.engine !== "onnxruntime") return chosen;
  const description = ModelDescriptionSchema.parse(
    JSON.parse((await openStore(uri).getBytes(joinUri(uri, "model.json"))).toString()),
  );
  if (description.onnx !== undefined) return chosen;
  const other = await engineFromFlag(undefined, ["onnxruntime"]);
  console.error(
    `model ${uri} has no model.onnx (exported before ONNX export existed): running on ${other.engine}; ` +
      `\`stylekube export --onnx ${uri}\` adds it, and onnxruntime is faster`,
  );
  return other;
}

/** ONNX Runtime settings of the model server's defaults, on the provider the default engine chose. */
function onnxPoolOptions(provider: OrtProvider | undefined): InferencePoolOptions["onnx"] {
  if (provider === undefined) return undefined;
  const config = ServerConfigSchema.parse({ STYLEKUBE_ONNX_PROVIDERS: provider });
  return {
    providers: config.STYLEKUBE_ONNX_PROVIDERS,
    threads: config.STYLEKUBE_ONNX_THREADS,
    maxPixels: config.STYLEKUBE_ONNX_MAX_PIXELS,
  };
}

/** What the network path gives back: the stylised image and the model it came from. */
export interface NetworkStylization {
  image: RgbImage;
  inferenceMs: number;
  /** The model's model.json (training facts: trainedSteps, imageSize, …). */
  description: ModelDescription;
  /** The model folder as a URI. */
  uri: string;
  /** The engine (and ONNX Runtime provider) that ran it. */
  ran: string;
}

/**
 * The network path, in this process: exactly what the model server runs for
 * one request (its inference pool, one worker thread), started and closed
 * around this one image.
 */
export async function stylizeImageWithModel(
  model: string,
  image: RgbImage,
  engine: EngineName,
  provider?: OrtProvider,
): Promise<NetworkStylization> {
  const uri = normalizeUri(model.endsWith("/") ? model : `${model}/`, { allowPlainPaths: true });
  const pool = await InferencePool.start({
    engine,
    onnx: onnxPoolOptions(provider),
    threads: 1,
    log: createLogger("stylize", "warn"),
  });
  try {
    const { modelId, description } = await pool.load(uri);
    const result = await pool.run(modelId, image);
    // What ran (auto resolved), as `stylekube doctor` names it.
    const ran = [pool.engine?.engine ?? engine, pool.engine?.provider]
      .filter((p) => p !== undefined)
      .join(" ");
    return { image: result.image, inferenceMs: result.inferenceMs, description, uri, ran };
  } finally {
    await pool.close();
  }
}

async function stylizeWithNetwork(
  model: string,
  input: string,
  output: string,
  engineFlag: string | undefined,
): Promise<void> {
  const uri = normalizeUri(model.endsWith("/") ? model : `${model}/`, { allowPlainPaths: true });
  const { engine, provider } = await networkEngine(uri, engineFlag);
  const image = await decodeRgb(await readImageBytes(input));
  const result = await stylizeImageWithModel(uri, image, engine, provider);
  await writeFile(output, await encodeRgb(result.image, formatOf(output), 92));
  const { description } = result;
  console.error(
    `${input} (${image.width}×${image.height}) → ${output} in ${(result.inferenceMs / 1000).toFixed(2)} s on ${result.ran} ` +
      `(model ${result.uri}: ${description.trainedSteps} steps, ${description.normalization}, ${description.upsampling})`,
  );
}

export async function runStylizeCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        model: { type: "string", short: "m" },
        output: { type: "string", short: "o" },
        engine: { type: "string" },
        optimize: { type: "boolean", default: false },
        method: { type: "string", default: "lbfgs" },
        iterations: { type: "string" },
        "learning-rate": { type: "string" },
        size: { type: "string" },
        init: { type: "string", default: "noise" },
        help: { type: "boolean", short: "h", default: false },
        ...lossFlags.options,
      },
    });
  } catch (err) {
    console.error(`stylekube stylize: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [input, ...extra] = positionals;
  if (input === undefined || extra.length > 0 || values.output === undefined) {
    console.error(`stylekube stylize: give one input image and -o <output>\n\n${USAGE}`);
    return 2;
  }
  if (values.optimize === (values.model !== undefined)) {
    console.error(`stylekube stylize: give either -m <model> or --optimize, not both or neither\n\n${USAGE}`);
    return 2;
  }
  try {
    formatOf(values.output);
    if (values.model !== undefined) {
      await stylizeWithNetwork(values.model, input, values.output, values.engine);
      return 0;
    }
    if (values.method !== "lbfgs" && values.method !== "adam")
      throw new Error(`--method must be lbfgs or adam, got ${values.method}`);
    if (values.init !== "noise" && values.init !== "content")
      throw new Error(`--init must be noise or content, got ${values.init}`);
    const method: GatysMethod = values.method;
    const iterations = positiveInt("iterations", values.iterations, 500);
    const size = positiveInt("size", values.size, 256);
    const lr =
      values["learning-rate"] === undefined
        ? GATYS_DEFAULT_LEARNING_RATE[method]
        : Number(values["learning-rate"]);
    if (!(lr > 0)) throw new Error(`--learning-rate must be a number > 0, got ${values["learning-rate"]}`);
    const loss = parseLossFlags(values, defaultLossSettings());
    const chosen = await engineFromFlag(values.engine);
    const onnx = onnxOptionsOf(
      await initEngine(chosen.engine, { wasmThreads: 16, ortProvider: chosen.provider }),
    );
    const problem = await loadLossProblem({
      vggWeights: loss.vggWeights,
      style: loss.style,
      styleSize: loss.styleSize,
      layers: loss.layers,
      weights: loss.weights,
      onnx,
    });
    const content = await imageTensor(input, { maxSide: size });
    const [, h, w] = content.shape;
    const evaluator = onnx && (await OnnxImageLoss.forProblem(problem, content, onnx));
    const result = await optimizeImage({
      ...problem,
      content,
      evaluate: evaluator && ((image) => evaluator.evaluate(image)),
      method,
      iterations,
      learningRate: lr,
      init: values.init,
      onIteration: (it, l, s) => {
        if (it % 50 === 0 || it === iterations)
          console.error(`iteration ${it}/${iterations} loss ${l.total.toPrecision(5)} (${s.toFixed(1)} s)`);
      },
    });
    await writeFile(
      values.output,
      await encodeRgb(floatToRgb(result.image, w, h), formatOf(values.output), 92),
    );
    console.error(
      `Gatys et al. (${method === "lbfgs" ? "projected L-BFGS" : "Adam"}, ${result.iterations} iterations, ` +
        `${result.seconds.toFixed(1)} s): ${values.output} (${w}×${h}), loss ${JSON.stringify(result.loss)}`,
    );
    await evaluator?.dispose();
    content.dispose();
    problem.dispose();
    tf.disposeVariables();
    return 0;
  } catch (err) {
    console.error(`stylekube stylize: ${(err as Error).message}`);
    return 1;
  }
}
