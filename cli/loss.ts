// `stylekube loss --content c.jpg --style s.jpg image.jpg`: the paper's loss of
// one image, as training and the quality benchmark compute it, printed as one
// JSON line of λ-weighted terms: {"content":…,"style":…,"tv":…,"total":…}.
// The content photo is resized to the image's size (the feature
// reconstruction loss compares activations position by position); the style
// image is scaled to --style-size, since Gram matrices do not depend on size.
import { parseArgs } from "node:util";
import type * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../trainer/engine/engines.js";
import {
  defaultLossSettings,
  imageLoss,
  imageTensor,
  type LossProblem,
  loadLossProblem,
} from "../trainer/gatys/loss-problem.js";
import type { LossValues } from "../trainer/losses/perceptual-loss.js";
import { OnnxImageLoss, onnxOptionsOf } from "../trainer/onnx/image-loss.js";
import type { OnnxTrainerOptions } from "../trainer/onnx/onnx-trainer.js";
import { ENGINE_FLAG_USAGE, engineFromFlag } from "./engine-flag.js";
import { lossFlags, parseLossFlags } from "./loss-flags.js";

const USAGE = `Usage:
  stylekube loss --content <photo> --style <painting> <image> [options]
      Prints one JSON line {"content":…,"style":…,"tv":…,"total":…}: the λ-weighted
      terms of the paper's loss (eq. 2, 4 and TV) of <image>, with the content photo
      resized to the image's size.
${lossFlags.usage}
${ENGINE_FLAG_USAGE}`;

/** The loss on the engine that runs: one ONNX Runtime session on onnxruntime, tfjs ops otherwise. */
async function lossOf(
  problem: LossProblem,
  generated: tf.Tensor4D,
  content: tf.Tensor4D,
  onnx: OnnxTrainerOptions | undefined,
): Promise<LossValues> {
  if (onnx === undefined) return imageLoss(problem, generated, content);
  const evaluator = await OnnxImageLoss.forProblem(problem, content, onnx);
  try {
    return (await evaluator.evaluate((await generated.data()) as Float32Array)).loss;
  } finally {
    await evaluator.dispose();
  }
}

export async function runLossCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        content: { type: "string" },
        engine: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
        ...lossFlags.options,
      },
    });
  } catch (err) {
    console.error(`stylekube loss: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [image, ...extra] = positionals;
  if (image === undefined || extra.length > 0 || values.content === undefined) {
    console.error(`stylekube loss: give --content <photo>, --style <painting> and one image\n\n${USAGE}`);
    return 2;
  }
  try {
    const loss = parseLossFlags(values, defaultLossSettings());
    const chosen = await engineFromFlag(values.engine);
    const onnx = onnxOptionsOf(
      await initEngine(chosen.engine, { wasmThreads: 16, ortProvider: chosen.provider }),
    );
    const problem = await loadLossProblem({ ...loss, onnx });
    const generated = await imageTensor(image);
    const [, height, width] = generated.shape;
    const content = await imageTensor(values.content, { fill: { width, height } });
    const terms = await lossOf(problem, generated, content, onnx);
    console.log(
      JSON.stringify({
        content: loss.weights.content * terms.content,
        style: loss.weights.style * terms.style,
        tv: loss.weights.tv * terms.tv,
        total: terms.total,
      }),
    );
    generated.dispose();
    content.dispose();
    problem.dispose();
    return 0;
  } catch (err) {
    console.error(`stylekube loss: ${(err as Error).message}`);
    return 1;
  }
}
