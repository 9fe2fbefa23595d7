// The paper's loss for one held-out photo, one implementation for both sides
// of the comparison: Gatys's optimisation evaluates it (with its pixel
// gradient) at every iteration and the network's output is scored by it.
// On onnxruntime that is one ONNX Runtime session per photo (the photo's
// content features are folded into it); on the tfjs engines, tfjs.
import type * as tf from "@tensorflow/tfjs-core";
import { imageLoss, type LossProblem } from "../../trainer/gatys/loss-problem.js";
import type { Evaluated } from "../../trainer/gatys/optimize-image.js";
import type { LossValues } from "../../trainer/losses/perceptual-loss.js";
import { OnnxImageLoss } from "../../trainer/onnx/image-loss.js";
import type { OnnxTrainerOptions } from "../../trainer/onnx/onnx-trainer.js";

export interface PhotoLoss {
  /** Loss and pixel gradient for Gatys's optimisation; undefined: optimizeImage's own tfjs evaluation. */
  evaluate: ((image: Float32Array) => Promise<Evaluated>) | undefined;
  /** The loss terms of an image of the photo's size (total λ-weighted, terms unweighted). */
  lossOf(image: tf.Tensor4D): Promise<LossValues>;
  dispose(): Promise<void>;
}

export async function photoLoss(
  problem: LossProblem,
  content: tf.Tensor4D,
  onnx: OnnxTrainerOptions | undefined,
): Promise<PhotoLoss> {
  if (onnx === undefined)
    return {
      evaluate: undefined,
      lossOf: (image) => imageLoss(problem, image, content),
      async dispose() {},
    };
  const evaluator = await OnnxImageLoss.forProblem(problem, content, onnx);
  return {
    evaluate: (image) => evaluator.evaluate(image),
    lossOf: async (image) => (await evaluator.evaluate((await image.data()) as Float32Array)).loss,
    dispose: () => evaluator.dispose(),
  };
}
